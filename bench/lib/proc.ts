import { execFile, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StdchkError } from '../../src/errors/index.ts';
import { PACKAGE_ROOT } from '../../src/config/package-root.ts';

export const ROOT = PACKAGE_ROOT;
export const CRIU = existsSync('/usr/local/sbin/criu') ? '/usr/local/sbin/criu' : 'criu';
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const TSX_LOADER = `file://${path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')}`;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs a command to its end; never throws (the code says how it went). */
export function run(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        timeout: opts.timeoutMs ?? 600_000,
        maxBuffer: 64 * 1024 * 1024,
        ...(opts.env ? { env: opts.env } : {}),
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 });
      },
    );
  });
}

/**
 * Runs a TypeScript file of stdchk as its own node process: the source through tsx in a
 * checkout, the JavaScript built into dist/ in an installed package (which ships no source).
 */
export function runTs(script: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  const source = path.join(ROOT, script);
  if (!existsSync(source))
    return run(process.execPath, [path.join(ROOT, 'dist', script.replace(/\.ts$/, '.js')), ...args], opts);
  return run(process.execPath, ['--import', TSX_LOADER, '--no-warnings', source, ...args], opts);
}

export async function until<T>(
  what: string,
  timeoutMs: number,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await Promise.resolve()
      .then(fn)
      .catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline)
      throw new StdchkError('TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Regular files under a folder, recursively, sorted by path. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.join(e.parentPath, e.name));
  }
  return out.sort();
}

export function folderBytes(dir: string): number {
  return filesUnder(dir).reduce((n, f) => n + statSync(f).size, 0);
}

/** fsync of every file under `dir` and of the folder: what makes a local dump as durable as close() on the mount. */
export function fsyncTree(dir: string): number {
  const t0 = performance.now();
  for (const f of filesUnder(dir)) {
    const fd = openSync(f, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  const fd = openSync(dir, 'r');
  fsyncSync(fd);
  closeSync(fd);
  return (performance.now() - t0) / 1000;
}

/**
 * Drops these files from the page cache (they must be clean: fsync first), so the next read
 * comes from the disk. Per file (GNU dd `iflag=nocache count=0`, i.e. posix_fadvise DONTNEED),
 * not the whole machine's cache: other users of a shared machine keep theirs.
 */
export async function dropFromPageCache(files: string[]): Promise<void> {
  for (const f of files) {
    await run('dd', [`if=${f}`, 'iflag=nocache', 'count=0', 'status=none']);
  }
}

export function tempDir(parent: string | undefined, prefix: string): string {
  const base = parent ?? os.tmpdir();
  mkdirSync(base, { recursive: true });
  return mkdtempSync(path.join(base, prefix));
}

export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) a process has used, from /proc. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100)
  } catch {
    return 0;
  }
}

/** True while `pid` is a live process (not gone, not a zombie). */
export function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export function killHard(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Waits until `pid` no longer exists at all (reaped), so CRIU can restore a tree with that pid. */
export function waitGone(pid: number, timeoutMs = 30_000): Promise<boolean> {
  return until(`process ${pid} to be gone`, timeoutMs, () => !existsSync(`/proc/${pid}`), 25);
}

// ---- a process whose memory we control, for CRIU ---------------------------

/**
 * A Python process holding `mib` MiB of random bytes, appending a counter to its log every
 * 50 ms. Writing "SEQ FRACTION BLOCK" to LOG.ctl makes it rewrite FRACTION of its state in
 * BLOCK-byte blocks at random places (fresh random bytes), then log "mutated SEQ".
 */
const STATEFUL_PY = `
import os, sys, time, random
log_path, mib = sys.argv[1], int(sys.argv[2])
state = bytearray(mib * 1024 * 1024)
piece = 64 * 1024 * 1024
for off in range(0, len(state), piece):
    n = min(piece, len(state) - off)
    state[off:off + n] = os.urandom(n)
ctl = log_path + '.ctl'
done = 0
counter = 0
log = open(log_path, 'a', buffering=1)
log.write('ready\\n')
while True:
    counter += 1
    log.write('%d\\n' % counter)
    try:
        with open(ctl) as f:
            seq, fraction, block = f.read().split()
        seq, fraction, block = int(seq), float(fraction), int(block)
    except (OSError, ValueError):
        seq = done
    if seq > done:
        blocks = len(state) // block
        for i in random.sample(range(blocks), int(round(blocks * fraction))):
            state[i * block:(i + 1) * block] = os.urandom(block)
        done = seq
        log.write('mutated %d\\n' % seq)
    time.sleep(0.05)
`;

export class StatefulProcess {
  private seq = 0;
  private constructor(
    readonly pid: number,
    readonly log: string,
  ) {}

  /** Starts it (own session, /dev/null stdio: CRIU dumps it without --shell-job) and waits until its state is filled. */
  static async start(work: string, name: string, mib: number): Promise<StatefulProcess> {
    const script = path.join(work, 'stateful.py');
    if (!existsSync(script)) writeFileSync(script, STATEFUL_PY);
    const log = path.join(work, `${name}.log`);
    rmSync(log, { force: true });
    rmSync(`${log}.ctl`, { force: true });
    // This process stays its parent, so it is reaped at once when a dump kills it (its pid is then free for a restore).
    const child = spawn(PYTHON, [script, log, String(mib)], { detached: true, stdio: 'ignore' });
    child.unref();
    const p = new StatefulProcess(child.pid as number, log);
    await until(`the ${mib} MiB process to fill its memory`, 120_000 + mib * 100, () => p.counter() >= 2);
    return p;
  }

  counter(): number {
    if (!existsSync(this.log)) return 0;
    const nums = readFileSync(this.log, 'utf8')
      .split('\n')
      .filter((l) => /^\d+$/.test(l));
    return nums.length ? Number(nums[nums.length - 1]) : 0;
  }

  /** Lines in its log: grows while it runs (a restored copy counts on from its dump's counter). */
  lines(): number {
    return existsSync(this.log) ? readFileSync(this.log, 'utf8').split('\n').length : 0;
  }

  /** Rewrites `fraction` of its memory (0..1) in `blockBytes` blocks and waits until it is done. */
  async mutate(fraction: number, blockBytes = 64 * 1024): Promise<void> {
    this.seq++;
    const seq = this.seq;
    writeFileSync(`${this.log}.ctl.tmp`, `${seq} ${fraction} ${blockBytes}\n`);
    renameSync(`${this.log}.ctl.tmp`, `${this.log}.ctl`);
    await until(`the process to rewrite ${(fraction * 100).toFixed(0)}% of its memory`, 300_000, () =>
      readFileSync(this.log, 'utf8').includes(`mutated ${seq}\n`),
    );
  }

  kill(): void {
    killHard(this.pid);
  }
}

/** `criu dump` of a process tree into `dir` (log in a local work folder). Throws with CRIU's last log lines. */
export async function criuDump(
  pid: number,
  dir: string,
  opts: { leaveRunning?: boolean; workDir: string },
): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(path.join(opts.workDir, 'criu-dump-'));
  const r = await run(CRIU, [
    'dump',
    '-t',
    String(pid),
    '-D',
    dir,
    '-W',
    work,
    '-o',
    'dump.log',
    ...(opts.leaveRunning ? ['--leave-running'] : []),
  ]);
  if (r.code !== 0)
    throw new StdchkError('INTERNAL', `criu dump into ${dir} failed: ${criuTail(work, 'dump.log', r)}`);
  rmSync(work, { recursive: true, force: true });
  return r.seconds;
}

/** `criu restore --restore-detached` from `dir`; resolves with its duration once the tree runs again. */
export async function criuRestore(dir: string, opts: { workDir: string }): Promise<number> {
  const work = mkdtempSync(path.join(opts.workDir, 'criu-restore-'));
  const r = await run(CRIU, ['restore', '-D', dir, '-W', work, '-o', 'restore.log', '--restore-detached']);
  if (r.code !== 0)
    throw new StdchkError('INTERNAL', `criu restore from ${dir} failed: ${criuTail(work, 'restore.log', r)}`);
  rmSync(work, { recursive: true, force: true });
  return r.seconds;
}

function criuTail(work: string, log: string, r: RunResult): string {
  let tail = '';
  try {
    tail = readFileSync(path.join(work, log), 'utf8')
      .split('\n')
      .filter((l) => l.includes('Error') || l.includes('rror'))
      .slice(-3)
      .join(' | ');
  } catch {
    // no log
  }
  return tail || r.stderr.trim() || `exit ${r.code}`;
}

export async function criuCheck(): Promise<void> {
  const r = await run(CRIU, ['check']);
  if (r.code !== 0) {
    throw new StdchkError(
      'UNAVAILABLE',
      `criu check fails on this machine (${r.stderr.trim().split('\n').pop()}); CRIU >= 4 is needed (scripts/setup.sh)`,
    );
  }
}
