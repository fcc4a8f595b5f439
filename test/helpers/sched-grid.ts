import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureSecretFile, readSecretFile } from '../../src/config/secret.ts';
import { connectScheduler, unary } from '../../src/rpc/index.ts';
import type { SchedulerClient } from '../../src/rpc/index.ts';
import { killInstancesUnder, readInstanceRecord } from '../../src/workers/runtime/instance-record.ts';
import type { JobStatus__Output } from '../../src/generated/stdchk/v1/JobStatus.ts';
import type { ExecutionContext } from 'ava';
import {
  busyboxTarball,
  checkCounts,
  countsIn,
  countsOf,
  onCleanup,
  runcContainers,
  tempDir,
  waitFor,
} from './jobs.ts';

/**
 * A scheduler grid of real `stdchk` processes for the acceptance tests: one
 * scheduler ("server", this network namespace) and "hosts" each running a
 * worker, optionally in its own network namespace on a bridge (so a host can
 * be cut off by setting its link down).
 *
 * Storage: by default every worker uses the same plain folder as its
 * checkpoint "mount" (a worker needs nothing more than a shared POSIX
 * folder). With `storage: true` it is the real thing: a manager and a
 * benefactor on the server, and on every host its own benefactor and
 * `stdchk mount`, which that host's worker uses.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const STDCHK = path.join(ROOT, 'bin/stdchk');

export interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
}

export interface Host {
  name: string;
  /** Network namespace, if the host has one. */
  netns?: string;
  nsIf?: string;
  rootIf?: string;
  /** The address the host reaches the server (scheduler, manager) at. */
  serverIp: string;
  /** The host's own address. */
  ip: string;
  workerId: string;
  workDir: string;
  /** What the worker uses as its mount: the shared folder, or this host's `stdchk mount`. */
  mountpoint: string;
  worker?: Proc;
  benefactor?: Proc;
  mount?: Proc;
}

export interface SchedGridOptions {
  schedulerArgs?: string[];
  storage?: boolean;
  /** Extra environment of each host's worker (fault injection). */
  workerEnv?: (host: Host) => Record<string, string>;
}

export class SchedGrid {
  readonly dir: string;
  readonly shared: string;
  readonly secretFile: string;
  readonly tag = randomBytes(2).toString('hex');
  readonly storage: boolean;
  port = 0;
  managerPort = 0;
  scheduler?: Proc;
  manager?: Proc;
  serverBenefactor?: Proc;
  readonly hosts = new Map<string, Host>();
  private bridge?: { name: string; subnet: number; next: number };
  private readonly links: { ns: string; rootIf: string }[] = [];
  private readonly schedulerArgs: string[];
  private readonly workerEnv: (host: Host) => Record<string, string>;
  private clientCache?: SchedulerClient;

  constructor(opts: SchedGridOptions = {}) {
    this.dir = tempDir('stdchk-sgrid-');
    // Containers' root (host uid 2e9, in their user namespace) must pass through to each host's rootfs cache.
    chmodSync(this.dir, 0o711);
    this.shared = path.join(this.dir, 'shared');
    mkdirSync(this.shared);
    mkdirSync(path.join(this.dir, 'logs'));
    this.secretFile = path.join(this.dir, 'secret');
    ensureSecretFile(this.secretFile);
    this.schedulerArgs = opts.schedulerArgs ?? [];
    this.storage = opts.storage ?? false;
    this.workerEnv = opts.workerEnv ?? (() => ({}));
    onCleanup(() => this.stop());
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Where hosts reach the server: the bridge address once there is one. */
  get serverIp(): string {
    return this.bridge ? `10.231.${this.bridge.subnet}.1` : '127.0.0.1';
  }

  env(): Record<string, string> {
    return { STDCHK_SCHEDULER: this.address, STDCHK_SECRET_FILE: this.secretFile };
  }

  client(): SchedulerClient {
    this.clientCache ??= connectScheduler(this.address, { secret: readSecretFile(this.secretFile) });
    return this.clientCache;
  }

  private spawn(
    name: string,
    cmd: string,
    args: string[],
    netns?: string,
    env: Record<string, string> = {},
  ): Proc {
    const log = openSync(path.join(this.dir, 'logs', `${name}.log`), 'a');
    const [file, argv] = netns ? ['nsenter', [`--net=/run/netns/${netns}`, cmd, ...args]] : [cmd, args];
    const child = spawn(file, argv, {
      stdio: ['ignore', log, log],
      env: { ...process.env, STDCHK_LOG_LEVEL: 'info', ...env },
    });
    closeSync(log);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return { name, child, exited };
  }

  logOf(name: string): string {
    const f = path.join(this.dir, 'logs', `${name}.log`);
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  private async addressFrom(file: string, p: Proc): Promise<number> {
    const text = await waitFor(
      `${p.name} to listen`,
      () => {
        if (p.child.exitCode !== null) throw new Error(`${p.name} exited`);
        return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
      },
      30_000,
      50,
    );
    return Number(text.slice(text.lastIndexOf(':') + 1));
  }

  /** The server's network side: a bridge the hosts' links join. Call before adding hosts with netns. */
  private ensureBridge(): { name: string; subnet: number; next: number } {
    if (!this.bridge) {
      const name = `sk${this.tag}br`;
      const subnet = freeSubnet();
      ip('link', 'add', name, 'type', 'bridge');
      this.links.push({ ns: '', rootIf: name });
      ip('addr', 'add', `10.231.${subnet}.1/24`, 'dev', name);
      ip('link', 'set', name, 'up');
      this.bridge = { name, subnet, next: 2 };
    }
    return this.bridge;
  }

  /** Starts the storage's server side (manager, one benefactor). Only with `storage: true`. */
  async startStorage(): Promise<void> {
    const bridge = this.ensureBridge();
    const addrFile = path.join(this.dir, 'manager.addr');
    this.manager = this.spawn('manager', STDCHK, [
      'manager',
      '--data',
      path.join(this.dir, 'manager'),
      '--listen',
      `0.0.0.0:0`,
      '--secret-file',
      this.secretFile,
      '--insecure-plaintext', // test hosts on a private veth bridge
      '--address-file',
      addrFile,
      '--heartbeat-timeout',
      '5s',
    ]);
    this.managerPort = await this.addressFrom(addrFile, this.manager);
    this.serverBenefactor = this.startBenefactorProc(
      'benefactor-server',
      `10.231.${bridge.subnet}.1`,
      'server',
    );
  }

  private startBenefactorProc(name: string, listenIp: string, hostName: string, netns?: string): Proc {
    return this.spawn(
      name,
      STDCHK,
      [
        'benefactor',
        '--manager',
        `${this.serverIp}:${this.managerPort}`,
        '--store',
        path.join(this.dir, name),
        '--capacity',
        '2GiB',
        '--listen',
        `${listenIp}:0`,
        '--insecure-plaintext',
        '--host',
        hostName,
        '--secret-file',
        this.secretFile,
      ],
      netns,
    );
  }

  /**
   * The whole grid: storage (if enabled), scheduler, hosts (each in its own
   * network namespace) with their storage and workers, and a busybox image
   * every worker can read. Returns the hosts and the job files' "rootfs":
   * inside the storage (relative, so each worker finds it in its own mount),
   * or a local tarball when the "mount" is a plain folder.
   */
  async setup(names: string[]): Promise<{ hosts: Host[]; rootfs: string }> {
    if (!canUseNetns()) throw new Error('these tests need root and iproute2 (network namespaces)');
    if (this.storage) await this.startStorage();
    await this.startScheduler();
    const hosts = names.map((n) => this.addHost(n, { netns: true }));
    await Promise.all(hosts.map((h) => this.startHostStorage(h)));
    const tarball = busyboxTarball(this.dir);
    let rootfs = tarball;
    if (this.storage) {
      const first = hosts[0] as Host;
      rootfs = 'images/busybox.tar';
      // Stored through one host's mount once enough benefactors take writes, read through the others'.
      await waitFor(
        'the image stored',
        () => {
          mkdirSync(path.join(first.mountpoint, 'images'), { recursive: true });
          copyFileSync(tarball, path.join(first.mountpoint, rootfs));
          return hosts.every((h) => existsSync(path.join(h.mountpoint, rootfs)));
        },
        60_000,
        1_000,
      );
    }
    for (const h of hosts) this.startWorker(h);
    await this.waitForWorkers(hosts.map((h) => h.workerId));
    return { hosts, rootfs };
  }

  /** Starts (or restarts, on the same port and data) the scheduler. */
  async startScheduler(): Promise<void> {
    const addrFile = path.join(this.dir, 'scheduler.addr');
    rmSync(addrFile, { force: true });
    const storageArgs = this.storage
      ? ['--manager', `127.0.0.1:${this.managerPort}`]
      : ['--checkpoints', this.shared];
    this.scheduler = this.spawn('scheduler', STDCHK, [
      'scheduler',
      '--data',
      path.join(this.dir, 'scheduler'),
      '--listen',
      `0.0.0.0:${this.port}`,
      '--insecure-plaintext',
      ...storageArgs,
      '--secret-file',
      this.secretFile,
      '--address-file',
      addrFile,
      ...this.schedulerArgs,
    ]);
    this.port = await this.addressFrom(addrFile, this.scheduler);
  }

  async killScheduler(): Promise<void> {
    if (!this.scheduler) return;
    this.scheduler.child.kill('SIGKILL');
    await this.scheduler.exited;
  }

  /** A host; with `netns`, in its own network namespace on the server's bridge. */
  addHost(name: string, opts: { netns?: boolean } = {}): Host {
    const host: Host = {
      name,
      serverIp: '127.0.0.1',
      ip: '127.0.0.1',
      workerId: `${name}-${this.tag}`,
      workDir: path.join(this.dir, `host-${name}`),
      mountpoint: this.storage ? path.join(this.dir, `mnt-${name}`) : this.shared,
    };
    if (opts.netns) {
      const bridge = this.ensureBridge();
      const k = bridge.next++;
      const ns = `stdchk-${this.tag}-${name}`;
      const rootIf = `sk${this.tag}${k}r`;
      const nsIf = `sk${this.tag}${k}n`;
      ip('netns', 'add', ns);
      ip('link', 'add', rootIf, 'type', 'veth', 'peer', 'name', nsIf);
      this.links.push({ ns, rootIf });
      ip('link', 'set', rootIf, 'master', bridge.name);
      ip('link', 'set', rootIf, 'up');
      ip('link', 'set', nsIf, 'netns', ns);
      ip('-n', ns, 'addr', 'add', `10.231.${bridge.subnet}.${k}/24`, 'dev', nsIf);
      ip('-n', ns, 'link', 'set', nsIf, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      Object.assign(host, {
        netns: ns,
        nsIf,
        rootIf,
        serverIp: this.serverIp,
        ip: `10.231.${bridge.subnet}.${k}`,
      });
    }
    this.hosts.set(name, host);
    return host;
  }

  /** With storage: the host's benefactor and mount (in its namespace); resolves once the mount is up. */
  async startHostStorage(host: Host): Promise<void> {
    if (!this.storage) return;
    host.benefactor = this.startBenefactorProc(`benefactor-${host.name}`, host.ip, host.name, host.netns);
    host.mount = this.spawn(
      `mount-${host.name}`,
      STDCHK,
      [
        'mount',
        host.mountpoint,
        '--manager',
        `${host.serverIp}:${this.managerPort}`,
        '--secret-file',
        this.secretFile,
        // In the test's folder: a host killed with -9 leaves no scratch folder in /tmp.
        '--scratch',
        path.join(this.dir, `scratch-${host.name}`),
      ],
      host.netns,
    );
    await waitFor(
      `the mount of ${host.name}`,
      () => {
        if (host.mount?.child.exitCode !== null) throw new Error(`mount of ${host.name} exited`);
        return readFileSync('/proc/self/mounts', 'utf8').includes(` ${host.mountpoint} fuse`);
      },
      30_000,
      100,
    );
  }

  startWorker(host: Host, extra: string[] = []): Proc {
    host.worker = this.spawn(
      `worker-${host.name}`,
      STDCHK,
      [
        'worker',
        '--scheduler',
        `${host.serverIp}:${this.port}`,
        '--mount',
        host.mountpoint,
        '--work',
        host.workDir,
        '--id',
        host.workerId,
        '--host',
        host.name,
        '--secret-file',
        this.secretFile,
        ...extra,
      ],
      host.netns,
      this.workerEnv(host),
    );
    return host.worker;
  }

  /** Stops the host's worker as an operator would (SIGTERM: it leaves the grid). */
  async stopWorker(host: Host): Promise<void> {
    await termProc(host.worker);
  }

  /** Only the worker agent dies (kill -9); its jobs, mount and benefactor stay. */
  async killWorkerOnly(host: Host): Promise<void> {
    await killProc(host.worker);
  }

  async waitForWorkers(ids: string[], timeoutMs = 30_000): Promise<void> {
    await waitFor(
      `workers ${ids.join(', ')} alive`,
      async () => {
        const r = await unary(this.client(), 'listWorkers', {});
        return ids.every((id) => r.workers.some((w) => w.id === id && w.alive));
      },
      timeoutMs,
      200,
    );
  }

  /** The machine dies: kill -9 its worker, every job it ran, its mount and its benefactor. */
  async killHost(host: Host): Promise<void> {
    for (const p of [host.worker, host.mount, host.benefactor]) await killProc(p);
    await killInstancesUnder(path.join(host.workDir, 'instances'));
    if (host.mount) lazyUnmount(host.mountpoint);
  }

  /** Sets the host's link down (true) or up (false). */
  cut(host: Host, down: boolean): void {
    if (!host.netns || !host.nsIf) throw new Error(`${host.name} has no network namespace`);
    ip('-n', host.netns, 'link', 'set', host.nsIf, down ? 'down' : 'up');
  }

  /** Live job instances the host's worker has on disk (job name.epoch). */
  instancesOn(host: Host): string[] {
    try {
      return readdirSync(path.join(host.workDir, 'instances'));
    } catch {
      return [];
    }
  }

  containersOf(host: Host): string[] {
    return runcContainers(`stdchk-${host.workerId}-`);
  }

  /** The folders of a job's instances on the host (`<job>.<epoch>`). */
  instanceDirsOf(host: Host, jobId: string): string[] {
    return this.instancesOn(host)
      .filter((n) => n.startsWith(`${jobId}.`))
      .map((n) => path.join(host.workDir, 'instances', n));
  }

  /** What the job printed on this host (its local output, shipped to the storage or not). */
  localCounts(host: Host, jobId: string): number[] {
    return this.instanceDirsOf(host, jobId).flatMap((d) => countsIn(path.join(d, 'output.log')));
  }

  /**
   * Whether the job's copy on this host is frozen: a paused container, or a
   * stopped process; undefined when no copy runs there.
   */
  frozenOn(host: Host, jobId: string): boolean | undefined {
    for (const d of this.instanceDirsOf(host, jobId)) {
      const rec = readInstanceRecord(d);
      if (!rec?.jobPid) continue;
      if (rec.containerId) {
        try {
          const st = JSON.parse(execFileSync('runc', ['state', rec.containerId], { encoding: 'utf8' })) as {
            status: string;
          };
          return st.status === 'paused';
        } catch {
          continue;
        }
      }
      try {
        const stat = readFileSync(`/proc/${rec.jobPid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
      } catch {
        continue;
      }
    }
    return undefined;
  }

  /** The job monitor's log on this host (its dead man's switch). */
  monitorLogOf(host: Host, jobId: string): string {
    return this.instanceDirsOf(host, jobId)
      .map((d) => {
        const f = path.join(d, 'monitor.log');
        return existsSync(f) ? readFileSync(f, 'utf8') : '';
      })
      .join('');
  }

  async job(id: string): Promise<JobStatus__Output> {
    return unary(this.client(), 'getJob', { id });
  }

  async submit(spec: Record<string, unknown>): Promise<string> {
    return (await unary(this.client(), 'submitJob', { specJson: JSON.stringify(spec) })).id;
  }

  /** The numbers in a job's log, read with `stdchk logs` as a user would. */
  async logCounts(id: string): Promise<number[]> {
    const r = await this.cli(['logs', id]);
    if (r.code !== 0) throw new Error(`stdchk logs failed: ${r.stderr}`);
    return countsOf(r.stdout);
  }

  /** Runs `stdchk ARGS` as a user would, with the grid's address and secret in the environment. */
  cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(STDCHK, args, {
        env: { ...process.env, ...this.env() },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  /**
   * Stops everything: workers first (SIGTERM, then SIGKILL), then mounts
   * (they unmount), benefactors, scheduler and manager; kills leftover jobs;
   * removes the links, the bridge and the namespaces.
   */
  async stop(): Promise<void> {
    this.clientCache?.close();
    const hosts = [...this.hosts.values()];
    await Promise.all(hosts.map((h) => termProc(h.worker)));
    for (const h of hosts) await killInstancesUnder(path.join(h.workDir, 'instances'));
    await Promise.all(hosts.map((h) => termProc(h.mount)));
    for (const h of hosts) if (h.mount) lazyUnmount(h.mountpoint);
    await Promise.all([
      ...hosts.map((h) => termProc(h.benefactor)),
      termProc(this.serverBenefactor),
      termProc(this.scheduler),
    ]);
    await termProc(this.manager);
    for (const { ns, rootIf } of this.links.splice(0).reverse()) {
      // Delete the links explicitly: the kernel may dismantle a namespace itself only much later.
      for (const args of [['link', 'del', rootIf], ...(ns ? [['netns', 'del', ns]] : [])]) {
        try {
          ip(...args);
        } catch {
          // already gone
        }
      }
    }
    await sleep(100);
  }
}

/**
 * Acceptance 2/3: runs a counting job, kills the host running it (kill -9
 * of everything there) after two checkpoints, and checks that it resumes on
 * another host from its newest complete checkpoint, never from zero, and
 * finishes with the right result. The killed host comes back afterwards.
 */
export async function runFailover(
  t: ExecutionContext,
  grid: SchedGrid,
  hosts: Host[],
  spec: Record<string, unknown>,
  n: number,
  maxBack: number,
): Promise<void> {
  const hostOf = (workerId: string) => hosts.find((h) => h.workerId === workerId) as Host;
  const id = await grid.submit(spec);
  await waitFor('two checkpoints', async () => (await grid.job(id)).checkpointsTaken >= 2, 90_000, 200);
  await sleep(700); // counting on past the checkpoint
  const victim = hostOf((await grid.job(id)).worker);
  await grid.killHost(victim);
  const atKill = await grid.job(id);
  const newest = atKill.checkpoints[atKill.checkpoints.length - 1]?.seq ?? 0;
  const tKill = Date.now();
  t.true(newest >= 2);
  t.log(`${id}: killed host ${victim.name} holding it; newest complete checkpoint ${newest}`);

  await waitFor(
    'the job restored on another host',
    async () => (await grid.job(id)).restores.length > 0,
    60_000,
    200,
  );
  const moved = await grid.job(id);
  t.not(moved.worker, victim.workerId);
  t.like(moved.restores[0], { fromSeq: newest, fromWorker: victim.workerId, worker: moved.worker });
  t.log(
    `${id}: running again on ${hostOf(moved.worker).name} ${((Date.now() - tKill) / 1000).toFixed(1)} s after the kill ` +
      `(restore itself ${moved.restores[0]?.seconds.toFixed(3)} s)`,
  );
  await waitFor('the job done', async () => (await grid.job(id)).state === 'done', 120_000, 300);
  const done = await grid.job(id);
  t.is(done.exitCode, 0);
  const ck = done.checkpoints.length ? done.checkpoints : moved.checkpoints;
  t.log(`${id}: checkpoints took ${ck.map((c) => `${c.seconds.toFixed(2)} s/${c.bytes} B`).join(', ')}`);
  const resumedAt = checkCounts(t, await grid.logCounts(id), n, maxBack);
  t.log(`${id}: resumed at ${resumedAt || 'exactly where its output stopped'}; finished with ${n}`);
  t.deepEqual(grid.containersOf(victim), [], 'nothing of the job is left on the dead host');

  // The host comes back (a new life of its worker) for the next test.
  await grid.startHostStorage(victim);
  grid.startWorker(victim);
  await grid.waitForWorkers([victim.workerId]);
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

async function killProc(p: Proc | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGKILL');
  await p.exited;
}

async function termProc(p: Proc | undefined, graceMs = 8_000): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(t);
}

function lazyUnmount(mountpoint: string): void {
  if (!readFileSync('/proc/self/mounts', 'utf8').includes(` ${mountpoint} `)) return;
  try {
    execFileSync('umount', ['-l', mountpoint], { stdio: 'pipe' });
  } catch {
    // not mounted any more
  }
}

const claimed = new Set<number>();

/** A 10.231.N.0/24 no interface uses (a torn-down test's addresses can linger for a while). */
function freeSubnet(): number {
  const used = execFileSync('ip', ['-4', '-o', 'addr'], { encoding: 'utf8' });
  for (;;) {
    const n = 1 + Math.floor(Math.random() * 250);
    if (!used.includes(`10.231.${n}.`) && !claimed.has(n)) {
      claimed.add(n);
      return n;
    }
  }
}

/** True when this process may create network namespaces (root with iproute2). */
export function canUseNetns(): boolean {
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
}
