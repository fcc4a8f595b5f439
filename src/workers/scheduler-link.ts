import { errorMessage } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import type { TlsMaterial } from '../rpc/credentials.ts';
import { connectScheduler, unary } from '../rpc/index.ts';
import type { SchedulerClient } from '../rpc/index.ts';
import type { Assignment__Output } from '../generated/stdchk/v1/Assignment.ts';
import type { WorkerJob } from '../generated/stdchk/v1/WorkerJob.ts';
import type { CheckpointOutcome, ExitOutcome } from '../jobs/messages.ts';
import { Lease } from './lease.ts';
import { FOR_A_WHILE, ONCE, UNTIL_HEARD, retry } from './retry.ts';
import type { RetryPolicy } from './retry.ts';

const RPC_TIMEOUT_MS = 5_000;

export interface SchedulerLinkOptions {
  address: string;
  secret?: Buffer | undefined;
  tls?: TlsMaterial | undefined;
  logger: Logger;
  workerId: string;
  incarnation: string;
  host: string;
  slots: number;
  kinds: string[];
  /** The lease's clock (default CLOCK_MONOTONIC); tests inject one. */
  clock?: () => number;
}

/** What a report is about: a job this worker holds at an epoch. */
export interface JobRef {
  jobId: string;
  epoch: number;
}

/**
 * The worker's side of the conversation with the scheduler: registration,
 * heartbeats and the lease they renew, and the reports, each with its retry
 * policy (retry.ts). Knows nothing about running jobs.
 *
 * Every report names a job and the epoch this worker holds it at; a CONFLICT
 * or NOT_FOUND back (`isFenced`) means the job is no longer ours.
 */
export class SchedulerLink {
  readonly lease: Lease;
  heartbeatIntervalMs = 1_000;
  heartbeatTimeoutMs = 10_000;
  private readonly client: SchedulerClient;
  private readonly opts: SchedulerLinkOptions;
  private readonly log: Logger;
  private readonly closing = new AbortController();

  constructor(opts: SchedulerLinkOptions) {
    this.opts = opts;
    this.log = opts.logger;
    this.lease = new Lease(7_000, opts.clock);
    this.client = connectScheduler(opts.address, { secret: opts.secret, tls: opts.tls });
  }

  /** Aborted when the link closes: cuts waits short. */
  get signal(): AbortSignal {
    return this.closing.signal;
  }

  /**
   * Registers (again), retrying until the scheduler answers. `jobs`: what
   * this worker holds (after a restart of the agent, the jobs it found still
   * running), so the scheduler lets it keep those it still assigns to it.
   */
  async register(jobs: WorkerJob[], firstTime: boolean): Promise<void> {
    let sent = 0;
    const r = await retry(
      () => {
        sent = this.lease.now();
        return unary(
          this.client,
          'registerWorker',
          {
            workerId: this.opts.workerId,
            incarnation: this.opts.incarnation,
            host: this.opts.host,
            slots: this.opts.slots,
            kinds: this.opts.kinds,
            jobs,
          },
          { timeoutMs: RPC_TIMEOUT_MS },
        );
      },
      UNTIL_HEARD,
      {
        until: () => (this.closing.signal.aborted ? 'stopped before registering' : undefined),
        signal: this.closing.signal,
        onRetry: (e, attempt) => {
          if (firstTime && attempt === 1)
            this.log.warn({ err: errorMessage(e) }, 'scheduler not reachable yet; retrying');
        },
      },
    );
    this.heartbeatIntervalMs = r.heartbeatIntervalMs || 1_000;
    this.heartbeatTimeoutMs = r.heartbeatTimeoutMs || 10_000;
    this.lease.length = r.leaseMs || Math.round(this.heartbeatTimeoutMs * 0.7);
    this.lease.renew(sent);
    this.log.info(
      {
        scheduler: this.opts.address,
        slots: this.opts.slots,
        kinds: this.opts.kinds,
        leaseMs: this.lease.length,
        jobs: jobs.length || undefined,
      },
      'worker registered',
    );
  }

  /**
   * One heartbeat. On an answer the lease is renewed from the send time and
   * the assignments returned (the full list of what this worker may run);
   * no assignments when the scheduler did not answer.
   */
  async heartbeat(
    jobs: () => WorkerJob[],
  ): Promise<{ assignments?: Assignment__Output[]; sentAt: number; renewedAfterExpiry: boolean }> {
    const sentAt = this.lease.now();
    try {
      const reply = await unary(
        this.client,
        'workerHeartbeat',
        { workerId: this.opts.workerId, incarnation: this.opts.incarnation, jobs: jobs() },
        { timeoutMs: Math.min(RPC_TIMEOUT_MS, this.lease.length / 2) },
      );
      if (reply.reregister) {
        this.log.warn('the scheduler does not know this worker: registering again');
        await this.register(jobs(), false);
        return { sentAt, renewedAfterExpiry: false };
      }
      const wasExpired = !this.lease.valid();
      this.lease.renew(sentAt);
      if (wasExpired) this.log.info('scheduler reachable again');
      return { assignments: reply.assignments, sentAt, renewedAfterExpiry: wasExpired };
    } catch (e) {
      if (!this.closing.signal.aborted) this.log.debug({ err: errorMessage(e) }, 'heartbeat failed');
      return { sentAt, renewedAfterExpiry: false };
    }
  }

  /** Milliseconds until the next heartbeat is due after one sent at `sentAt`. */
  nextHeartbeatIn(sentAt: number): number {
    return Math.max(0, this.heartbeatIntervalMs - (this.lease.now() - sentAt));
  }

  /** Reserves the next checkpoint seq (one attempt: the caller tries again at its next tick). */
  async beginCheckpoint(job: JobRef): Promise<number> {
    const r = await this.call('beginCheckpoint', { ...this.ids(job) }, ONCE);
    return Number(r.seq);
  }

  reportCheckpoint(job: JobRef, report: CheckpointOutcome, until: () => string | undefined): Promise<void> {
    return this.call('reportCheckpoint', { ...this.ids(job), ...report }, FOR_A_WHILE, until).then(() => {});
  }

  reportStarted(
    job: JobRef,
    restoredFromSeq: number,
    seconds: number,
    until: () => string | undefined,
  ): Promise<void> {
    return this.call(
      'reportJobStarted',
      { ...this.ids(job), restoredFromSeq, seconds },
      UNTIL_HEARD,
      until,
    ).then(() => {});
  }

  reportExit(job: JobRef, report: ExitOutcome, until: () => string | undefined): Promise<void> {
    return this.call('reportJobExit', { ...this.ids(job), ...report }, UNTIL_HEARD, until).then(() => {});
  }

  /** Leaves the grid: the scheduler moves this worker's jobs at once. */
  async deregister(): Promise<void> {
    await unary(
      this.client,
      'deregisterWorker',
      { workerId: this.opts.workerId, incarnation: this.opts.incarnation },
      { timeoutMs: 3_000 },
    );
  }

  close(): void {
    this.closing.abort();
    this.client.close();
  }

  private ids(job: JobRef) {
    return { workerId: this.opts.workerId, jobId: job.jobId, epoch: job.epoch };
  }

  private call<M extends 'beginCheckpoint' | 'reportCheckpoint' | 'reportJobStarted' | 'reportJobExit'>(
    method: M,
    request: Parameters<typeof unary<SchedulerClient, M>>[2],
    policy: RetryPolicy,
    until?: () => string | undefined,
  ) {
    return retry(() => unary(this.client, method, request, { timeoutMs: RPC_TIMEOUT_MS }), policy, {
      until: () => (this.closing.signal.aborted ? 'the worker is stopping' : until?.()),
      signal: this.closing.signal,
    });
  }
}
