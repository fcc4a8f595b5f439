import { execFile } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs a command in another process (the mounts under test belong to other processes anyway); never throws. */
export function run(cmd: string, args: string[], timeoutMs = 300_000): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 });
    });
  });
}

/** A shell script, as `run`. */
export const sh = (script: string, timeoutMs?: number): Promise<RunResult> =>
  run('sh', ['-c', script], timeoutMs);
