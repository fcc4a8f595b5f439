import { randomBytes } from 'node:crypto';
import { StdchkError, errorMessage } from '../errors/index.ts';
import { show, workerId } from '../validation/index.ts';
import type { Logger } from '../logging/index.ts';
import type { JobSpec } from './job-spec.ts';
import { parseJobFile } from './job-spec.ts';
import { JobUserPolicy } from './job-users.ts';
import { chooseInterval } from './interval.ts';
import type { IntervalChoice } from './interval.ts';
import { checkJobId } from './layout.ts';
import type { JobFiles } from './job-files.ts';
import type { SchedulerStore } from './store.ts';
import type { GridRecord, JobRecord, JobState, WorkerRecord } from './records.ts';
import { FINAL_STATES, JOB_STATES, PLACED_STATES } from './records.ts';

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
  now?: () => number;
  /** Who jobs may run as: a job file naming another user is refused at submit (default: only `nobody`). */
  users?: JobUserPolicy;
}

export interface WorkerRegistration {
  workerId: string;
  incarnation: string;
  host: string;
  slots: number;
  kinds: string[];
}

/** What a worker says about a job it holds. */
export type WorkerPhase = 'starting' | 'restoring' | 'running' | 'checkpointing' | 'paused' | 'exited';

export interface WorkerJobReport {
  jobId: string;
  epoch: number;
  phase: string;
  exitCode: number;
  error: string;
}

export interface Assignment {
  jobId: string;
  epoch: number;
  spec: JobSpec;
  restoreSeq: number;
  intervalSeconds: number;
  lastSeq: number;
}

export interface CheckpointReport {
  workerId: string;
  jobId: string;
  epoch: number;
  seq: number;
  ok: boolean;
  error: string;
  seconds: number;
  bytes: number;
  newBytes: number;
}

export interface ExitReport {
  workerId: string;
  jobId: string;
  epoch: number;
  exitCode: number;
  error: string;
  startFailed: boolean;
  restoreFailed: boolean;
  restoreSeq: number;
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
  private readonly opts: Required<Omit<SchedulerOptions, 'store' | 'files' | 'logger' | 'users'>>;
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
  private gridSavedAtMs = 0;
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
  }

  /** Loads the saved state. Workers get a fresh heartbeat grace from now: the scheduler's own downtime is no failure. */
  static async open(opts: SchedulerOptions): Promise<Scheduler> {
    const s = new Scheduler(opts);
    const state = await opts.store.load();
    const now = s.opts.now();
    for (const j of state.jobs) s.jobs.set(j.id, j);
    for (const w of state.workers) {
      w.lastSeenMs = now;
      s.workers.set(w.id, w);
    }
    s.grid = state.grid;
    s.gridSavedAtMs = now;
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

  async submit(specText: string): Promise<JobRecord> {
    const spec = parseJobFile(specText);
    if (spec.user !== undefined) await this.users.resolve(spec.user);
    return this.locked(() => {
      const id = this.newJobId(spec.name);
      const now = this.opts.now();
      const job: JobRecord = {
        id,
        spec,
        state: 'queued',
        activity: '',
        worker: '',
        epoch: 0,
        assignedAtMs: 0,
        restoreSeq: 0,
        lostFrom: '',
        requeueReason: '',
        previousWorker: '',
        nextSeq: 1,
        checkpoints: [],
        pending: [],
        toDelete: [],
        badSeqs: [],
        checkpointsTaken: 0,
        checkpointsDeleted: 0,
        costs: [],
        interval: this.intervalFor(spec, []),
        restores: [],
        error: '',
        lastCheckpointError: '',
        submittedAtMs: now,
        startedAtMs: 0,
        finishedAtMs: 0,
        lastCheckpointAtMs: 0,
        failedAttempts: 0,
        cleanupAtMs: 0,
      };
      this.jobs.set(id, job);
      this.dirtyJobs.add(job);
      this.log.info({ job: id, name: spec.name, kind: spec.kind }, 'job submitted');
      this.place();
      return job;
    });
  }

  list(states: string[] = []): JobRecord[] {
    for (const s of states) {
      if (!(JOB_STATES as readonly string[]).includes(s)) {
        throw new StdchkError(
          'INVALID_ARGUMENT',
          `unknown job state ${show(s)} (known: ${JOB_STATES.join(', ')})`,
        );
      }
    }
    return [...this.jobs.values()]
      .filter((j) => states.length === 0 || states.includes(j.state))
      .sort((a, b) => a.submittedAtMs - b.submittedAtMs || (a.id < b.id ? -1 : 1));
  }

  get(id: string): JobRecord {
    const job = this.jobs.get(checkJobId(id));
    if (!job) throw new StdchkError('NOT_FOUND', `no job ${id}`);
    return job;
  }

  cancel(id: string): Promise<JobRecord> {
    return this.locked(() => {
      const job = this.get(id);
      if (FINAL_STATES.has(job.state)) {
        throw new StdchkError('CONFLICT', `job ${id} is already ${job.state}`, { retryable: false });
      }
      const now = this.opts.now();
      job.state = 'cancelled';
      job.activity = '';
      job.epoch++; // fences whichever worker holds it
      job.lostFrom = '';
      job.finishedAtMs = now;
      job.cleanupAtMs = now + this.opts.retentionGraceMs;
      this.dirtyJobs.add(job);
      this.log.info({ job: id, worker: job.worker }, 'job cancelled');
      this.place();
      return job;
    });
  }

  async logs(
    id: string,
    offset: number,
    maxBytes: number,
  ): Promise<{ data: Buffer; offset: number; size: number; finished: boolean }> {
    const job = this.get(id);
    const finished = FINAL_STATES.has(job.state);
    const max = maxBytes > 0 ? Math.min(maxBytes, MAX_LOG_WINDOW) : MAX_LOG_WINDOW;
    const { data, size } = await this.files.readLog(job.id, offset, max);
    return { data, offset, size, finished };
  }

  listWorkers(): { workers: (WorkerRecord & { jobs: string[] })[]; grid: GridRecord } {
    const byWorker = new Map<string, string[]>();
    for (const j of this.jobs.values()) {
      if (PLACED_STATES.has(j.state)) byWorker.set(j.worker, [...(byWorker.get(j.worker) ?? []), j.id]);
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
      if (old && old.incarnation !== reg.incarnation) {
        // A restarted worker: whatever its previous life ran is gone.
        this.releaseJobsOf(old.id, `worker ${old.id} restarted`, false);
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
      this.dirtyWorkers.add(w);
      this.log.info({ worker: w.id, host: w.host, slots: w.slots, kinds: w.kinds }, 'worker registered');
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
      const now = this.opts.now();
      if (w.alive) {
        this.grid.workerSeconds += Math.min(now - w.lastSeenMs, this.opts.heartbeatTimeoutMs) / 1000;
        this.gridChanged = true;
      } else {
        w.alive = true;
        this.dirtyWorkers.add(w);
        this.log.warn({ worker: w.id }, 'lost worker is back');
      }
      w.lastSeenMs = now;

      const reported = new Set<string>();
      for (const r of reports) {
        reported.add(r.jobId);
        const job = this.jobs.get(r.jobId);
        if (!job || job.epoch !== r.epoch) continue;
        if (job.state === 'queued' && job.lostFrom === w.id && r.phase !== 'exited') {
          // Back before its job moved: it keeps it (same epoch, nothing ran twice).
          job.state = r.phase === 'restoring' ? 'restoring' : 'running';
          job.activity = r.phase === 'restoring' ? 'restoring' : '';
          job.worker = w.id;
          job.lostFrom = '';
          job.requeueReason = '';
          this.dirtyJobs.add(job);
          this.log.info({ job: job.id, worker: w.id, epoch: job.epoch }, 'job stays on its returning worker');
          continue;
        }
        if (job.worker !== w.id || !PLACED_STATES.has(job.state)) continue;
        // Exits come through ReportJobExit, which the worker retries until it is heard.
        const starting = job.state === 'restoring' || job.activity === 'starting';
        if (starting && (r.phase === 'running' || r.phase === 'checkpointing')) {
          this.applyStarted(job, job.restoreSeq, 0);
        }
      }
      // A job the worker should hold but does not report, long after it was assigned: it lost it.
      for (const job of this.jobs.values()) {
        if (job.worker !== w.id || !PLACED_STATES.has(job.state) || reported.has(job.id)) continue;
        if (now - job.assignedAtMs > 5 * this.opts.heartbeatIntervalMs + 10_000) {
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
      if (job.state !== 'running' || job.activity === 'starting') {
        throw new StdchkError(
          'UNAVAILABLE',
          `job ${jobId} is ${job.activity || job.state}; checkpoint once it runs`,
        );
      }
      if (job.spec.checkpoint.policy === 'off') {
        throw new StdchkError('CONFLICT', `job ${jobId} has checkpoints off`, { retryable: false });
      }
      const seq = job.nextSeq++;
      job.pending.push({ seq, epoch, worker: workerId, beganAtMs: this.opts.now() });
      job.activity = 'checkpointing';
      this.dirtyJobs.add(job);
      return seq;
    });
  }

  reportCheckpoint(r: CheckpointReport): Promise<void> {
    return this.locked(() => {
      const job = this.jobs.get(checkJobId(r.jobId));
      if (!job) throw new StdchkError('NOT_FOUND', `no job ${r.jobId}`);
      const pendingIdx = job.pending.findIndex((p) => p.seq === r.seq);
      const current = job.worker === r.workerId && job.epoch === r.epoch && PLACED_STATES.has(job.state);
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
      if (job.activity === 'checkpointing') job.activity = '';
      const now = this.opts.now();
      if (!r.ok) {
        job.lastCheckpointError = `checkpoint ${r.seq} failed on ${r.workerId}: ${r.error}`;
        job.toDelete.push(r.seq);
        this.dirtyJobs.add(job);
        this.log.warn({ job: job.id, seq: r.seq, worker: r.workerId, err: r.error }, 'checkpoint failed');
        return;
      }
      job.checkpoints.push({
        seq: r.seq,
        completedAtMs: now,
        seconds: r.seconds,
        bytes: r.bytes,
        newBytes: r.newBytes,
        worker: r.workerId,
        epoch: r.epoch,
      });
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
        for (const w of this.workers.values()) {
          if (w.alive && now - w.lastSeenMs > this.opts.heartbeatTimeoutMs) {
            w.alive = false;
            this.dirtyWorkers.add(w);
            this.grid.failures++;
            this.grid.workerSeconds += this.opts.heartbeatTimeoutMs / 1000;
            this.gridDirty = true;
            this.log.warn({ worker: w.id, silentMs: now - w.lastSeenMs }, 'worker lost');
            this.releaseJobsOf(
              w.id,
              `worker ${w.id} lost (no heartbeat for ${(this.opts.heartbeatTimeoutMs / 1000).toFixed(0)} s)`,
              true,
            );
            // Observed MTBF changed: recompute the automatic intervals.
            for (const j of this.jobs.values()) {
              if (!FINAL_STATES.has(j.state) && j.spec.checkpoint.policy === 'auto') {
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
        if (this.gridChanged && now - this.gridSavedAtMs > 10_000) this.gridDirty = true;
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

  /** The job, if `workerId` holds it at `epoch`; otherwise the fencing error. */
  private held(workerId: string, jobId: string, epoch: number): JobRecord {
    const job = this.jobs.get(checkJobId(jobId));
    if (!job) throw new StdchkError('NOT_FOUND', `no job ${jobId}`);
    if (job.worker !== workerId || job.epoch !== epoch || !PLACED_STATES.has(job.state)) {
      throw this.fenced(job, workerId, epoch);
    }
    return job;
  }

  private fenced(job: JobRecord, workerId: string, epoch: number): StdchkError {
    const where = PLACED_STATES.has(job.state) ? `on ${job.worker} at epoch ${job.epoch}` : job.state;
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
    if (job.state === 'restoring' || job.activity === 'starting' || job.activity === 'restoring') {
      if (restoredFromSeq > 0 || wasStartedBefore) {
        job.restores.push({
          fromSeq: restoredFromSeq,
          worker: job.worker,
          atMs: now,
          seconds,
          fromWorker: job.previousWorker,
          reason: job.requeueReason || (restoredFromSeq > 0 ? 'restored' : 'restarted'),
        });
      }
      job.state = 'running';
      job.activity = '';
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
    this.log.info({ job: job.id, worker: job.worker, exitCode: r.exitCode }, `job ${job.state}`);
  }

  private finish(job: JobRecord, state: JobState, now: number): void {
    job.state = state;
    job.activity = '';
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
    job.state = 'queued';
    job.activity = '';
    job.requeueReason = reason;
    this.dirtyJobs.add(job);
    if (!returnable) job.epoch++; // fence the old holder now
    this.log.info({ job: job.id, reason }, 'job queued again');
  }

  private releaseJobsOf(workerId: string, reason: string, returnable: boolean): void {
    for (const job of this.jobs.values()) {
      if (job.worker === workerId && PLACED_STATES.has(job.state)) this.requeue(job, reason, returnable);
      else if (job.lostFrom === workerId && !returnable) job.lostFrom = '';
    }
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
      if (PLACED_STATES.has(j.state)) used.set(j.worker, (used.get(j.worker) ?? 0) + j.spec.resources.slots);
    }
    const queued = [...this.jobs.values()]
      .filter((j) => j.state === 'queued')
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
    job.restoreSeq = this.newestUsableCheckpoint(job);
    job.state = job.restoreSeq > 0 ? 'restoring' : 'running';
    job.activity = job.restoreSeq > 0 ? 'restoring' : 'starting';
    // Checkpoints begun under an earlier epoch will never complete.
    job.toDelete.push(...job.pending.map((p) => p.seq));
    job.pending = [];
    this.dirtyJobs.add(job);
    this.log.info({ job: job.id, worker: w.id, epoch: job.epoch, restoreSeq: job.restoreSeq }, 'job placed');
  }

  private assignmentsOf(workerId: string): Assignment[] {
    const out: Assignment[] = [];
    for (const job of this.jobs.values()) {
      if (job.worker !== workerId || !PLACED_STATES.has(job.state)) continue;
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
      this.gridSavedAtMs = this.opts.now();
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
