import { randomBytes } from 'node:crypto';
import { StdchkError, errorMessage } from '../errors/index.ts';
import { show, workerId } from '../validation/index.ts';
import type { Logger } from '../logging/index.ts';
import { monotonicMs } from '../clock/index.ts';
import type { JobSpec } from '../jobs/spec.ts';
import { parseJobFile } from '../jobs/spec.ts';
import { JobUserPolicy } from '../jobs/users.ts';
import { chooseInterval } from './interval.ts';
import type { IntervalChoice } from './interval.ts';
import { checkJobId } from '../jobs/layout.ts';
import type { JobFiles } from './job-files.ts';
import type { SchedulerStore } from './store.ts';
import type { Assignment, CheckpointOutcome, ExitOutcome, WorkerJobPhase } from '../jobs/messages.ts';
import type {
  CheckpointRecord,
  GridRecord,
  JobRecord,
  JobView,
  RestoreRecord,
  WorkerRecord,
} from './records.ts';
import { newJobRecord, viewOf } from './records.ts';
import type { JobPhase } from './lifecycle.ts';
import { JOB_STATES, activityOf, isFinal, isPlaced, phaseFrom, stateOf, transition } from './lifecycle.ts';

export interface SchedulerOptions {
  store: SchedulerStore;
  files: JobFiles;
  logger: Logger;
  /** How often workers heartbeat (default 1 s). */
  heartbeatIntervalMs?: number;
  /** A worker silent this long is lost and its jobs move (default 10 s). */
  heartbeatTimeoutMs?: number;
  /** Worker lease: below the timeout so a cut-off worker pauses before its jobs move (default 70 %). */
  leaseMs?: number;
  /** Checkpoints of finished or cancelled jobs are deleted after this (default 60 s). */
  retentionGraceMs?: number;
  /** M for "auto" before any failure was observed (default 24 h). */
  defaultMtbfSeconds?: number;
  /** Failed starts/restores before a job fails for good (default 4). */
  maxFailedAttempts?: number;
  tickMs?: number;
  /** Wall clock (ms since the epoch) for the times users see (default Date.now). */
  now?: () => number;
  /**
   * Monotonic clock (ms) for every duration: heartbeat timeouts, worker
   * uptime (default CLOCK_MONOTONIC). A step of the wall clock must neither
   * declare live workers lost (their jobs would run twice) nor keep silent
   * ones alive.
   */
  monotonicNow?: () => number;
  /** Who jobs may run as: a job file naming another user is refused at submit (default: only `nobody`). */
  users?: JobUserPolicy;
  /** Told of checkpoints, starts and moves as they are recorded (src/metrics/scheduler.ts). */
  events?: SchedulerEvents;
}

/** What the scheduler tells an observer (metrics); called inside its lock, must not throw. */
export interface SchedulerEvents {
  /** A checkpoint reported: its record, or undefined when it failed. */
  checkpointed(job: JobView, checkpoint: CheckpointRecord | undefined): void;
  /** A job runs: `restore` set when it was restored or restarted after running elsewhere. */
  started(job: JobView, restore: RestoreRecord | undefined): void;
  /** A job went back to the queue; `lost`: its worker was declared lost (a failover follows). */
  requeued(job: JobView, lost: boolean): void;
}

export interface WorkerRegistration {
  workerId: string;
  incarnation: string;
  host: string;
  slots: number;
  kinds: string[];
  /** Jobs the worker already runs (a restarted agent found them on its machine). */
  jobs?: WorkerJobReport[];
}

/** What a worker says about a job it holds. */
export interface WorkerJobReport {
  jobId: string;
  epoch: number;
  phase: WorkerJobPhase;
  exitCode: number;
  error: string;
}

export interface CheckpointReport extends CheckpointOutcome {
  workerId: string;
  jobId: string;
  epoch: number;
}

export interface ExitReport extends ExitOutcome {
  workerId: string;
  jobId: string;
  epoch: number;
}

const MAX_LOG_WINDOW = 4 * 1024 * 1024;

/**
 * The grid scheduler's logic: jobs, workers, placement, failure detection,
 * fencing, checkpoint history and retention, the interval policy. No gRPC
 * here (service.ts translates). Every call runs under one lock and writes its
 * changes through the store before returning.
 */
export class Scheduler {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly workers = new Map<string, WorkerRecord>();
  private grid: GridRecord = { failures: 0, workerSeconds: 0 };
  private readonly opts: Required<Omit<SchedulerOptions, 'store' | 'files' | 'logger' | 'users' | 'events'>>;
  private readonly events: SchedulerEvents | undefined;
  private readonly users: JobUserPolicy;
  private readonly store: SchedulerStore;
  private readonly files: JobFiles;
  private readonly log: Logger;
  private lockTail: Promise<unknown> = Promise.resolve();
  private readonly dirtyJobs = new Set<JobRecord>();
  private readonly dirtyWorkers = new Set<WorkerRecord>();
  /** Grid counters must be saved with the next write. */
  private gridDirty = false;
  /** Grid counters changed (worker uptime) but need not be saved at once. */
  private gridChanged = false;
  /** Monotonic time of the last grid-counter save. */
  private gridSavedAt = 0;
  /** Monotonic time each worker was last heard from (in memory; a fresh grace on load). */
  private readonly lastSeen = new Map<string, number>();
  /** Monotonic time each placed job was assigned (in memory; reset on load). */
  private readonly assignedAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private deleting = false;
  private closed = false;

  private constructor(opts: SchedulerOptions) {
    const timeout = opts.heartbeatTimeoutMs ?? 10_000;
    this.opts = {
      heartbeatIntervalMs: opts.heartbeatIntervalMs ?? Math.min(1_000, Math.max(100, timeout / 5)),
      heartbeatTimeoutMs: timeout,
      leaseMs: opts.leaseMs ?? Math.round(timeout * 0.7),
      retentionGraceMs: opts.retentionGraceMs ?? 60_000,
      defaultMtbfSeconds: opts.defaultMtbfSeconds ?? 24 * 3600,
      maxFailedAttempts: opts.maxFailedAttempts ?? 4,
      tickMs: opts.tickMs ?? 250,
      now: opts.now ?? Date.now,
      monotonicNow: opts.monotonicNow ?? monotonicMs,
    };
    if (this.opts.leaseMs >= timeout) {
      throw new StdchkError(
        'INVALID_ARGUMENT',
        'the worker lease must be shorter than the heartbeat timeout',
      );
    }
    this.store = opts.store;
    this.files = opts.files;
    this.log = opts.logger;
    this.users = opts.users ?? new JobUserPolicy();
    this.events = opts.events;
  }

  /** Loads the saved state. Workers get a fresh heartbeat grace from now: the scheduler's own downtime is no failure. */
  static async open(opts: SchedulerOptions): Promise<Scheduler> {
    const s = new Scheduler(opts);
    const state = await opts.store.load();
    const now = s.opts.now();
    const mono = s.opts.monotonicNow();
    for (const j of state.jobs) {
      s.jobs.set(j.id, migrated(j));
      if (isPlaced(j.phase)) s.assignedAt.set(j.id, mono);
    }
    for (const w of state.workers) {
      w.lastSeenMs = now;
      s.lastSeen.set(w.id, mono);
      s.workers.set(w.id, w);
    }
    s.grid = state.grid;
    s.gridSavedAt = mono;
    return s;
  }

  get settings() {
    return { ...this.opts };
  }

  /** Starts the periodic work (failure detection, placement, deletions). */
  start(): void {
    this.timer = setInterval(() => void this.tick(), this.opts.tickMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.locked(async () => {
      if (this.gridChanged) this.gridDirty = true;
    });
    await this.lockTail.catch(() => undefined);
  }

  // ---- users ---------------------------------------------------------------

  async submit(specText: string): Promise<JobView> {
    const spec = parseJobFile(specText);
    if (spec.user !== undefined) await this.users.resolve(spec.user);
    return this.locked(() => {
      const id = this.newJobId(spec.name);
      const now = this.opts.now();
      const job = newJobRecord(id, spec, this.intervalFor(spec, []), now);
      this.jobs.set(id, job);
      this.dirtyJobs.add(job);
      this.log.info({ job: id, name: spec.name, kind: spec.kind }, 'job submitted');
      this.place();
      return viewOf(job);
    });
  }

  list(states: string[] = []): JobView[] {
    for (const s of states) {
      if (!(JOB_STATES as readonly string[]).includes(s)) {
        throw new StdchkError(
          'INVALID_ARGUMENT',
          `unknown job state ${show(s)} (known: ${JOB_STATES.join(', ')})`,
        );
      }
    }
    return [...this.jobs.values()]
      .filter((j) => states.length === 0 || states.includes(stateOf(j.phase)))
      .sort((a, b) => a.submittedAtMs - b.submittedAtMs || (a.id < b.id ? -1 : 1))
      .map(viewOf);
  }

  get(id: string): JobView {
    return viewOf(this.record(id));
  }

  cancel(id: string): Promise<JobView> {
    return this.locked(() => {
      const job = this.record(id);
      if (isFinal(job.phase)) {
        throw new StdchkError('CONFLICT', `job ${id} is already ${job.phase}`, { retryable: false });
      }
      const now = this.opts.now();
      transition(job, 'cancelled');
      job.epoch++; // fences whichever worker holds it
      job.lostFrom = '';
      job.finishedAtMs = now;
      job.cleanupAtMs = now + this.opts.retentionGraceMs;
      this.dirtyJobs.add(job);
      this.log.info({ job: id, worker: job.worker }, 'job cancelled');
      this.place();
      return viewOf(job);
    });
  }

  async logs(
    id: string,
    offset: number,
    maxBytes: number,
  ): Promise<{ data: Buffer; offset: number; size: number; finished: boolean }> {
    const job = this.record(id);
    const finished = isFinal(job.phase);
    const max = maxBytes > 0 ? Math.min(maxBytes, MAX_LOG_WINDOW) : MAX_LOG_WINDOW;
    const { data, size } = await this.files.readLog(job.id, offset, max);
    return { data, offset, size, finished };
  }

  listWorkers(): { workers: (WorkerRecord & { jobs: string[] })[]; grid: GridRecord } {
    const byWorker = new Map<string, string[]>();
    for (const j of this.jobs.values()) {
      if (isPlaced(j.phase)) byWorker.set(j.worker, [...(byWorker.get(j.worker) ?? []), j.id]);
    }
    return {
      workers: [...this.workers.values()]
        .sort((a, b) => (a.id < b.id ? -1 : 1))
        .map((w) => ({ ...w, jobs: byWorker.get(w.id) ?? [] })),
      grid: { ...this.grid },
    };
  }

  // ---- workers -------------------------------------------------------------

  async registerWorker(
    reg: WorkerRegistration,
  ): Promise<{ heartbeatIntervalMs: number; heartbeatTimeoutMs: number; leaseMs: number }> {
    workerId(reg.workerId);
    if (!reg.incarnation) throw new StdchkError('INVALID_ARGUMENT', 'worker incarnation is empty');
    if (!Number.isInteger(reg.slots) || reg.slots < 1 || reg.slots > 1024) {
      throw new StdchkError('INVALID_ARGUMENT', `worker slots must be 1-1024, not ${reg.slots}`);
    }
    return this.locked(() => {
      const now = this.opts.now();
      const old = this.workers.get(reg.workerId);
      // What it still runs at the job's current epoch stays with it (a restarted
      // agent found the job on its machine: nothing ran twice, nothing to restore).
      const still = new Set(
        (reg.jobs ?? []).filter((r) => this.jobs.get(r.jobId)?.epoch === r.epoch).map((r) => r.jobId),
      );
      if (old && old.incarnation !== reg.incarnation) {
        // A restarted worker: whatever else its previous life ran is gone.
        this.releaseJobsOf(old.id, `worker ${old.id} restarted`, false, still);
      }
      const w: WorkerRecord = {
        id: reg.workerId,
        host: reg.host,
        slots: reg.slots,
        kinds: reg.kinds.filter((k) => k === 'container' || k === 'process'),
        incarnation: reg.incarnation,
        registeredAtMs: old && old.incarnation === reg.incarnation ? old.registeredAtMs : now,
        alive: true,
        lastSeenMs: now,
      };
      this.workers.set(w.id, w);
      this.lastSeen.set(w.id, this.opts.monotonicNow());
      this.dirtyWorkers.add(w);
      this.log.info({ worker: w.id, host: w.host, slots: w.slots, kinds: w.kinds }, 'worker registered');
      for (const r of reg.jobs ?? []) {
        const job = this.jobs.get(r.jobId);
        if (!job || job.epoch !== r.epoch) continue;
        if (this.keepOnReturn(job, w, r)) continue;
        if (job.worker === w.id && isPlaced(job.phase))
          this.log.info(
            { job: job.id, worker: w.id, epoch: job.epoch },
            'job stays with its restarted worker',
          );
      }
      this.place();
      return {
        heartbeatIntervalMs: this.opts.heartbeatIntervalMs,
        heartbeatTimeoutMs: this.opts.heartbeatTimeoutMs,
        leaseMs: this.opts.leaseMs,
      };
    });
  }

  heartbeat(
    workerId: string,
    incarnation: string,
    reports: WorkerJobReport[],
  ): Promise<{ reregister: boolean; assignments: Assignment[] }> {
    return this.locked(() => {
      const w = this.workers.get(workerId);
      if (!w) return { reregister: true, assignments: [] };
      if (w.incarnation !== incarnation) {
        // An older life of a worker that has registered again since: it holds nothing.
        return { reregister: false, assignments: [] };
      }
      const mono = this.opts.monotonicNow();
      if (w.alive) {
        const since = mono - (this.lastSeen.get(w.id) ?? mono);
        this.grid.workerSeconds += Math.min(since, this.opts.heartbeatTimeoutMs) / 1000;
        this.gridChanged = true;
      } else {
        w.alive = true;
        this.dirtyWorkers.add(w);
        this.log.warn({ worker: w.id }, 'lost worker is back');
      }
      w.lastSeenMs = this.opts.now();
      this.lastSeen.set(w.id, mono);

      const reported = new Set<string>();
      for (const r of reports) {
        reported.add(r.jobId);
        const job = this.jobs.get(r.jobId);
        if (!job || job.epoch !== r.epoch) continue;
        if (this.keepOnReturn(job, w, r)) continue;
        if (job.worker !== w.id || !isPlaced(job.phase)) continue;
        // Exits come through ReportJobExit, which the worker retries until it is heard.
        const starting = job.phase === 'starting' || job.phase === 'restoring';
        if (starting && (r.phase === 'running' || r.phase === 'checkpointing')) {
          this.applyStarted(job, job.restoreSeq, 0);
        }
      }
      // A job the worker should hold but does not report, long after it was assigned: it lost it.
      for (const job of this.jobs.values()) {
        if (job.worker !== w.id || !isPlaced(job.phase) || reported.has(job.id)) continue;
        if (mono - (this.assignedAt.get(job.id) ?? mono) > 5 * this.opts.heartbeatIntervalMs + 10_000) {
          this.requeue(job, `worker ${w.id} no longer runs it`, false);
        }
      }
      this.place();
      return { reregister: false, assignments: this.assignmentsOf(w.id) };
    });
  }

  beginCheckpoint(workerId: string, jobId: string, epoch: number): Promise<number> {
    return this.locked(() => {
      const job = this.held(workerId, jobId, epoch);
      if (job.phase !== 'running' && job.phase !== 'checkpointing') {
        throw new StdchkError(
          'UNAVAILABLE',
          `job ${jobId} is ${activityOf(job.phase) || stateOf(job.phase)}; checkpoint once it runs`,
        );
      }
      if (job.spec.checkpoint.policy === 'off') {
        throw new StdchkError('CONFLICT', `job ${jobId} has checkpoints off`, { retryable: false });
      }
      const seq = job.nextSeq++;
      job.pending.push({ seq, epoch, worker: workerId, beganAtMs: this.opts.now() });
      transition(job, 'checkpointing');
      this.dirtyJobs.add(job);
      return seq;
    });
  }

  reportCheckpoint(r: CheckpointReport): Promise<void> {
    return this.locked(() => {
      const job = this.jobs.get(checkJobId(r.jobId));
      if (!job) throw new StdchkError('NOT_FOUND', `no job ${r.jobId}`);
      const pendingIdx = job.pending.findIndex((p) => p.seq === r.seq);
      const current = job.worker === r.workerId && job.epoch === r.epoch && isPlaced(job.phase);
      if (!current || pendingIdx < 0) {
        // A checkpoint from a timeline that was abandoned: its folder goes. Only
        // a seq that was handed out can have a folder: anything else is ignored
        // (a made-up seq would sit in toDelete forever, failing every retry).
        if (pendingIdx >= 0) job.pending.splice(pendingIdx, 1);
        const reserved = Number.isSafeInteger(r.seq) && r.seq >= 1 && r.seq < job.nextSeq;
        if (reserved && !job.toDelete.includes(r.seq) && !job.checkpoints.some((c) => c.seq === r.seq))
          job.toDelete.push(r.seq);
        this.dirtyJobs.add(job);
        throw this.fenced(job, r.workerId, r.epoch);
      }
      job.pending.splice(pendingIdx, 1);
      if (job.phase === 'checkpointing') transition(job, 'running');
      const now = this.opts.now();
      if (!r.ok) {
        job.lastCheckpointError = `checkpoint ${r.seq} failed on ${r.workerId}: ${r.error}`;
        job.toDelete.push(r.seq);
        this.dirtyJobs.add(job);
        this.log.warn({ job: job.id, seq: r.seq, worker: r.workerId, err: r.error }, 'checkpoint failed');
        this.events?.checkpointed(viewOf(job), undefined);
        return;
      }
      const record: CheckpointRecord = {
        seq: r.seq,
        completedAtMs: now,
        seconds: r.seconds,
        bytes: r.bytes,
        newBytes: r.newBytes,
        worker: r.workerId,
        epoch: r.epoch,
      };
      job.checkpoints.push(record);
      this.events?.checkpointed(viewOf(job), record);
      job.checkpoints.sort((a, b) => a.seq - b.seq);
      job.checkpointsTaken++;
      job.lastCheckpointAtMs = now;
      job.lastCheckpointError = '';
      job.costs = [...job.costs, r.seconds].slice(-10);
      job.interval = this.intervalFor(job.spec, job.costs);
      // Retention: keep the newest `keep` complete checkpoints (never fewer than one).
      const keep = Math.max(1, job.spec.checkpoint.keep);
      while (job.checkpoints.length > keep) {
        const old = job.checkpoints.shift() as NonNullable<(typeof job.checkpoints)[number]>;
        job.toDelete.push(old.seq);
      }
      this.dirtyJobs.add(job);
      this.log.info(
        {
          job: job.id,
          seq: r.seq,
          seconds: r.seconds,
          bytes: r.bytes,
          newBytes: r.newBytes,
          interval: job.interval.seconds,
        },
        'checkpoint complete',
      );
    });
  }

  reportStarted(
    workerId: string,
    jobId: string,
    epoch: number,
    restoredFromSeq: number,
    seconds: number,
  ): Promise<void> {
    return this.locked(() => {
      const job = this.held(workerId, jobId, epoch);
      this.applyStarted(job, restoredFromSeq, seconds);
    });
  }

  reportExit(r: ExitReport): Promise<void> {
    return this.locked(() => {
      const job = this.held(r.workerId, r.jobId, r.epoch);
      this.applyExit(job, r);
      this.place();
    });
  }

  deregister(workerId: string, incarnation: string): Promise<void> {
    return this.locked(() => {
      const w = this.workers.get(workerId);
      if (!w || w.incarnation !== incarnation) return;
      w.alive = false;
      this.dirtyWorkers.add(w);
      this.releaseJobsOf(w.id, `worker ${w.id} left`, false);
      this.log.info({ worker: w.id }, 'worker deregistered');
      this.place();
    });
  }

  // ---- periodic work -------------------------------------------------------

  /** Failure detection, placement, cleanup; exposed for tests. */
  async tick(): Promise<void> {
    if (this.ticking || this.closed) return;
    this.ticking = true;
    try {
      await this.locked(() => {
        const now = this.opts.now();
        const mono = this.opts.monotonicNow();
        for (const w of this.workers.values()) {
          const silentMs = mono - (this.lastSeen.get(w.id) ?? mono);
          if (w.alive && silentMs > this.opts.heartbeatTimeoutMs) {
            w.alive = false;
            this.dirtyWorkers.add(w);
            this.grid.failures++;
            this.grid.workerSeconds += this.opts.heartbeatTimeoutMs / 1000;
            this.gridDirty = true;
            this.log.warn({ worker: w.id, silentMs }, 'worker lost');
            this.releaseJobsOf(
              w.id,
              `worker ${w.id} lost (no heartbeat for ${(this.opts.heartbeatTimeoutMs / 1000).toFixed(0)} s)`,
              true,
            );
            // Observed MTBF changed: recompute the automatic intervals.
            for (const j of this.jobs.values()) {
              if (!isFinal(j.phase) && j.spec.checkpoint.policy === 'auto') {
                j.interval = this.intervalFor(j.spec, j.costs);
                this.dirtyJobs.add(j);
              }
            }
          }
        }
        for (const j of this.jobs.values()) {
          if (j.cleanupAtMs > 0 && now >= j.cleanupAtMs) {
            j.toDelete.push(...j.checkpoints.map((c) => c.seq), ...j.pending.map((p) => p.seq));
            j.checkpoints = [];
            j.pending = [];
            j.cleanupAtMs = 0;
            this.dirtyJobs.add(j);
          }
        }
        if (this.gridChanged && mono - this.gridSavedAt > 10_000) this.gridDirty = true;
        this.place();
      });
      void this.runDeletions();
    } catch (e) {
      this.log.error({ err: e }, `scheduler tick failed: ${errorMessage(e)}`);
    } finally {
      this.ticking = false;
    }
  }

  /** Deletes checkpoint folders retention or cleanup released, outside the lock. */
  async runDeletions(): Promise<void> {
    if (this.deleting) return;
    this.deleting = true;
    try {
      const work = [...this.jobs.values()]
        .filter((j) => j.toDelete.length > 0)
        .map((j) => ({ id: j.id, seqs: [...j.toDelete] }));
      for (const { id, seqs } of work) {
        for (const seq of seqs) {
          try {
            await this.files.removeCheckpoint(id, seq);
          } catch (e) {
            this.log.warn(
              { job: id, seq, err: errorMessage(e) },
              'could not delete a checkpoint; will retry',
            );
            continue;
          }
          await this.locked(() => {
            const j = this.jobs.get(id);
            if (!j) return;
            const i = j.toDelete.indexOf(seq);
            if (i >= 0) {
              j.toDelete.splice(i, 1);
              j.checkpointsDeleted++;
              this.dirtyJobs.add(j);
            }
          });
          this.log.info({ job: id, seq }, 'checkpoint deleted');
        }
      }
    } finally {
      this.deleting = false;
    }
  }

  // ---- internals -----------------------------------------------------------

  private newJobId(name: string): string {
    const base =
      name
        .replace(/[^A-Za-z0-9_.-]/g, '-')
        .replace(/\.\.+/g, '.')
        .slice(0, 40) || 'job';
    for (;;) {
      const id = `${base}-${randomBytes(3).toString('hex')}`;
      if (!this.jobs.has(id)) return id;
    }
  }

  private intervalFor(spec: JobSpec, costs: number[]): IntervalChoice {
    return chooseInterval({
      policy: spec.checkpoint,
      costs,
      history: this.grid,
      defaultMtbfSeconds: this.opts.defaultMtbfSeconds,
    });
  }

  private record(id: string): JobRecord {
    const job = this.jobs.get(checkJobId(id));
    if (!job) throw new StdchkError('NOT_FOUND', `no job ${id}`);
    return job;
  }

  /** The job, if `workerId` holds it at `epoch`; otherwise the fencing error. */
  private held(workerId: string, jobId: string, epoch: number): JobRecord {
    const job = this.record(jobId);
    if (job.worker !== workerId || job.epoch !== epoch || !isPlaced(job.phase)) {
      throw this.fenced(job, workerId, epoch);
    }
    return job;
  }

  private fenced(job: JobRecord, workerId: string, epoch: number): StdchkError {
    const where = isPlaced(job.phase) ? `on ${job.worker} at epoch ${job.epoch}` : stateOf(job.phase);
    return new StdchkError(
      'CONFLICT',
      `fenced: ${workerId} no longer holds job ${job.id} (epoch ${epoch}; the job is ${where})`,
      {
        retryable: false,
      },
    );
  }

  private applyStarted(job: JobRecord, restoredFromSeq: number, seconds: number): void {
    const now = this.opts.now();
    const wasStartedBefore = job.startedAtMs > 0;
    if (job.phase === 'starting' || job.phase === 'restoring') {
      let restore: RestoreRecord | undefined;
      if (restoredFromSeq > 0 || wasStartedBefore) {
        restore = {
          fromSeq: restoredFromSeq,
          worker: job.worker,
          atMs: now,
          seconds,
          fromWorker: job.previousWorker,
          reason: job.requeueReason || (restoredFromSeq > 0 ? 'restored' : 'restarted'),
        };
        job.restores.push(restore);
      }
      transition(job, 'running');
      this.events?.started(viewOf(job), restore);
      job.requeueReason = '';
      if (!wasStartedBefore) job.startedAtMs = now;
      this.dirtyJobs.add(job);
      this.log.info(
        { job: job.id, worker: job.worker, epoch: job.epoch, restoredFromSeq, seconds },
        'job running',
      );
    }
  }

  private applyExit(job: JobRecord, r: Omit<ExitReport, 'workerId' | 'jobId' | 'epoch'>): void {
    const now = this.opts.now();
    this.dirtyJobs.add(job);
    if (r.restoreFailed || r.startFailed) {
      job.failedAttempts++;
      const what = r.restoreFailed ? `restore from checkpoint ${r.restoreSeq}` : 'start';
      job.error = `${what} failed on ${job.worker}: ${r.error}`;
      if (r.restoreFailed && r.restoreSeq > 0 && !job.badSeqs.includes(r.restoreSeq))
        job.badSeqs.push(r.restoreSeq);
      this.log.warn(
        { job: job.id, worker: job.worker, err: r.error, attempts: job.failedAttempts },
        `${what} failed`,
      );
      if (job.failedAttempts >= this.opts.maxFailedAttempts) {
        this.finish(job, 'failed', now);
        return;
      }
      this.requeue(job, job.error, false);
      return;
    }
    job.exitCode = r.exitCode;
    if (r.error) job.error = r.error;
    this.finish(job, r.exitCode === 0 && !r.error ? 'done' : 'failed', now);
    this.log.info({ job: job.id, worker: job.worker, exitCode: r.exitCode }, `job ${job.phase}`);
  }

  private finish(job: JobRecord, phase: 'done' | 'failed', now: number): void {
    transition(job, phase);
    job.finishedAtMs = now;
    job.lostFrom = '';
    job.cleanupAtMs = now + this.opts.retentionGraceMs;
    // Checkpoints begun but never completed go now.
    job.toDelete.push(...job.pending.map((p) => p.seq));
    job.pending = [];
    this.dirtyJobs.add(job);
  }

  /** Puts a placed job back in the queue. `returnable`: its worker may take it back at the same epoch. */
  private requeue(job: JobRecord, reason: string, returnable: boolean): void {
    job.previousWorker = job.worker;
    job.lostFrom = returnable ? job.worker : '';
    job.worker = '';
    transition(job, 'queued');
    job.requeueReason = reason;
    this.dirtyJobs.add(job);
    if (!returnable) job.epoch++; // fence the old holder now
    this.log.info({ job: job.id, reason }, 'job queued again');
    this.events?.requeued(viewOf(job), returnable);
  }

  /**
   * Puts the worker's jobs back in the queue, but those in `keep` (it still
   * runs them at their current epoch).
   */
  private releaseJobsOf(workerId: string, reason: string, returnable: boolean, keep?: Set<string>): void {
    for (const job of this.jobs.values()) {
      if (keep?.has(job.id)) continue;
      if (job.worker === workerId && isPlaced(job.phase)) this.requeue(job, reason, returnable);
      else if (job.lostFrom === workerId && !returnable) job.lostFrom = '';
    }
  }

  /**
   * A lost worker is back before its job moved (the job is queued, returnable
   * to it, at the epoch it runs): it keeps it, at the same epoch. Nothing ran
   * twice: the job was placed nowhere else meanwhile.
   */
  private keepOnReturn(job: JobRecord, w: WorkerRecord, r: WorkerJobReport): boolean {
    if (job.phase !== 'queued' || job.lostFrom !== w.id || r.phase === 'exited') return false;
    transition(job, keptPhase(r.phase));
    job.worker = w.id;
    job.lostFrom = '';
    job.requeueReason = '';
    this.assignedAt.set(job.id, this.opts.monotonicNow());
    this.dirtyJobs.add(job);
    this.log.info({ job: job.id, worker: w.id, epoch: job.epoch }, 'job stays on its returning worker');
    return true;
  }

  private newestUsableCheckpoint(job: JobRecord): number {
    for (let i = job.checkpoints.length - 1; i >= 0; i--) {
      const c = job.checkpoints[i] as (typeof job.checkpoints)[number];
      if (!job.badSeqs.includes(c.seq)) return c.seq;
    }
    return 0;
  }

  /** Places queued jobs, oldest first, on the live worker with the most free slots. */
  private place(): void {
    const used = new Map<string, number>();
    for (const j of this.jobs.values()) {
      if (isPlaced(j.phase)) used.set(j.worker, (used.get(j.worker) ?? 0) + j.spec.resources.slots);
    }
    const queued = [...this.jobs.values()]
      .filter((j) => j.phase === 'queued')
      .sort((a, b) => a.submittedAtMs - b.submittedAtMs || (a.id < b.id ? -1 : 1));
    for (const job of queued) {
      let best: WorkerRecord | undefined;
      let bestFree = -1;
      for (const w of this.workers.values()) {
        if (!w.alive || !w.kinds.includes(job.spec.kind)) continue;
        const free = w.slots - (used.get(w.id) ?? 0);
        if (free < job.spec.resources.slots) continue;
        if (free > bestFree || (free === bestFree && best && w.id < best.id)) {
          best = w;
          bestFree = free;
        }
      }
      if (!best) continue;
      used.set(best.id, (used.get(best.id) ?? 0) + job.spec.resources.slots);
      this.assign(job, best);
    }
  }

  private assign(job: JobRecord, w: WorkerRecord): void {
    job.epoch++;
    job.worker = w.id;
    job.lostFrom = '';
    job.assignedAtMs = this.opts.now();
    this.assignedAt.set(job.id, this.opts.monotonicNow());
    job.restoreSeq = this.newestUsableCheckpoint(job);
    transition(job, job.restoreSeq > 0 ? 'restoring' : 'starting');
    // Checkpoints begun under an earlier epoch will never complete.
    job.toDelete.push(...job.pending.map((p) => p.seq));
    job.pending = [];
    this.dirtyJobs.add(job);
    this.log.info({ job: job.id, worker: w.id, epoch: job.epoch, restoreSeq: job.restoreSeq }, 'job placed');
  }

  private assignmentsOf(workerId: string): Assignment[] {
    const out: Assignment[] = [];
    for (const job of this.jobs.values()) {
      if (job.worker !== workerId || !isPlaced(job.phase)) continue;
      out.push({
        jobId: job.id,
        epoch: job.epoch,
        spec: job.spec,
        restoreSeq: job.restoreSeq,
        intervalSeconds: job.interval.seconds,
        lastSeq: job.checkpoints.length
          ? (job.checkpoints[job.checkpoints.length - 1] as { seq: number }).seq
          : 0,
      });
    }
    return out;
  }

  /** Runs `fn` alone, then writes what it changed (one synced batch) before resolving. */
  private locked<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const result = await fn();
      await this.flush();
      return result;
    };
    const p = this.lockTail.then(run, run);
    this.lockTail = p.catch(() => undefined);
    return p;
  }

  private async flush(): Promise<void> {
    const jobs = [...this.dirtyJobs];
    const workers = [...this.dirtyWorkers];
    // Uptime counters ride along with other writes, or go every 10 s (tick).
    const saveGrid = this.gridDirty || (this.gridChanged && (jobs.length > 0 || workers.length > 0));
    this.dirtyJobs.clear();
    this.dirtyWorkers.clear();
    if (jobs.length === 0 && workers.length === 0 && !saveGrid) return;
    if (saveGrid) {
      this.gridDirty = false;
      this.gridChanged = false;
      this.gridSavedAt = this.opts.monotonicNow();
    }
    try {
      await this.store.save({ jobs, workers, ...(saveGrid ? { grid: this.grid } : {}) });
    } catch (e) {
      for (const j of jobs) this.dirtyJobs.add(j);
      for (const w of workers) this.dirtyWorkers.add(w);
      if (saveGrid) this.gridDirty = true;
      throw new StdchkError('UNAVAILABLE', `cannot save scheduler state: ${errorMessage(e)}`, { cause: e });
    }
  }
}

/** The phase of a job its lost worker keeps, from what that worker reports. */
function keptPhase(reported: WorkerJobPhase): JobPhase {
  return reported === 'starting' || reported === 'restoring' ? reported : 'running';
}

/** A record saved before job phases existed had `state` and `activity` instead. */
function migrated(job: JobRecord): JobRecord {
  const old = job as JobRecord & { state?: string; activity?: string };
  if (old.phase === undefined) {
    old.phase = phaseFrom(old.state ?? '', old.activity ?? '');
    delete old.state;
    delete old.activity;
  }
  return job;
}
