import { spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import {
  createReadStream,
  mkdtempSync,
  rmSync,
  openSync,
  writeSync,
  closeSync,
  readdirSync,
  statSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalGrid, STDCHK_BIN } from '../../src/grid/local-grid.ts';
import type { LocalGridOptions } from '../../src/grid/local-grid.ts';
import type { StatusJson } from '../../src/cli/commands/status.ts';

export { LocalGrid, STDCHK_BIN };

const cleanups: (() => Promise<void> | void)[] = [];

/** Runs registered cleanups; call from test.after.always in every file that uses these helpers. */
export async function cleanupAll(): Promise<void> {
  while (cleanups.length) {
    const fn = cleanups.pop() as () => Promise<void> | void;
    // A cleanup that throws at once (rmSync of a folder a stale mount keeps busy) must not skip
    // the others: the grids' processes would outlive the test.
    await Promise.resolve()
      .then(fn)
      .catch(() => undefined);
  }
}

export function tempDir(prefix = 'stdchk-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  // STDCHK_KEEP_TEST_DIRS=1 keeps them (logs included) for a look after a failure.
  if (!process.env.STDCHK_KEEP_TEST_DIRS) cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts a real grid (separate processes on loopback) that is stopped and deleted after the tests. */
export async function startGrid(opts: Partial<LocalGridOptions> = {}): Promise<LocalGrid> {
  const grid = new LocalGrid({ dir: opts.dir ?? tempDir('stdchk-grid-'), ...opts });
  cleanups.push(() => grid.stop(2_000));
  await grid.start();
  return grid;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `stdchk ARGS` as a user would, with the grid's address and secret in the environment. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<CliResult> & { kill(): void } {
  const child = spawn(STDCHK_BIN, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd ? { cwd } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const p = new Promise<CliResult>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  ) as Promise<CliResult> & { kill(): void };
  p.kill = () => child.kill('SIGKILL');
  cleanups.push(() => void child.kill('SIGKILL'));
  return p;
}

/** `stdchk status --json`, as a user reads the cluster's health. */
export async function statusJson(env: Record<string, string>): Promise<StatusJson> {
  const r = await runCli(['status', '--json'], env);
  // 0 ok, 3 degraded, 4 unavailable: the status itself is in the JSON.
  if (![0, 3, 4].includes(r.code ?? -1)) throw new Error(`stdchk status failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as StatusJson;
}

/** Writes `size` random bytes. */
export function writeRandomFile(file: string, size: number): void {
  const fd = openSync(file, 'w');
  const block = Buffer.allocUnsafe(4 * 1024 * 1024);
  try {
    for (let off = 0; off < size; off += block.length) {
      const n = Math.min(block.length, size - off);
      randomFillSync(block, 0, n);
      writeSync(fd, block, 0, n);
    }
  } finally {
    closeSync(fd);
  }
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const piece of createReadStream(file)) h.update(piece as Buffer);
  return h.digest('hex');
}

/** Total bytes of regular files under a folder. */
export function folderBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += statSync(path.join(e.parentPath, e.name)).size;
  }
  return n;
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
