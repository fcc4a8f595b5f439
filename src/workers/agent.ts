import type { TlsMaterial } from '../rpc/credentials.ts';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StdchkError, errorMessage, isStdchkError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import { connectScheduler, unary } from '../rpc/index.ts';
import type { SchedulerClient } from '../rpc/index.ts';
import type { Assignment__Output } from '../generated/stdchk/v1/Assignment.ts';
import type { WorkerJob } from '../generated/stdchk/v1/WorkerJob.ts';
import { validateJobSpec } from '../scheduler/job-spec.ts';
import type { JobSpec } from '../scheduler/job-spec.ts';
import { MARKER_FILE, checkpointDir, logSegment } from '../scheduler/layout.ts';
import type { CheckpointMarker } from '../scheduler/layout.ts';
import type { ContainerRuntime, ExitInfo, JobInstance, JobKind } from './runtime/types.ts';
import { RuncRuntime } from './runtime/runc.ts';
import { ProcessRuntime } from './runtime/process.ts';
import { RootfsCache } from './runtime/rootfs-cache.ts';
import { killInstancesUnder } from './runtime/instance-record.ts';
import { LogShipper } from './log-shipper.ts';
import { newBytesBetween, pageHashes } from './page-hashes.ts';
import { syncFolder } from '../fuse-client/barrier.ts';

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
}

export interface WorkerJobView {
  jobId: string;
  epoch: number;
  phase: Phase;
  pid: number;
}

export interface WorkerHandle {
  id: string;
  incarnation: string;
  jobs(): WorkerJobView[];
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

type Phase = 'starting' | 'restoring' | 'running' | 'checkpointing' | 'paused' | 'exited';

interface LocalJob {
  jobId: string;
  epoch: number;
  spec: JobSpec;
  restoreSeq: number;
  intervalSeconds: number;
  lastSeq: number;
  phase: Phase;
  name: string;
  dir: string;
  instance?: JobInstance;
  shipper: LogShipper;
  startedReported: boolean;
  lastCheckpointEndMs: number;
  checkpointing: boolean;
  /** CRIU is dumping it right now (it cannot be paused meanwhile). */
  dumping: boolean;
  exit?: { code: number; error: string; startFailed: boolean; restoreFailed: boolean };
  reporting: boolean;
  /** Pages of the newest checkpoint of this job this worker knows, for newBytes. */
  lastPages?: { seq: number; pages: Map<string, number> };
  /** Set once the job is no longer ours: every background step checks it. */
  gone: boolean;
}

const RPC_TIMEOUT_MS = 5_000;

/** Registers with the scheduler, heartbeats, and runs, checkpoints and restores what it is assigned. */
export async function startWorker(opts: WorkerAgentOptions): Promise<WorkerHandle> {
  const agent = new WorkerAgent(opts);
  await agent.start();
  return {
    id: agent.id,
    incarnation: agent.incarnation,
    jobs: () => agent.view(),
    stop: (o) => agent.stop(o),
  };
}

function defaultRuntimes(workerId: string, log: Logger): ContainerRuntime[] {
  const out: ContainerRuntime[] = [];
  try {
    out.push(new RuncRuntime({ idPrefix: `stdchk-${workerId}-` }));
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

class WorkerAgent {
  readonly id: string;
  readonly incarnation = randomBytes(8).toString('hex');
  private readonly opts: WorkerAgentOptions;
  private readonly log: Logger;
  private readonly client: SchedulerClient;
  private readonly runtimes = new Map<JobKind, ContainerRuntime>();
  private readonly rootfs: RootfsCache;
  private readonly instancesDir: string;
  private readonly jobs = new Map<string, LocalJob>();
  private heartbeatIntervalMs = 1_000;
  private heartbeatTimeoutMs = 10_000;
  private leaseMs = 7_000;
  /** Until when the scheduler vouches for our assignments (from the send time of the last good heartbeat). */
  private leaseUntil = 0;
  private stopping = false;
  private loops: Promise<void>[] = [];
  private readonly wake = new AbortController();
  private lastShipMs = 0;

  constructor(opts: WorkerAgentOptions) {
    this.opts = opts;
    mkdirSync(opts.workDir, { recursive: true });
    this.id = workerIdFor(opts.workDir, opts.id);
    this.log = opts.logger.child({ worker: this.id });
    this.instancesDir = path.join(opts.workDir, 'instances');
    this.rootfs = new RootfsCache(path.join(opts.workDir, 'rootfs'));
    for (const r of opts.runtimes ?? defaultRuntimes(this.id, this.log)) this.runtimes.set(r.kind, r);
    if (this.runtimes.size === 0)
      throw new StdchkError(
        'UNAVAILABLE',
        'this machine can run no jobs (install runc and criu: scripts/setup.sh)',
      );
    this.client = connectScheduler(opts.schedulerAddress, { secret: opts.secret, tls: opts.tls });
  }

  async start(): Promise<void> {
    try {
      mkdirSync(path.join(this.opts.mount, 'jobs'), { recursive: true });
    } catch (e) {
      throw new StdchkError(
        'INVALID_ARGUMENT',
        `cannot use ${this.opts.mount} as the checkpoint storage: ${errorMessage(e)}`,
      );
    }
    // Whatever an earlier life of this worker left running is not ours any more.
    const killed = await killInstancesUnder(this.instancesDir);
    if (killed.length)
      this.log.warn({ instances: killed }, 'killed jobs left by an earlier run of this worker');
    await rm(this.instancesDir, { recursive: true, force: true });
    mkdirSync(this.instancesDir, { recursive: true });
    await this.register(true);
    this.loops.push(this.heartbeatLoop(), this.tickLoop());
  }

  view(): WorkerJobView[] {
    return [...this.jobs.values()].map((j) => ({
      jobId: j.jobId,
      epoch: j.epoch,
      phase: j.phase,
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
          .filter((j) => j.phase === 'running' && j.intervalSeconds > 0 && this.leaseValid())
          .map((j) => Promise.race([this.checkpoint(j), sleep(60_000)])),
      );
    }
    if (o.deregister ?? true) await Promise.allSettled(all.map((j) => this.shipLog(j)));
    await Promise.allSettled(all.map((j) => this.dropJob(j, 'worker stopping')));
    if (o.deregister ?? true) {
      await unary(
        this.client,
        'deregisterWorker',
        { workerId: this.id, incarnation: this.incarnation },
        { timeoutMs: 3_000 },
      ).catch((e: unknown) => this.log.warn({ err: errorMessage(e) }, 'could not deregister'));
    }
    this.client.close();
    this.log.info('worker stopped');
  }

  // ---- scheduler conversation ---------------------------------------------

  private async register(firstTime: boolean): Promise<void> {
    let delay = 200;
    for (;;) {
      const sent = Date.now();
      try {
        const r = await unary(
          this.client,
          'registerWorker',
          {
            workerId: this.id,
            incarnation: this.incarnation,
            host: this.opts.host ?? os.hostname(),
            slots: this.opts.slots ?? 1,
            kinds: [...this.runtimes.keys()],
          },
          { timeoutMs: RPC_TIMEOUT_MS },
        );
        this.heartbeatIntervalMs = r.heartbeatIntervalMs || 1_000;
        this.heartbeatTimeoutMs = r.heartbeatTimeoutMs || 10_000;
        this.leaseMs = r.leaseMs || Math.round(this.heartbeatTimeoutMs * 0.7);
        this.leaseUntil = sent + this.leaseMs;
        this.log.info(
          {
            scheduler: this.opts.schedulerAddress,
            slots: this.opts.slots ?? 1,
            kinds: [...this.runtimes.keys()],
            leaseMs: this.leaseMs,
          },
          'worker registered',
        );
        return;
      } catch (e) {
        if (isStdchkError(e, 'INVALID_ARGUMENT') || isStdchkError(e, 'UNAUTHENTICATED')) throw e;
        if (this.stopping) throw new StdchkError('UNAVAILABLE', 'stopped before registering');
        if (firstTime && delay === 200)
          this.log.warn({ err: errorMessage(e) }, 'scheduler not reachable yet; retrying');
        await sleep(delay, undefined, { signal: this.wake.signal }).catch(() => undefined);
        delay = Math.min(delay * 2, 2_000);
      }
    }
  }

  private leaseValid(): boolean {
    return Date.now() < this.leaseUntil;
  }

  private async heartbeatLoop(): Promise<void> {
    while (!this.stopping) {
      const sent = Date.now();
      try {
        const reply = await unary(
          this.client,
          'workerHeartbeat',
          { workerId: this.id, incarnation: this.incarnation, jobs: this.reports() },
          { timeoutMs: Math.min(RPC_TIMEOUT_MS, this.leaseMs / 2) },
        );
        if (this.stopping) break;
        if (reply.reregister) {
          this.log.warn('the scheduler does not know this worker: registering again');
          await this.register(false);
        } else {
          const wasExpired = !this.leaseValid();
          this.leaseUntil = sent + this.leaseMs;
          if (wasExpired) this.log.info('scheduler reachable again');
          await this.reconcile(reply.assignments);
        }
      } catch (e) {
        if (!this.stopping) this.log.debug({ err: errorMessage(e) }, 'heartbeat failed');
      }
      const wait = Math.max(0, this.heartbeatIntervalMs - (Date.now() - sent));
      await sleep(wait, undefined, { signal: this.wake.signal }).catch(() => undefined);
    }
  }

  private reports(): WorkerJob[] {
    return [...this.jobs.values()].map((j) => ({
      jobId: j.jobId,
      epoch: j.epoch,
      phase: j.phase,
      exitCode: j.exit?.code ?? 0,
      error: j.exit?.error ?? '',
    }));
  }

  /** Makes the local jobs match the scheduler's list: start what is new, stop what is not listed. */
  private async reconcile(assignments: Assignment__Output[]): Promise<void> {
    const wanted = new Map(assignments.map((a) => [a.jobId, a]));
    for (const j of [...this.jobs.values()]) {
      const a = wanted.get(j.jobId);
      if (!a || a.epoch !== j.epoch) {
        void this.dropJob(j, a ? `moved to epoch ${a.epoch}` : 'no longer assigned here');
      } else {
        j.intervalSeconds = a.intervalSeconds;
        j.lastSeq = Math.max(j.lastSeq, a.lastSeq);
        if (j.phase === 'paused') await this.resumeJob(j);
      }
    }
    for (const a of assignments) {
      if (this.jobs.has(a.jobId)) continue;
      let spec: JobSpec;
      try {
        spec = validateJobSpec(JSON.parse(a.specJson));
      } catch (e) {
        this.log.error({ job: a.jobId, err: errorMessage(e) }, 'unusable job spec from the scheduler');
        continue;
      }
      const name = `${a.jobId}.${a.epoch}`;
      const job: LocalJob = {
        jobId: a.jobId,
        epoch: a.epoch,
        spec,
        restoreSeq: a.restoreSeq,
        intervalSeconds: a.intervalSeconds,
        lastSeq: a.lastSeq,
        phase: a.restoreSeq > 0 ? 'restoring' : 'starting',
        name,
        dir: path.join(this.instancesDir, name),
        shipper: new LogShipper(
          path.join(this.instancesDir, name, 'output.log'),
          logSegment(this.opts.mount, a.jobId, a.epoch),
        ),
        startedReported: false,
        lastCheckpointEndMs: Date.now(),
        checkpointing: false,
        dumping: false,
        reporting: false,
        gone: false,
      };
      this.jobs.set(a.jobId, job);
      void this.launch(job);
    }
  }

  // ---- running jobs --------------------------------------------------------

  private runtimeFor(kind: JobKind): ContainerRuntime {
    const r = this.runtimes.get(kind);
    if (!r) throw new StdchkError('UNAVAILABLE', `this worker cannot run ${kind} jobs`);
    return r;
  }

  private async launch(job: LocalJob): Promise<void> {
    const t0 = performance.now();
    const restoring = job.restoreSeq > 0;
    try {
      await mkdir(job.dir, { recursive: true });
      const runtime = this.runtimeFor(job.spec.kind);
      const rootfs =
        job.spec.kind === 'container' ? (await this.rootfs.ensure(this.rootfsPath(job.spec))).dir : undefined;
      const base = {
        name: job.name,
        dir: job.dir,
        logFile: job.shipper.localLog,
        ...(rootfs ? { rootfs } : {}),
      };
      const processSpec = {
        args: job.spec.args,
        env: job.spec.env,
        ...(job.spec.cwd ? { cwd: job.spec.cwd } : {}),
      };
      let inst: JobInstance;
      if (restoring) {
        const imageDir = checkpointDir(this.opts.mount, job.jobId, job.restoreSeq);
        await this.checkMarker(job, imageDir);
        inst = await runtime.restore(processSpec, { ...base, imageDir });
      } else {
        inst = await runtime.start(processSpec, base);
      }
      if (job.gone) {
        await inst.kill();
        return;
      }
      job.instance = inst;
      job.phase = 'running';
      job.lastCheckpointEndMs = Date.now();
      const seconds = (performance.now() - t0) / 1000;
      this.log.info(
        {
          job: job.jobId,
          epoch: job.epoch,
          pid: inst.pid,
          restoredFrom: job.restoreSeq || undefined,
          seconds,
        },
        restoring ? 'job restored' : 'job started',
      );
      void inst.exited.then((exit) => this.onExit(job, exit));
      await this.reportStarted(job, seconds);
    } catch (e) {
      if (job.gone) return;
      this.log.error({ job: job.jobId, err: errorMessage(e) }, restoring ? 'restore failed' : 'start failed');
      job.phase = 'exited';
      job.exit = { code: 0, error: errorMessage(e), startFailed: !restoring, restoreFailed: restoring };
    }
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

  private async reportStarted(job: LocalJob, seconds: number): Promise<void> {
    for (let attempt = 0; !job.gone && !this.stopping; attempt++) {
      try {
        await unary(
          this.client,
          'reportJobStarted',
          { workerId: this.id, jobId: job.jobId, epoch: job.epoch, restoredFromSeq: job.restoreSeq, seconds },
          { timeoutMs: RPC_TIMEOUT_MS },
        );
        job.startedReported = true;
        return;
      } catch (e) {
        if (this.fencedBy(e)) {
          void this.dropJob(job, errorMessage(e));
          return;
        }
        await sleep(Math.min(2_000, 200 * 2 ** attempt));
      }
    }
  }

  private fencedBy(e: unknown): boolean {
    return isStdchkError(e, 'CONFLICT') || isStdchkError(e, 'NOT_FOUND');
  }

  private onExit(job: LocalJob, exit: ExitInfo): void {
    if (job.gone) return;
    job.phase = 'exited';
    job.exit = { code: exit.code, error: exit.error ?? '', startFailed: false, restoreFailed: false };
    this.log.info({ job: job.jobId, code: exit.code, error: exit.error }, 'job exited');
  }

  /** Tells the scheduler how the job ended (after shipping the rest of its log), then forgets it. */
  private async reportExit(job: LocalJob): Promise<void> {
    if (job.reporting || !job.exit) return;
    job.reporting = true;
    try {
      if (!job.exit.startFailed && !job.exit.restoreFailed) await job.shipper.drain();
      await unary(
        this.client,
        'reportJobExit',
        {
          workerId: this.id,
          jobId: job.jobId,
          epoch: job.epoch,
          exitCode: job.exit.code,
          error: job.exit.error,
          startFailed: job.exit.startFailed,
          restoreFailed: job.exit.restoreFailed,
          restoreSeq: job.restoreSeq,
        },
        { timeoutMs: RPC_TIMEOUT_MS },
      );
      await this.dropJob(job, 'exit reported');
    } catch (e) {
      if (this.fencedBy(e)) await this.dropJob(job, errorMessage(e));
      else this.log.debug({ job: job.jobId, err: errorMessage(e) }, 'exit report failed; will retry');
    } finally {
      job.reporting = false;
    }
  }

  /** Stops a job this worker must no longer run and deletes its local state. */
  private async dropJob(job: LocalJob, why: string): Promise<void> {
    if (job.gone) return;
    job.gone = true;
    if (this.jobs.get(job.jobId) === job) this.jobs.delete(job.jobId);
    if (job.instance?.isRunning()) this.log.warn({ job: job.jobId, epoch: job.epoch, why }, 'stopping job');
    try {
      await job.instance?.kill();
    } catch (e) {
      this.log.error({ job: job.jobId, err: errorMessage(e) }, 'could not kill job');
    }
    await rm(job.dir, { recursive: true, force: true }).catch(() => undefined);
  }

  private async pauseJob(job: LocalJob): Promise<void> {
    if ((job.phase !== 'running' && job.phase !== 'checkpointing') || !job.instance) return;
    try {
      await job.instance.pause();
      job.phase = 'paused';
      this.log.warn({ job: job.jobId }, 'lease expired (scheduler unreachable): job paused');
    } catch (e) {
      this.log.error({ job: job.jobId, err: errorMessage(e) }, 'could not pause job');
    }
  }

  private async resumeJob(job: LocalJob): Promise<void> {
    if (job.phase !== 'paused' || !job.instance) return;
    try {
      await job.instance.resume();
      job.phase = 'running';
      job.lastCheckpointEndMs = Math.max(job.lastCheckpointEndMs, Date.now() - job.intervalSeconds * 500);
      this.log.info({ job: job.jobId }, 'lease renewed: job resumed');
    } catch (e) {
      this.log.error({ job: job.jobId, err: errorMessage(e) }, 'could not resume job');
    }
  }

  // ---- periodic work: lease, checkpoints, logs, exit reports ---------------

  private async tickLoop(): Promise<void> {
    const every = 100;
    while (!this.stopping) {
      try {
        await this.tick();
      } catch (e) {
        this.log.error({ err: errorMessage(e) }, 'worker tick failed');
      }
      await sleep(every, undefined, { signal: this.wake.signal }).catch(() => undefined);
    }
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    const lease = this.leaseValid();
    const ship = now - this.lastShipMs >= (this.opts.logShipIntervalMs ?? 1_000);
    if (ship) this.lastShipMs = now;
    for (const job of [...this.jobs.values()]) {
      if (!lease) {
        // Cut off: the job may be moving elsewhere. Freeze it and write nothing for it.
        if ((job.phase === 'running' || job.phase === 'checkpointing') && !job.dumping)
          await this.pauseJob(job);
        continue;
      }
      if (job.phase === 'exited') {
        void this.reportExit(job);
        continue;
      }
      if (ship && (job.phase === 'running' || job.phase === 'checkpointing')) void this.shipLog(job);
      if (
        job.phase === 'running' &&
        job.startedReported &&
        !job.checkpointing &&
        job.intervalSeconds > 0 &&
        now - job.lastCheckpointEndMs >= job.intervalSeconds * 1000
      ) {
        void this.checkpoint(job);
      }
    }
  }

  private async shipLog(job: LocalJob): Promise<void> {
    if (job.gone || !this.leaseValid()) return;
    try {
      await job.shipper.ship();
    } catch (e) {
      this.log.warn({ job: job.jobId, err: errorMessage(e) }, 'could not copy the job log to the storage');
    }
  }

  /**
   * One checkpoint: reserve a seq (the scheduler checks we still hold the
   * job), dump into <mount>/jobs/<job>/<seq>/, write the marker last, report.
   */
  private async checkpoint(job: LocalJob): Promise<void> {
    if (job.checkpointing || !job.instance) return;
    job.checkpointing = true;
    let seq = 0;
    try {
      try {
        seq = Number(
          (
            await unary(
              this.client,
              'beginCheckpoint',
              { workerId: this.id, jobId: job.jobId, epoch: job.epoch },
              { timeoutMs: RPC_TIMEOUT_MS },
            )
          ).seq,
        );
      } catch (e) {
        if (this.fencedBy(e)) void this.dropJob(job, errorMessage(e));
        else job.lastCheckpointEndMs = Date.now() - Math.max(0, job.intervalSeconds * 1000 - 1_000); // retry in ~1 s
        return;
      }
      if (job.gone) return;
      const dir = checkpointDir(this.opts.mount, job.jobId, seq);
      let report: { ok: boolean; error: string; seconds: number; bytes: number; newBytes: number };
      try {
        if (job.phase !== 'running' || !this.leaseValid())
          throw new StdchkError('CONFLICT', `job is ${job.phase}, not running`);
        job.phase = 'checkpointing';
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true });
        await this.shipLog(job);
        job.dumping = true;
        let res;
        try {
          res = await job.instance.checkpoint(dir);
        } finally {
          job.dumping = false;
        }
        // Output written before the freeze must be in the storage before the
        // checkpoint counts: a restore re-emits only what was still in the pipe.
        await sleep(50);
        await job.shipper.flush();
        const pages = await pageHashes(dir);
        const previous =
          job.lastPages?.seq === job.lastSeq ? job.lastPages.pages : await this.pagesOf(job, job.lastSeq);
        const newBytes = newBytesBetween(previous, pages);
        // The folder barrier: every image committed on its replicas (a write-back mount's
        // close() returns before), or EIO if one could not be; only then the marker.
        await syncFolder(dir);
        if (!this.leaseValid() || job.gone) {
          throw new StdchkError('CONFLICT', 'lease lost during the checkpoint; not marking it complete');
        }
        const marker: CheckpointMarker = {
          job: job.jobId,
          seq,
          epoch: job.epoch,
          worker: this.id,
          kind: job.spec.kind,
          completedAt: new Date().toISOString(),
          seconds: res.seconds,
          bytes: res.bytes,
          logBytes: job.shipper.shippedBytes,
        };
        await writeDurably(path.join(dir, MARKER_FILE), JSON.stringify(marker, null, 1) + '\n');
        job.lastPages = { seq, pages };
        job.lastSeq = seq;
        report = { ok: true, error: '', seconds: res.seconds, bytes: res.bytes, newBytes };
        this.log.info(
          { job: job.jobId, seq, seconds: res.seconds, bytes: res.bytes, newBytes },
          'checkpoint written',
        );
      } catch (e) {
        report = { ok: false, error: errorMessage(e), seconds: 0, bytes: 0, newBytes: 0 };
        this.log.warn({ job: job.jobId, seq, err: errorMessage(e) }, 'checkpoint failed');
        await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      }
      if (job.phase === 'checkpointing') job.phase = 'running';
      job.lastCheckpointEndMs = Date.now();
      for (let attempt = 0; attempt < 5 && !job.gone; attempt++) {
        try {
          await unary(
            this.client,
            'reportCheckpoint',
            { workerId: this.id, jobId: job.jobId, epoch: job.epoch, seq, ...report },
            { timeoutMs: RPC_TIMEOUT_MS },
          );
          return;
        } catch (e) {
          if (this.fencedBy(e)) {
            void this.dropJob(job, errorMessage(e));
            return;
          }
          await sleep(500 * (attempt + 1));
        }
      }
    } finally {
      job.checkpointing = false;
      if (job.phase === 'checkpointing') job.phase = 'running';
    }
  }

  private async pagesOf(job: LocalJob, seq: number): Promise<Map<string, number> | undefined> {
    if (seq <= 0) return undefined;
    try {
      return await pageHashes(checkpointDir(this.opts.mount, job.jobId, seq));
    } catch {
      return undefined;
    }
  }
}

/** Writes a small file and fsyncs it before closing (on the stdchk mount, close commits). */
async function writeDurably(file: string, text: string): Promise<void> {
  const fh = await open(file, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
