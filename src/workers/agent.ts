import type { TlsMaterial } from '../rpc/credentials.ts';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StdchkError, errorMessage } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import type { Assignment__Output } from '../generated/stdchk/v1/Assignment.ts';
import type { WorkerJob } from '../generated/stdchk/v1/WorkerJob.ts';
import { validateJobSpec } from '../jobs/spec.ts';
import type { JobSpec } from '../jobs/spec.ts';
import { MARKER_FILE, checkpointDir, logSegment } from '../jobs/layout.ts';
import type { CheckpointMarker } from '../jobs/layout.ts';
import { workerPhaseToWire } from '../jobs/messages.ts';
import type { Assignment, WorkerJobPhase } from '../jobs/messages.ts';
import type { ContainerRuntime, JobInstance, JobKind } from './runtime/types.ts';
import { RuncRuntime } from './runtime/runc.ts';
import { ProcessRuntime } from './runtime/process.ts';
import { RootfsCache } from './runtime/rootfs-cache.ts';
import { monitorPid, monitorState, startMonitor, stopMonitor, writeLease } from './runtime/monitor.ts';
import type { IdMap } from './runtime/oci-config.ts';
import { DEFAULT_CONTAINER_ID_MAP, prepareWorkDir } from './runtime/work-dir.ts';
import { JobUserPolicy } from '../jobs/users.ts';
import { LogShipper } from './log-shipper.ts';
import { SchedulerLink } from './scheduler-link.ts';
import { LocalJob } from './local-job.ts';
import { CheckpointProtocol } from './checkpoint.ts';
import type { WorkerEvents } from '../metrics/worker.ts';
import { isFenced } from './retry.ts';
import { Tasks } from './tasks.ts';
import { discard, findLeftovers, leftoverReport, writeJobFile } from './adoption.ts';
import type { Leftover } from './adoption.ts';

export interface WorkerAgentOptions {
  schedulerAddress: string;
  /** The checkpoint storage as a folder: the stdchk mount, or any folder shared by every worker. */
  mount: string;
  /** Local folder: unpacked rootfs cache, per-job state, local logs, CRIU work files. */
  workDir: string;
  /** Default: the id saved in workDir, else "<hostname>-<random>". */
  id?: string;
  slots?: number;
  secret?: Buffer | undefined;
  tls?: TlsMaterial | undefined;
  logger: Logger;
  host?: string;
  /** Default: runc and CRIU process runtimes, whichever this machine can run. */
  runtimes?: ContainerRuntime[];
  /** How often job output is copied to the storage (default 1 s). */
  logShipIntervalMs?: number;
  /** Who jobs run as (default: `nobody`, and only that). */
  users?: JobUserPolicy;
  /** Containers' user namespace id map (default DEFAULT_CONTAINER_ID_MAP); null: none. */
  containerIds?: IdMap | null;
  /** Told of checkpoints and starts (src/metrics/worker.ts). */
  events?: WorkerEvents;
}

export interface WorkerJobView {
  jobId: string;
  epoch: number;
  phase: WorkerJobPhase;
  pid: number;
}

export interface WorkerHandle {
  id: string;
  incarnation: string;
  jobs(): WorkerJobView[];
  /** Holds its lease from the scheduler (may run jobs). */
  leaseValid(): boolean;
  /**
   * Leaves the grid: by default takes a last checkpoint of every running job
   * (so little work is lost), stops the jobs and deregisters, so the
   * scheduler moves them at once. With both options false it behaves like a
   * crash of the machine (tests).
   */
  stop(opts?: StopOptions): Promise<void>;
}

export interface StopOptions {
  /** Take a last checkpoint of running jobs first (default true). */
  checkpoint?: boolean;
  /** Tell the scheduler (default true); otherwise it finds out by the heartbeat timeout. */
  deregister?: boolean;
}

/** How often the agent looks at its jobs (checkpoints due, logs to ship, lease). */
const TICK_MS = 100;

/** Registers with the scheduler, heartbeats, and runs, checkpoints and restores what it is assigned. */
export async function startWorker(opts: WorkerAgentOptions): Promise<WorkerHandle> {
  const agent = new WorkerAgent(opts);
  await agent.start();
  return {
    id: agent.id,
    incarnation: agent.incarnation,
    jobs: () => agent.view(),
    leaseValid: () => agent.leaseValid(),
    stop: (o) => agent.stop(o),
  };
}

function defaultRuntimes(workerId: string, log: Logger, idMap: IdMap | null): ContainerRuntime[] {
  const out: ContainerRuntime[] = [];
  try {
    out.push(new RuncRuntime({ idPrefix: `stdchk-${workerId}-`, idMap: idMap ?? undefined }));
  } catch (e) {
    log.warn({ err: errorMessage(e) }, 'cannot run containers on this worker');
  }
  try {
    out.push(new ProcessRuntime());
  } catch (e) {
    log.warn({ err: errorMessage(e) }, 'cannot run process jobs on this worker');
  }
  return out;
}

function workerIdFor(workDir: string, given: string | undefined): string {
  if (given) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(given)) {
      throw new StdchkError(
        'INVALID_ARGUMENT',
        `--id must be 1-64 letters, digits, "_", "." or "-", not ${JSON.stringify(given)}`,
      );
    }
    return given;
  }
  const file = path.join(workDir, 'worker-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const host =
    os
      .hostname()
      .replace(/[^A-Za-z0-9_.-]/g, '-')
      .slice(0, 40) || 'worker';
  const id = `${host}-${randomBytes(2).toString('hex')}`;
  writeFileSync(file, id + '\n');
  return id;
}

/**
 * The worker agent: composes the scheduler link (registration, heartbeats,
 * lease, reports), each job's lifecycle (LocalJob), the checkpoint protocol
 * and the runtimes. It makes the jobs on this machine match the scheduler's
 * list of assignments.
 */
class WorkerAgent {
  readonly id: string;
  readonly incarnation = randomBytes(8).toString('hex');
  private readonly opts: WorkerAgentOptions;
  private readonly log: Logger;
  private readonly link: SchedulerLink;
  private readonly runtimes = new Map<JobKind, ContainerRuntime>();
  private readonly rootfs: RootfsCache;
  private readonly users: JobUserPolicy;
  private readonly instancesDir: string;
  private readonly jobs = new Map<string, LocalJob>();
  private readonly checkpoints: CheckpointProtocol;
  private readonly tasks: Tasks;
  /** The checkpoint in progress of each job (at most one). */
  private readonly checkpointing = new Map<LocalJob, Promise<void>>();
  private stopping = false;
  private loops: Promise<void>[] = [];
  private readonly wake = new AbortController();
  private lastShip = 0;
  /** Jobs their monitors froze (as last seen), to log each change once. */
  private readonly frozen = new Set<LocalJob>();
  /** Jobs an earlier life of this agent left running, until the scheduler says which are still ours. */
  private leftovers = new Map<string, Leftover>();

  constructor(opts: WorkerAgentOptions) {
    this.opts = opts;
    const idMap = opts.containerIds === undefined ? DEFAULT_CONTAINER_ID_MAP : opts.containerIds;
    prepareWorkDir(opts.workDir, idMap);
    this.id = workerIdFor(opts.workDir, opts.id);
    this.log = opts.logger.child({ worker: this.id });
    this.tasks = new Tasks(this.log);
    this.instancesDir = path.join(opts.workDir, 'instances');
    this.rootfs = new RootfsCache(path.join(opts.workDir, 'rootfs'), { idMap: idMap ?? undefined });
    this.users = opts.users ?? new JobUserPolicy();
    for (const r of opts.runtimes ?? defaultRuntimes(this.id, this.log, idMap)) this.runtimes.set(r.kind, r);
    if (this.runtimes.size === 0)
      throw new StdchkError(
        'UNAVAILABLE',
        'this machine can run no jobs (install runc and criu: scripts/setup.sh)',
      );
    this.link = new SchedulerLink({
      address: opts.schedulerAddress,
      secret: opts.secret,
      tls: opts.tls,
      logger: this.log,
      workerId: this.id,
      incarnation: this.incarnation,
      host: opts.host ?? os.hostname(),
      slots: opts.slots ?? 1,
      kinds: [...this.runtimes.keys()],
    });
    this.checkpoints = new CheckpointProtocol({
      mount: opts.mount,
      workerId: this.id,
      link: this.link,
      logger: this.log,
      shipLog: (job) => this.shipLog(job),
      drop: (job, why) => this.drop(job, why),
      onWritten: opts.events?.checkpointed,
    });
  }

  async start(): Promise<void> {
    try {
      mkdirSync(path.join(this.opts.mount, 'jobs'), { recursive: true, mode: 0o700 });
      chmodSync(path.join(this.opts.mount, 'jobs'), 0o700); // root's alone, also if an older worker made it
    } catch (e) {
      throw new StdchkError(
        'INVALID_ARGUMENT',
        `cannot use ${this.opts.mount} as the checkpoint storage: ${errorMessage(e)}`,
      );
    }
    // What an earlier life of this agent left running: the scheduler decides
    // at registration which of those jobs are still ours.
    mkdirSync(this.instancesDir, { recursive: true, mode: 0o700 });
    if (this.runtimes.has('container')) await this.rootfs.prepare();
    const leftovers = await findLeftovers(this.instancesDir, this.log);
    this.leftovers = new Map(leftovers.map((l) => [l.assigned.jobId, l]));
    try {
      await this.link.register(leftovers.map(leftoverReport), true);
    } catch (e) {
      this.link.close();
      throw e;
    }
    this.loops.push(this.heartbeatLoop(), this.tickLoop());
  }

  leaseValid(): boolean {
    return this.link.lease.valid();
  }

  view(): WorkerJobView[] {
    return [...this.jobs.values()].map((j) => ({
      jobId: j.jobId,
      epoch: j.epoch,
      phase: this.reportedPhase(j),
      pid: j.instance?.pid ?? 0,
    }));
  }

  async stop(o: StopOptions = {}): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.wake.abort();
    await Promise.allSettled(this.loops);
    const all = [...this.jobs.values()];
    if (o.checkpoint ?? true) {
      await Promise.allSettled(
        all
          .filter((j) => j.phase === 'running' && j.intervalSeconds > 0 && this.link.lease.valid())
          .map((j) => Promise.race([this.checkpointing.get(j) ?? this.checkpoints.run(j), sleep(60_000)])),
      );
    }
    if (o.deregister ?? true) await Promise.allSettled(all.map((j) => this.shipLog(j)));
    await Promise.allSettled(all.map((j) => this.kill(j, 'worker stopping')));
    await Promise.allSettled([...this.leftovers.values()].map((l) => discard(l.dir)));
    if (o.deregister ?? true) {
      await this.link
        .deregister()
        .catch((e: unknown) => this.log.warn({ err: errorMessage(e) }, 'could not deregister'));
    }
    this.link.close();
    await this.tasks.idle();
    this.log.info('worker stopped');
  }

  // ---- the scheduler's list ------------------------------------------------

  private async heartbeatLoop(): Promise<void> {
    while (!this.stopping) {
      const { assignments, sentAt, renewedAfterExpiry } = await this.link.heartbeat(() => this.reports());
      if (this.stopping) break;
      if (assignments) {
        await this.reconcile(assignments, renewedAfterExpiry).catch((e: unknown) =>
          this.log.error({ err: errorMessage(e) }, 'could not apply the assignments'),
        );
      }
      await sleep(this.link.nextHeartbeatIn(sentAt), undefined, { signal: this.wake.signal }).catch(
        () => undefined,
      );
    }
  }

  private reports(): WorkerJob[] {
    return [
      ...[...this.jobs.values()].map((j) => ({
        jobId: j.jobId,
        epoch: j.epoch,
        ...workerPhaseToWire(this.reportedPhase(j)),
        exitCode: j.exit?.code ?? 0,
        error: j.exit?.error ?? '',
      })),
      ...[...this.leftovers.values()].map(leftoverReport),
    ];
  }

  private reportedPhase(j: LocalJob): WorkerJobPhase {
    if (j.phase === 'gone') return 'exited';
    // Its monitor froze it once the lease ran out.
    if (
      (j.phase === 'running' || j.phase === 'checkpointing') &&
      (this.frozen.has(j) || !this.link.lease.valid())
    )
      return 'paused';
    return j.phase;
  }

  /**
   * Makes the local jobs match the scheduler's list: renew the lease of what
   * is listed at its epoch, start what is new, stop what is not listed.
   */
  private async reconcile(assignments: Assignment__Output[], renewedAfterExpiry: boolean): Promise<void> {
    const wanted = new Map(assignments.map((a) => [a.jobId, a]));
    await this.settleLeftovers(wanted);
    for (const j of [...this.jobs.values()]) {
      const a = wanted.get(j.jobId);
      if (!a || a.epoch !== j.epoch) {
        this.drop(j, a ? `moved to epoch ${a.epoch}` : 'no longer assigned here');
        continue;
      }
      j.intervalSeconds = a.intervalSeconds;
      j.lastSeq = Math.max(j.lastSeq, a.lastSeq);
      this.renewLease(j);
      this.keepMonitor(j);
      if (renewedAfterExpiry) {
        // Thawed: no checkpoint right away, as if half an interval had passed.
        const now = this.link.lease.now();
        j.lastCheckpointEnd = Math.max(j.lastCheckpointEnd, now - j.intervalSeconds * 500);
      }
    }
    for (const a of assignments) {
      if (this.jobs.has(a.jobId)) continue;
      const assigned = this.assigned(a);
      if (!assigned) continue;
      const dir = path.join(this.instancesDir, `${a.jobId}.${a.epoch}`);
      const shipper = new LogShipper(
        path.join(dir, 'output.log'),
        logSegment(this.opts.mount, a.jobId, a.epoch),
      );
      const job = new LocalJob(assigned, dir, shipper, this.link.lease.now());
      this.jobs.set(job.jobId, job);
      this.tasks.run('launch', { job: job.jobId }, () => this.launch(job));
    }
  }

  private assigned(a: Assignment__Output): Assignment | undefined {
    let spec: JobSpec;
    try {
      spec = validateJobSpec(JSON.parse(a.specJson));
    } catch (e) {
      this.log.error({ job: a.jobId, err: errorMessage(e) }, 'unusable job spec from the scheduler');
      return undefined;
    }
    return {
      jobId: a.jobId,
      epoch: a.epoch,
      spec,
      restoreSeq: a.restoreSeq,
      intervalSeconds: a.intervalSeconds,
      lastSeq: a.lastSeq,
    };
  }

  /**
   * The first answer after a restart: take over the leftovers still listed
   * at their epoch (their monitors thaw them once the lease is renewed), kill
   * the others (their jobs moved while no agent watched them).
   */
  private async settleLeftovers(wanted: Map<string, Assignment__Output>): Promise<void> {
    const leftovers = [...this.leftovers.values()];
    this.leftovers.clear();
    for (const l of leftovers) {
      const a = wanted.get(l.assigned.jobId);
      if (a && a.epoch === l.assigned.epoch) {
        try {
          await this.adopt(l, a);
          continue;
        } catch (e) {
          this.log.error({ job: l.assigned.jobId, err: errorMessage(e) }, 'could not take over a job');
          const job = this.jobs.get(l.assigned.jobId);
          if (job) this.drop(job, 'could not take it over');
        }
      } else {
        this.log.warn(
          { job: l.assigned.jobId, epoch: l.assigned.epoch, now: a ? a.epoch : undefined },
          'stopping a job that moved while this worker agent was down',
        );
      }
      await discard(l.dir);
    }
  }

  private async adopt(l: Leftover, a: Assignment__Output): Promise<void> {
    const remote = logSegment(this.opts.mount, l.assigned.jobId, l.assigned.epoch);
    let shipped = 0;
    try {
      shipped = statSync(remote).size;
    } catch {
      // nothing shipped yet
    }
    const shipper = new LogShipper(path.join(l.dir, 'output.log'), remote, shipped);
    const job = new LocalJob(
      { ...l.assigned, intervalSeconds: a.intervalSeconds, lastSeq: Math.max(l.assigned.lastSeq, a.lastSeq) },
      l.dir,
      shipper,
      this.link.lease.now(),
      true,
    );
    this.jobs.set(job.jobId, job);
    if (l.exit) {
      this.log.info({ job: job.jobId, epoch: job.epoch, code: l.exit.code }, 'job taken over (it had ended)');
      this.ended(job, l.exit);
      return;
    }
    const inst = this.runtimeFor(job.spec.kind).reattach(l.record, {
      name: job.name,
      dir: job.dir,
      logFile: shipper.localLog,
      user: await this.users.resolve(job.spec.user),
      restored: job.restoreSeq > 0,
    });
    job.instance = inst;
    startMonitor(job.dir);
    this.renewLease(job);
    this.watchExit(job, inst);
    this.log.info(
      { job: job.jobId, epoch: job.epoch, pid: inst.pid },
      'job taken over from an earlier run of this agent',
    );
  }

  /** Tells the job's monitor the scheduler vouches for it until the lease's deadline. */
  private renewLease(job: LocalJob): void {
    try {
      writeLease(job.dir, this.link.lease.deadline);
    } catch (e) {
      if (!job.gone)
        this.log.error({ job: job.jobId, err: errorMessage(e) }, "could not renew the job's lease");
    }
  }

  /** A running job without its monitor (killed on its own) gets a new one. */
  private keepMonitor(job: LocalJob): void {
    if (!job.instance?.isRunning() || job.gone || monitorPid(job.dir)) return;
    this.log.warn({ job: job.jobId }, "the job's monitor is gone: starting a new one");
    try {
      startMonitor(job.dir);
    } catch (e) {
      this.log.error({ job: job.jobId, err: errorMessage(e) }, 'could not start a job monitor');
    }
  }

  // ---- a job's life --------------------------------------------------------

  private runtimeFor(kind: JobKind): ContainerRuntime {
    const r = this.runtimes.get(kind);
    if (!r) throw new StdchkError('UNAVAILABLE', `this worker cannot run ${kind} jobs`);
    return r;
  }

  /** Starts or restores the job, then tells the scheduler it runs. */
  private async launch(job: LocalJob): Promise<void> {
    const t0 = performance.now();
    const restoring = job.restoreSeq > 0;
    let inst: JobInstance;
    try {
      await mkdir(job.dir, { recursive: true });
      writeJobFile(job);
      // The dead man's switch first: whatever happens to this agent from now
      // on, the job is frozen once the lease runs out.
      this.renewLease(job);
      startMonitor(job.dir);
      inst = await this.startInstance(job);
    } catch (e) {
      if (job.gone) return;
      this.log.error({ job: job.jobId, err: errorMessage(e) }, restoring ? 'restore failed' : 'start failed');
      this.ended(job, { code: 0, error: errorMessage(e), startFailed: !restoring, restoreFailed: restoring });
      return;
    }
    if (job.gone) {
      // Dropped while it started: kill() ran before there was an instance to kill.
      await inst.kill();
      await stopMonitor(job.dir);
      await rm(job.dir, { recursive: true, force: true }).catch(() => undefined);
      return;
    }
    job.instance = inst;
    job.lastCheckpointEnd = this.link.lease.now();
    const seconds = (performance.now() - t0) / 1000;
    this.opts.events?.started(restoring, seconds);
    this.log.info(
      { job: job.jobId, epoch: job.epoch, pid: inst.pid, restoredFrom: job.restoreSeq || undefined, seconds },
      restoring ? 'job restored' : 'job started',
    );
    this.watchExit(job, inst);
    try {
      await this.link.reportStarted(job, job.restoreSeq, seconds, () => this.gaveUp(job));
    } catch (e) {
      if (isFenced(e)) this.drop(job, errorMessage(e));
      return;
    }
    if (job.phase === 'starting' || job.phase === 'restoring') job.to('running');
  }

  private watchExit(job: LocalJob, inst: JobInstance): void {
    this.tasks.run('watching the job', { job: job.jobId }, async () => {
      const exit = await inst.exited;
      if (job.gone) return;
      this.ended(job, { code: exit.code, error: exit.error ?? '', startFailed: false, restoreFailed: false });
      this.log.info({ job: job.jobId, code: exit.code, error: exit.error }, 'job exited');
    });
  }

  private async startInstance(job: LocalJob): Promise<JobInstance> {
    const runtime = this.runtimeFor(job.spec.kind);
    const rootfs =
      job.spec.kind === 'container' ? (await this.rootfs.ensure(this.rootfsPath(job.spec))).dir : undefined;
    const base = {
      name: job.name,
      dir: job.dir,
      logFile: job.shipper.localLog,
      ...(rootfs ? { rootfs } : {}),
      user: await this.users.resolve(job.spec.user),
    };
    const processSpec = {
      args: job.spec.args,
      env: job.spec.env,
      ...(job.spec.cwd ? { cwd: job.spec.cwd } : {}),
    };
    if (job.restoreSeq === 0) return runtime.start(processSpec, base);
    const imageDir = checkpointDir(this.opts.mount, job.jobId, job.restoreSeq);
    await this.checkMarker(job, imageDir);
    return runtime.restore(processSpec, { ...base, imageDir });
  }

  /** A relative rootfs is inside the storage, wherever this worker mounts it. */
  private rootfsPath(spec: JobSpec): string {
    const p = spec.rootfs as string;
    return path.isAbsolute(p) ? p : path.join(this.opts.mount, p);
  }

  private async checkMarker(job: LocalJob, imageDir: string): Promise<void> {
    let marker: CheckpointMarker;
    try {
      marker = JSON.parse(await readFile(path.join(imageDir, MARKER_FILE), 'utf8')) as CheckpointMarker;
    } catch (e) {
      throw new StdchkError(
        'CORRUPT',
        `checkpoint ${job.restoreSeq} of ${job.jobId} is not complete (no readable marker): ${errorMessage(e)}`,
      );
    }
    if (marker.job !== job.jobId || marker.seq !== job.restoreSeq) {
      throw new StdchkError(
        'CORRUPT',
        `checkpoint folder ${imageDir} belongs to ${marker.job}/${marker.seq}`,
      );
    }
    if (marker.kind !== job.spec.kind)
      throw new StdchkError('CORRUPT', `checkpoint ${job.restoreSeq} is a ${marker.kind} image`);
  }

  /** The job ended (or never ran): report it once the lease allows, then forget it. */
  private ended(job: LocalJob, exit: NonNullable<LocalJob['exit']>): void {
    if (!job.ended(exit)) return;
    this.tasks.run('reporting the exit', { job: job.jobId }, () => this.reportExit(job));
  }

  /** Tells the scheduler how the job ended (after shipping the rest of its log), then forgets it. */
  private async reportExit(job: LocalJob): Promise<void> {
    const exit = job.exit as NonNullable<LocalJob['exit']>;
    // Without a lease the job may have moved: write nothing for it until the scheduler answers.
    while (!this.link.lease.valid() && !job.gone && !this.stopping) await sleep(TICK_MS);
    if (job.gone || this.stopping) return;
    if (!exit.startFailed && !exit.restoreFailed) await job.shipper.drain();
    try {
      await this.link.reportExit(
        job,
        {
          exitCode: exit.code,
          error: exit.error,
          startFailed: exit.startFailed,
          restoreFailed: exit.restoreFailed,
          restoreSeq: job.restoreSeq,
        },
        () => this.gaveUp(job),
      );
      await this.kill(job, 'exit reported');
    } catch (e) {
      if (isFenced(e)) await this.kill(job, errorMessage(e));
      else this.log.warn({ job: job.jobId, err: errorMessage(e) }, 'exit not reported');
    }
  }

  private gaveUp(job: LocalJob): string | undefined {
    if (job.gone) return 'the job is gone';
    if (this.stopping) return 'the worker is stopping';
    return undefined;
  }

  /** The job is not ours any more: stop it in the background. */
  private drop(job: LocalJob, why: string): void {
    this.tasks.run('stopping a job', { job: job.jobId }, () => this.kill(job, why));
  }

  /**
   * Stops a job this worker must no longer run and deletes its local state:
   * its lease revoked and its monitor stopped first (nothing thaws it
   * meanwhile), then the job killed (frozen or not).
   */
  private async kill(job: LocalJob, why: string): Promise<void> {
    const wasRunning = job.instance?.isRunning() ?? false;
    if (!job.to('gone')) return;
    if (this.jobs.get(job.jobId) === job) this.jobs.delete(job.jobId);
    this.frozen.delete(job);
    // The scheduler's decision (a cancel, a move), logged there at its own level: info here.
    if (wasRunning) this.log.info({ job: job.jobId, epoch: job.epoch, why }, 'stopping job');
    try {
      writeLease(job.dir, 0);
    } catch {
      // never launched: no folder
    }
    await stopMonitor(job.dir);
    try {
      await job.instance?.kill();
    } catch (e) {
      this.log.error({ job: job.jobId, err: errorMessage(e) }, 'could not kill job');
    }
    await rm(job.dir, { recursive: true, force: true }).catch(() => undefined);
  }

  // ---- periodic work: lease, checkpoints, logs -------------------------------

  private async tickLoop(): Promise<void> {
    while (!this.stopping) {
      await this.tick().catch((e: unknown) => this.log.error({ err: errorMessage(e) }, 'worker tick failed'));
      await sleep(TICK_MS, undefined, { signal: this.wake.signal }).catch(() => undefined);
    }
  }

  private async tick(): Promise<void> {
    const now = this.link.lease.now();
    const lease = this.link.lease.valid();
    const ship = now - this.lastShip >= (this.opts.logShipIntervalMs ?? 1_000);
    if (ship) this.lastShip = now;
    for (const job of this.jobs.values()) this.noticeFreeze(job);
    // Cut off: the jobs may be moving elsewhere. Their monitors freeze them; write nothing for them.
    if (!lease) return;
    for (const job of [...this.jobs.values()]) {
      if (ship && (job.phase === 'running' || job.phase === 'checkpointing')) {
        this.tasks.run('shipping the log', { job: job.jobId }, () => this.shipLog(job));
      }
      if (
        job.phase === 'running' &&
        !this.checkpointing.has(job) &&
        job.intervalSeconds > 0 &&
        now - job.lastCheckpointEnd >= job.intervalSeconds * 1000
      ) {
        const run = this.checkpoints.run(job).finally(() => this.checkpointing.delete(job));
        this.checkpointing.set(job, run);
        this.tasks.run('checkpoint', { job: job.jobId }, () => run);
      }
    }
  }

  /** Logs what the job's monitor did to it, once per change. */
  private noticeFreeze(job: LocalJob): void {
    const frozen = monitorState(job.dir) === 'frozen';
    if (frozen === this.frozen.has(job)) return;
    if (frozen) {
      this.frozen.add(job);
      this.log.warn({ job: job.jobId }, 'lease expired (scheduler unreachable): job paused by its monitor');
    } else {
      this.frozen.delete(job);
      this.log.info({ job: job.jobId }, 'lease renewed: job resumed');
    }
  }

  private async shipLog(job: LocalJob): Promise<void> {
    if (job.gone || !this.link.lease.valid()) return;
    try {
      await job.shipper.ship();
    } catch (e) {
      this.log.warn({ job: job.jobId, err: errorMessage(e) }, 'could not copy the job log to the storage');
    }
  }
}
