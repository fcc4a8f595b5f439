import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { chmodSync, statSync } from 'node:fs';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureSecretFile, readSecretFile } from '../config/secret.ts';
import { loadTls } from '../rpc/credentials.ts';
import type { ClusterCredentials, TlsFiles } from '../rpc/credentials.ts';
import { StorageClient } from '../client/storage-client.ts';
import { StdchkError } from '../errors/index.ts';
import { connectScheduler, unary } from '../rpc/index.ts';
import { killInstancesUnder } from '../workers/runtime/instance-record.ts';
import { PACKAGE_ROOT } from '../config/package-root.ts';

const ROOT = PACKAGE_ROOT;
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
  /** Authenticate with the shared secret DIR/secret (default true). */
  secret?: boolean;
  /** Mutual TLS too: a CA and one certificate per role under DIR/tls (default false). */
  tls?: boolean;
  /**
   * Every daemon serves Prometheus metrics on a free loopback port
   * (--metrics-listen); metricsAddress(name) gives each one's address.
   */
  metrics?: boolean;
  /** Which daemon serves the web dashboard (--http-listen on loopback); dashboardAddress() gives it. */
  dashboard?: 'manager' | 'scheduler';
  /** HOST:PORT for the dashboard (default 127.0.0.1:0, a free port). */
  dashboardListen?: string;
}

/** The roles that get a certificate of their own in a TLS grid (DIR/tls/ROLE.crt); "client" is for commands and tests. */
export const GRID_TLS_ROLES = ['manager', 'benefactor', 'mount', 'scheduler', 'worker', 'client'] as const;
export type GridTlsRole = (typeof GRID_TLS_ROLES)[number];

export interface GridMountOptions {
  replicas?: number;
  cacheDir?: string;
  cacheSize?: string;
  /** Extra `stdchk mount` flags. */
  args?: string[];
  /** Log file name under logs/ (default mount-N); also names its staging folder DIR/staging/NAME. */
  name?: string;
  /** Extra environment (e.g. a test-only STDCHK_FAULT_*). */
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface GridMount extends GridProcess {
  mountpoint: string;
}

/** A worker of the one-machine grid: its `stdchk worker` process, its own mount and work folder. */
export interface GridWorker extends GridProcess {
  id: string;
  mount: GridMount;
  workDir: string;
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
  /** DIR/encryption.key: given to the grid's mounts when it exists (docs/security.md). */
  readonly encryptionKeyFile: string;
  /** DIR/tls: the grid's CA (ca.crt, ca.key) and a certificate per role. */
  readonly tlsDir: string;
  managerAddress = '';
  manager: GridProcess | undefined;
  readonly benefactors: (GridProcess | undefined)[] = [];
  readonly mounts: GridMount[] = [];
  schedulerAddress = '';
  scheduler: GridProcess | undefined;
  readonly workers: (GridWorker | undefined)[] = [];
  private readonly opts: LocalGridOptions;
  onExit: ((p: GridProcess, code: number | null, signal: NodeJS.Signals | null) => void) | undefined;

  constructor(opts: LocalGridOptions) {
    this.opts = opts;
    this.dir = path.resolve(opts.dir);
    this.secretFile = path.join(this.dir, 'secret');
    this.encryptionKeyFile = path.join(this.dir, 'encryption.key');
    this.tlsDir = path.join(this.dir, 'tls');
  }

  get usesSecret(): boolean {
    return this.opts.secret !== false;
  }

  get usesTls(): boolean {
    return this.opts.tls === true;
  }

  /** The TLS files of a role (they exist once start() ran with `tls`). */
  tlsFiles(role: GridTlsRole): TlsFiles {
    return {
      ca: path.join(this.tlsDir, 'ca.crt'),
      cert: path.join(this.tlsDir, `${role}.crt`),
      key: path.join(this.tlsDir, `${role}.key`),
    };
  }

  /** The flags that give a role its credentials. */
  credentialArgs(role: GridTlsRole): string[] {
    const args = this.usesSecret ? ['--secret-file', this.secretFile] : [];
    if (this.usesTls) {
      const f = this.tlsFiles(role);
      args.push('--tls-ca', f.ca, '--tls-cert', f.cert, '--tls-key', f.key);
    }
    if (args.length === 0) args.push('--insecure');
    return args;
  }

  /** Credentials of an in-process client of this grid. */
  credentials(): ClusterCredentials {
    return {
      secret: this.usesSecret ? readSecretFile(this.secretFile) : undefined,
      tls: this.usesTls ? loadTls(this.tlsFiles('client')) : undefined,
    };
  }

  /** Makes the CA and the role certificates that are missing (SANs: the listen host and localhost). */
  private async ensureCertificates(): Promise<void> {
    const { writeCa, writeNodeCert, parseSanList } = await import('../certs/index.ts');
    if (!existsSync(path.join(this.tlsDir, 'ca.crt'))) {
      await writeCa(this.tlsDir, { name: `stdchk grid CA (${this.dir})`, force: true });
    }
    const sans = parseSanList(`${this.opts.listenHost ?? '127.0.0.1'},127.0.0.1,localhost`);
    for (const role of GRID_TLS_ROLES) {
      if (existsSync(this.tlsFiles(role).cert)) continue;
      await writeNodeCert(this.tlsDir, this.tlsDir, { name: role, sans, force: true });
    }
  }

  get logDir(): string {
    return path.join(this.dir, 'logs');
  }

  async start(): Promise<void> {
    mkdirSync(this.logDir, { recursive: true });
    if (this.usesSecret) ensureSecretFile(this.secretFile);
    if (this.usesTls) await this.ensureCertificates();
    await this.startManager();
    const n = this.opts.benefactors ?? 3;
    for (let i = 0; i < n; i++) this.startBenefactor(i);
    await this.waitForAlive(n);
  }

  env(): Record<string, string> {
    const env: Record<string, string> = { STDCHK_MANAGER: this.managerAddress };
    if (this.usesSecret) env.STDCHK_SECRET_FILE = this.secretFile;
    if (this.usesTls) {
      const f = this.tlsFiles('client');
      Object.assign(env, { STDCHK_TLS_CA: f.ca, STDCHK_TLS_CERT: f.cert, STDCHK_TLS_KEY: f.key });
    }
    return env;
  }

  client(): StorageClient {
    return new StorageClient({ managerAddress: this.managerAddress, ...this.credentials() });
  }

  benefactorStore(i: number): string {
    return path.join(this.dir, `benefactor-${i}`);
  }

  /** Where a daemon writes its bound metrics address (DIR/metrics/NAME.addr). */
  private metricsFile(name: string): string {
    return path.join(this.dir, 'metrics', `${name}.addr`);
  }

  /** The metrics HOST:PORT of the daemon called `name` (manager, benefactor-0, mount-0, worker-1 ...), once it serves. */
  async metricsAddress(name: string, timeoutMs = 30_000): Promise<string> {
    const p = this.processes().find((q) => q.name === name);
    if (!p || !this.opts.metrics)
      throw new StdchkError('INVALID_ARGUMENT', `no daemon ${name} with metrics in this grid`);
    return this.waitForFile(this.metricsFile(name), p, timeoutMs);
  }

  /** Every process of the grid that was started (running or not). */
  processes(): GridProcess[] {
    return [this.manager, ...this.benefactors, ...this.mounts, this.scheduler, ...this.workers].filter(
      (p): p is GridProcess => !!p,
    );
  }

  private get dashboardFile(): string {
    return path.join(this.dir, 'dashboard.addr');
  }

  /** The dashboard's HOST:PORT, once it serves (see the `dashboard` option). */
  async dashboardAddress(timeoutMs = 30_000): Promise<string> {
    const owner = this.opts.dashboard === 'scheduler' ? this.scheduler : this.manager;
    if (!owner || !this.opts.dashboard)
      throw new StdchkError('INVALID_ARGUMENT', 'this grid serves no dashboard');
    return this.waitForFile(this.dashboardFile, owner, timeoutMs);
  }

  /** The --http-listen flags of `role` when it serves the dashboard. */
  private dashboardArgs(role: 'manager' | 'scheduler'): string[] {
    if (this.opts.dashboard !== role) return [];
    rmSync(this.dashboardFile, { force: true });
    return [
      '--http-listen',
      this.opts.dashboardListen ?? '127.0.0.1:0',
      '--http-address-file',
      this.dashboardFile,
    ];
  }

  private spawnRole(name: string, roleArgs: string[], env: Record<string, string> = {}): GridProcess {
    let args = roleArgs;
    if (this.opts.metrics) {
      const file = this.metricsFile(name);
      mkdirSync(path.dirname(file), { recursive: true });
      rmSync(file, { force: true });
      args = [...roleArgs, '--metrics-listen', '127.0.0.1:0', '--metrics-address-file', file];
    }
    const log = openSync(path.join(this.logDir, `${name}.log`), 'a');
    const child = spawn(STDCHK_BIN, args, { stdio: ['ignore', log, log], env: { ...process.env, ...env } });
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
      ...this.credentialArgs('manager'),
      '--address-file',
      addrFile,
      ...this.dashboardArgs('manager'),
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
      ...this.credentialArgs('benefactor'),
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
    const name = opts.name ?? `mount-${this.mounts.length}`;
    const args = [
      'mount',
      mp,
      '--manager',
      this.managerAddress,
      ...this.credentialArgs('mount'),
      // The grid's chunk encryption key, if one was made (stdchk keygen DIR/encryption.key).
      ...(existsSync(this.encryptionKeyFile) && !opts.args?.includes('--encryption-key-file')
        ? ['--encryption-key-file', this.encryptionKeyFile]
        : []),
      ...(opts.replicas !== undefined ? ['--replicas', String(opts.replicas)] : []),
      ...(opts.cacheDir ? ['--cache', opts.cacheDir] : []),
      ...(opts.cacheSize ? ['--cache-size', opts.cacheSize] : []),
      // Inside the grid's folder, so a mount killed with -9 leaves nothing behind once the grid is removed.
      ...(opts.args?.includes('--scratch') ? [] : ['--scratch', path.join(this.dir, 'scratch')]),
      // Write-back stages in the grid's folder too, one folder per mount name (a restarted
      // mount of the same name finds its journal).
      ...(opts.args?.includes('--staging') || opts.args?.join(' ').includes('--write-mode sync')
        ? []
        : ['--staging', path.join(this.dir, 'staging', name)]),
      ...(opts.args ?? []),
    ];
    const p = this.spawnRole(name, args, opts.env);
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

  /**
   * Starts `stdchk scheduler` on this grid's manager and secret (job data in
   * DIR/scheduler); resolves with its address once it serves. After a
   * restart it reuses the same port.
   */
  async startScheduler(extraArgs: string[] = []): Promise<string> {
    const addrFile = path.join(this.dir, 'scheduler.listen');
    rmSync(addrFile, { force: true });
    const listen = this.schedulerAddress || `${this.opts.listenHost ?? '127.0.0.1'}:0`;
    const args = [
      'scheduler',
      '--data',
      path.join(this.dir, 'scheduler'),
      '--listen',
      listen,
      '--manager',
      this.managerAddress,
      ...this.credentialArgs('scheduler'),
      '--address-file',
      addrFile,
      ...this.dashboardArgs('scheduler'),
      ...extraArgs,
    ];
    this.scheduler = this.spawnRole('scheduler', args);
    this.schedulerAddress = await this.waitForFile(addrFile, this.scheduler);
    return this.schedulerAddress;
  }

  workerWorkDir(i: number): string {
    return path.join(this.dir, `worker-${i}`);
  }

  /**
   * Starts worker `i`: its own mount (DIR/mnt-worker-i, unless it is already
   * mounted) and `stdchk worker --id worker-i` with its work folder
   * DIR/worker-i. Call startScheduler() first.
   */
  async startWorker(i: number, extraArgs: string[] = []): Promise<GridWorker> {
    if (!this.schedulerAddress) throw new StdchkError('INTERNAL', 'start the scheduler first');
    const mp = path.join(this.dir, `mnt-worker-${i}`);
    let mount = this.workers[i]?.mount;
    if (!mount || mountSource(mp) !== `stdchk:${mount.child.pid}`) {
      mount = await this.mount(mp, {
        name: `mount-worker-${i}`,
        cacheDir: path.join(this.dir, `cache-worker-${i}`),
      });
    }
    const workDir = this.workerWorkDir(i);
    mkdirSync(workDir, { recursive: true });
    // Containers' root (a user namespace's, not the worker's) must pass through DIR to the rootfs cache.
    chmodSync(this.dir, statSync(this.dir).mode | 0o001);
    const id = `worker-${i}`;
    const args = [
      'worker',
      '--scheduler',
      this.schedulerAddress,
      '--mount',
      mp,
      '--work',
      workDir,
      '--id',
      id,
      ...this.credentialArgs('worker'),
      ...extraArgs,
    ];
    const p = this.spawnRole(`worker-${i}`, args);
    const w: GridWorker = Object.assign(p, { id, mount, workDir });
    this.workers[i] = w;
    return w;
  }

  /** Waits until the scheduler counts these workers alive. */
  async waitForWorkers(ids: string[], timeoutMs = 30_000): Promise<void> {
    const client = connectScheduler(this.schedulerAddress, this.credentials());
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await unary(client, 'listWorkers', {}).catch(() => undefined);
        const alive = ids.filter((id) => r?.workers.some((w) => w.id === id && w.alive));
        if (alive.length === ids.length) return;
        if (Date.now() > deadline)
          throw new StdchkError('TIMEOUT', `only ${alive.length} of ${ids.length} workers came up`);
        await sleep(100);
      }
    } finally {
      client.close();
    }
  }

  /** Simulates the loss of a worker's machine: kill -9 of the worker and of every job (container, process) it runs. */
  async killWorker(i: number): Promise<void> {
    const w = this.workers[i];
    if (!w) return;
    await this.kill(w);
    await killInstancesUnder(path.join(w.workDir, 'instances'));
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

  /**
   * Stops every process (SIGTERM, then SIGKILL after a grace): workers (and
   * the jobs they leave running), then the scheduler, then mounts while the
   * grid can still take their commits, then the storage.
   */
  async stop(graceMs = 5_000): Promise<void> {
    const workers = this.workers.filter((w): w is GridWorker => !!w);
    await Promise.all(workers.map((w) => this.stopProcess(w, graceMs)));
    for (const w of workers) await killInstancesUnder(path.join(w.workDir, 'instances'));
    if (this.scheduler) await this.stopProcess(this.scheduler, graceMs);
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
