import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureSecretFile, readSecretFile } from '../config/secret.ts';
import { StorageClient } from '../client/storage-client.ts';
import { StdchkError } from '../errors/index.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The CLI entry, so every role runs as its own `stdchk` process. */
export const STDCHK_BIN = path.join(ROOT, 'bin/stdchk');

export interface LocalGridOptions {
  dir: string;
  benefactors?: number;
  capacity?: string;
  /** Extra flags for the manager, e.g. ['--heartbeat-timeout', '3s']. */
  managerArgs?: string[];
  benefactorArgs?: string[];
  /** Give each benefactor its own host name (placement then spreads replicas over "hosts"). */
  distinctHosts?: boolean;
  listenHost?: string;
}

export interface GridMountOptions {
  replicas?: number;
  cacheDir?: string;
  cacheSize?: string;
  /** Extra `stdchk mount` flags. */
  args?: string[];
  /** Log file name under logs/ (default mount-N). */
  name?: string;
  timeoutMs?: number;
}

export interface GridMount extends GridProcess {
  mountpoint: string;
}

export interface GridProcess {
  name: string;
  child: ChildProcess;
  args: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * A whole storage grid on one machine: a manager and N benefactors on local
 * folders, each a real `stdchk` process. Used by `stdchk up`, the demo, the
 * benchmarks and the integration tests.
 */
export class LocalGrid {
  readonly dir: string;
  readonly secretFile: string;
  managerAddress = '';
  manager: GridProcess | undefined;
  readonly benefactors: (GridProcess | undefined)[] = [];
  readonly mounts: GridMount[] = [];
  private readonly opts: LocalGridOptions;
  onExit: ((p: GridProcess, code: number | null, signal: NodeJS.Signals | null) => void) | undefined;

  constructor(opts: LocalGridOptions) {
    this.opts = opts;
    this.dir = path.resolve(opts.dir);
    this.secretFile = path.join(this.dir, 'secret');
  }

  get logDir(): string {
    return path.join(this.dir, 'logs');
  }

  async start(): Promise<void> {
    mkdirSync(this.logDir, { recursive: true });
    ensureSecretFile(this.secretFile);
    await this.startManager();
    const n = this.opts.benefactors ?? 3;
    for (let i = 0; i < n; i++) this.startBenefactor(i);
    await this.waitForAlive(n);
  }

  env(): Record<string, string> {
    return { STDCHK_MANAGER: this.managerAddress, STDCHK_SECRET_FILE: this.secretFile };
  }

  client(): StorageClient {
    return new StorageClient({
      managerAddress: this.managerAddress,
      secret: readSecretFile(this.secretFile),
    });
  }

  benefactorStore(i: number): string {
    return path.join(this.dir, `benefactor-${i}`);
  }

  private spawnRole(name: string, args: string[]): GridProcess {
    const log = openSync(path.join(this.logDir, `${name}.log`), 'a');
    const child = spawn(STDCHK_BIN, args, { stdio: ['ignore', log, log], env: { ...process.env } });
    closeSync(log);
    const p: GridProcess = {
      name,
      child,
      args,
      exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    };
    void p.exited.then(({ code, signal }) => this.onExit?.(p, code, signal));
    return p;
  }

  async startManager(): Promise<void> {
    const addrFile = path.join(this.dir, 'manager.listen');
    rmSync(addrFile, { force: true });
    // Reuse the port after a restart so benefactors and clients find the manager again.
    const listen = this.managerAddress || `${this.opts.listenHost ?? '127.0.0.1'}:0`;
    const args = [
      'manager',
      '--data',
      path.join(this.dir, 'manager'),
      '--listen',
      listen,
      '--secret-file',
      this.secretFile,
      '--address-file',
      addrFile,
      ...(this.opts.managerArgs ?? []),
    ];
    this.manager = this.spawnRole('manager', args);
    this.managerAddress = await this.waitForFile(addrFile, this.manager);
  }

  startBenefactor(i: number, opts: { capacity?: string } = {}): GridProcess {
    const args = [
      'benefactor',
      '--manager',
      this.managerAddress,
      '--store',
      this.benefactorStore(i),
      '--capacity',
      opts.capacity ?? this.opts.capacity ?? '8GiB',
      '--listen',
      `${this.opts.listenHost ?? '127.0.0.1'}:0`,
      '--secret-file',
      this.secretFile,
      ...(this.opts.distinctHosts ? ['--host', `host-${i}`] : []),
      ...(this.opts.benefactorArgs ?? []),
    ];
    const p = this.spawnRole(`benefactor-${i}`, args);
    this.benefactors[i] = p;
    return p;
  }

  /**
   * Starts `stdchk mount MOUNTPOINT` against this grid and resolves once the
   * mount is live (it shows in /proc/self/mountinfo as stdchk:PID).
   */
  async mount(mountpoint: string, opts: GridMountOptions = {}): Promise<GridMount> {
    const mp = path.resolve(mountpoint);
    const args = [
      'mount',
      mp,
      '--manager',
      this.managerAddress,
      '--secret-file',
      this.secretFile,
      ...(opts.replicas !== undefined ? ['--replicas', String(opts.replicas)] : []),
      ...(opts.cacheDir ? ['--cache', opts.cacheDir] : []),
      ...(opts.cacheSize ? ['--cache-size', opts.cacheSize] : []),
      ...(opts.args ?? []),
    ];
    const p = this.spawnRole(opts.name ?? `mount-${this.mounts.length}`, args);
    const m: GridMount = Object.assign(p, { mountpoint: mp });
    this.mounts.push(m);
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    for (;;) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) {
        throw new StdchkError(
          'UNAVAILABLE',
          `${p.name} exited during start; see ${this.logDir}/${p.name}.log`,
        );
      }
      if (mountSource(mp) === `stdchk:${p.child.pid}`) return m;
      if (Date.now() > deadline) throw new StdchkError('TIMEOUT', `${p.name} did not mount ${mp} in time`);
      await sleep(50);
    }
  }

  /** Stops a mount (SIGTERM: it unmounts); after a kill -9, clears what it left. */
  async unmount(m: GridMount, graceMs = 10_000): Promise<void> {
    await this.stopProcess(m, graceMs);
    if (mountSource(m.mountpoint)?.startsWith('stdchk:')) {
      await new Promise<void>((resolve) => execFile('umount', ['-l', m.mountpoint], () => resolve()));
    }
  }

  private async stopProcess(p: GridProcess, graceMs: number): Promise<void> {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return;
    p.child.kill('SIGTERM');
    const t = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
    await p.exited;
    clearTimeout(t);
  }

  private async waitForFile(file: string, owner: GridProcess, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (owner.child.exitCode !== null || owner.child.signalCode !== null) {
        throw new StdchkError(
          'UNAVAILABLE',
          `${owner.name} exited during start; see ${this.logDir}/${owner.name}.log`,
        );
      }
      if (existsSync(file)) {
        const text = readFileSync(file, 'utf8').trim();
        if (text) return text;
      }
      await sleep(50);
    }
    throw new StdchkError('TIMEOUT', `${owner.name} did not start within ${timeoutMs} ms`);
  }

  /** Waits until the manager counts `n` live benefactors. */
  async waitForAlive(n: number, timeoutMs = 30_000): Promise<void> {
    const client = this.client();
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await client.status().catch(() => undefined);
        const alive = s?.benefactors.filter((b) => b.alive).length ?? 0;
        if (alive >= n) return;
        if (Date.now() > deadline)
          throw new StdchkError('TIMEOUT', `only ${alive} of ${n} benefactors came up`);
        await sleep(100);
      }
    } finally {
      client.close();
    }
  }

  async kill(p: GridProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
    p.child.kill(signal);
    await p.exited;
  }

  /** Stops every process (SIGTERM, then SIGKILL after a grace); mounts first, while the grid can still take their commits. */
  async stop(graceMs = 5_000): Promise<void> {
    await Promise.all(this.mounts.map((m) => this.unmount(m, graceMs)));
    const all = [...this.benefactors, this.manager].filter((p): p is GridProcess => !!p);
    await Promise.all(all.map((p) => this.stopProcess(p, graceMs)));
  }
}

/** The source of the mount at `mountpoint` in this mount namespace, if any (the topmost). */
export function mountSource(mountpoint: string): string | undefined {
  let source: string | undefined;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (dash > 0 && f[4]?.replace(/\\040/g, ' ') === mountpoint) source = f[dash + 2];
  }
  return source;
}
