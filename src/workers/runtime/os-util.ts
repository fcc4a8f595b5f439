import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StdchkError } from '../../errors/index.ts';
import { DEFAULT_PATH } from './types.ts';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and returns its output whatever its exit code. */
export function runCommand(
  file: string,
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        timeout: opts.timeoutMs ?? 120_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        env: opts.env ?? toolEnv(),
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 255) : 0;
        const extra = err && typeof err.code !== 'number' ? `${err.message}\n` : '';
        resolve({ code, stdout: String(stdout), stderr: extra + String(stderr) });
      },
    );
  });
}

/** Runs a command and throws (with the end of its stderr) unless it exits 0. */
export async function mustRun(
  file: string,
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string; what?: string } = {},
): Promise<string> {
  const r = await runCommand(file, args, opts);
  if (r.code !== 0) {
    const detail = lastLines(r.stderr || r.stdout, 5);
    throw new StdchkError(
      'INTERNAL',
      `${opts.what ?? `${path.basename(file)} ${args[0] ?? ''}`} failed (exit ${r.code})${detail ? `: ${detail}` : ''}`,
    );
  }
  return r.stdout;
}

export function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}

/** Environment for the tools the runtimes run (runc finds criu through PATH). */
export function toolEnv(): NodeJS.ProcessEnv {
  return { PATH: searchPath(), LANG: 'C.UTF-8' };
}

function searchPath(): string {
  const dirs = [...(process.env.PATH ?? '').split(':'), ...DEFAULT_PATH.split(':')].filter(Boolean);
  return [...new Set(dirs)].join(':');
}

const toolCache = new Map<string, string>();

/** Absolute path of a program, or a clear error naming what to install. */
export function findTool(name: string, hint = 'run scripts/setup.sh'): string {
  const cached = toolCache.get(name);
  if (cached) return cached;
  for (const dir of searchPath().split(':')) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      toolCache.set(name, candidate);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new StdchkError('UNAVAILABLE', `${name} is not installed (${hint})`);
}

export interface Wrapper {
  pid: number;
  /** Resolves with the wrapper's exit once it has ended. */
  exited: Promise<void>;
  done(): boolean;
}

/**
 * Starts a `sh -c SCRIPT` wrapper in its own process group with no stdio of
 * ours (the script routes the job's output through a real pipe to its log).
 */
export function spawnWrapper(
  script: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd?: string },
): Wrapper {
  const child = spawn(findTool('sh'), ['-c', script, 'stdchk-wrapper', ...args], {
    detached: true,
    stdio: 'ignore',
    env: opts.env,
    cwd: opts.cwd ?? '/',
  });
  let ended = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      ended = true;
      resolve();
    });
    child.once('error', () => {
      ended = true;
      resolve();
    });
  });
  if (child.pid === undefined) throw new StdchkError('INTERNAL', 'could not start the job wrapper');
  return { pid: child.pid, exited, done: () => ended };
}

/**
 * A wrapper this process did not start (found by a restarted worker agent):
 * its end is noticed by polling its pid.
 */
export function watchWrapper(pid: number, everyMs = 250): Wrapper {
  let ended = !pidAlive(pid);
  const exited = new Promise<void>((resolve) => {
    if (ended) return resolve();
    const timer = setInterval(() => {
      if (pidAlive(pid)) return;
      ended = true;
      clearInterval(timer);
      resolve();
    }, everyMs);
  });
  return { pid, exited, done: () => ended };
}

/** True if a process with this pid exists and is not a zombie. */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Polls until the pid is gone (or a zombie); true if it went within the time. */
export async function waitPidGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Host pids of a process's children. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Waits for `fn` to return a value, checking every 25 ms; gives up with an
 * error when `stop()` says so or the time is over.
 */
export async function poll<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  opts: { timeoutMs: number; stop?: () => string | undefined },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    const why = opts.stop?.();
    if (why !== undefined) throw new StdchkError('INTERNAL', `${what}: ${why}`);
    if (Date.now() > deadline)
      throw new StdchkError('TIMEOUT', `${what}: no result within ${opts.timeoutMs} ms`);
    await sleep(25);
  }
}

export function readIntFile(file: string): number | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    if (!/^\d+$/.test(text)) return undefined;
    return Number(text);
  } catch {
    return undefined;
  }
}

/** Sum of the sizes of regular files under a folder. */
export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  for (const e of entries) {
    if (e.isFile()) total += (await stat(path.join(e.parentPath, e.name))).size;
  }
  return total;
}

/** The last `n` lines of a text file, or '' if it does not exist. */
export async function tailFile(file: string, n: number): Promise<string> {
  if (!existsSync(file)) return '';
  const text = await readFile(file, 'utf8').catch(() => '');
  return lastLines(text, n);
}

/** Shell-quotes one word for log messages. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line that runs `file args` with umask 077, so that whatever it
 * creates (CRIU images, runc's files) is readable by root alone.
 */
export function privately(file: string, args: string[]): [string, string[]] {
  return [findTool('sh'), ['-c', 'umask 077 && exec "$@"', 'sh', file, ...args]];
}

/** Creates a folder (and missing parents) readable by root alone; an existing folder is narrowed to 0700. */
export async function mkdirPrivate(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}
