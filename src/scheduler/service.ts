import type * as grpc from '@grpc/grpc-js';
import type { SchedulerHandlers } from '../generated/stdchk/v1/Scheduler.ts';
import type { JobStatus } from '../generated/stdchk/v1/JobStatus.ts';
import type { WorkerInfo } from '../generated/stdchk/v1/WorkerInfo.ts';
import type { ServerOptions } from '../rpc/index.ts';
import { unaryHandler } from '../rpc/index.ts';
import { StdchkError } from '../errors/index.ts';
import * as v from '../validation/index.ts';
import { jobSpecToJson } from '../jobs/spec.ts';
import { checkJobId } from '../jobs/layout.ts';
import { WORKER_JOB_PHASES, workerPhaseFromWire } from '../jobs/messages.ts';
import { JOB_STATES } from './lifecycle.ts';
import type { JobActivity, JobState } from './lifecycle.ts';
import type { JobView } from './records.ts';
import type { JobState as WireJobState } from '../generated/stdchk/v1/JobState.ts';
import type { JobActivity as WireJobActivity } from '../generated/stdchk/v1/JobActivity.ts';
import type { WorkerJob__Output } from '../generated/stdchk/v1/WorkerJob.ts';
import type { Scheduler } from './scheduler.ts';

/** Largest job file accepted. */
const MAX_SPEC_BYTES = 256 * 1024;
/** Bounds on what workers report (a worker has at most 1024 slots). */
const MAX_WORKER_JOBS = 4_096;
const MAX_KINDS = 16;
/** A checkpoint, start or restore taking longer than this is a bad report. */
const MAX_SECONDS = 30 * 24 * 3600;
const WIRE_STATE: Record<JobState, WireJobState> = {
  queued: 'JOB_STATE_QUEUED',
  running: 'JOB_STATE_RUNNING',
  restoring: 'JOB_STATE_RESTORING',
  done: 'JOB_STATE_DONE',
  failed: 'JOB_STATE_FAILED',
  cancelled: 'JOB_STATE_CANCELLED',
};
const WIRE_ACTIVITY: Record<JobActivity, WireJobActivity> = {
  '': 'JOB_ACTIVITY_NONE',
  starting: 'JOB_ACTIVITY_STARTING',
  restoring: 'JOB_ACTIVITY_RESTORING',
  checkpointing: 'JOB_ACTIVITY_CHECKPOINTING',
};
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

export function toJobStatus(j: JobView): JobStatus {
  return {
    id: j.id,
    name: j.spec.name,
    kind: j.spec.kind,
    state: j.state,
    activity: j.activity,
    jobState: WIRE_STATE[j.state],
    jobActivity: WIRE_ACTIVITY[j.activity],
    worker: j.worker,
    epoch: j.epoch,
    checkpoints: j.checkpoints.map((c) => ({
      seq: c.seq,
      completedAtMs: c.completedAtMs,
      seconds: c.seconds,
      bytes: c.bytes,
      newBytes: c.newBytes,
      worker: c.worker,
    })),
    restores: j.restores.map((r) => ({
      fromSeq: r.fromSeq,
      worker: r.worker,
      atMs: r.atMs,
      seconds: r.seconds,
      fromWorker: r.fromWorker,
      reason: r.reason,
    })),
    ...(j.exitCode !== undefined ? { exitCode: j.exitCode } : {}),
    interval: {
      seconds: j.interval.seconds,
      policy: j.interval.policy,
      checkpointCost: j.interval.checkpointCost,
      mtbf: j.interval.mtbf,
      mtbfSource: j.interval.mtbfSource,
      reason: j.interval.reason,
      youngSeconds: j.interval.youngSeconds,
    },
    error: j.error,
    submittedAtMs: j.submittedAtMs,
    startedAtMs: j.startedAtMs,
    finishedAtMs: j.finishedAtMs,
    specJson: JSON.stringify(jobSpecToJson(j.spec)),
    checkpointsTaken: j.checkpointsTaken,
    checkpointsDeleted: j.checkpointsDeleted,
    keep: j.spec.checkpoint.keep,
    lastCheckpointAtMs: j.lastCheckpointAtMs,
    lastCheckpointError: j.lastCheckpointError,
  };
}

function required(value: string, what: string): string {
  if (!value) throw new StdchkError('INVALID_ARGUMENT', `${what} is required`);
  return value;
}

const jobId = (value: string) => checkJobId(required(value, 'job id'));

/** What a worker says it runs (heartbeats, registration). */
function workerJobs(jobs: WorkerJob__Output[]) {
  return v.bounded(jobs, 'jobs', MAX_WORKER_JOBS).map((j) => ({
    jobId: checkJobId(j.jobId),
    epoch: v.uint(j.epoch, 'epoch'),
    phase: workerJobPhase(j),
    exitCode: v.int(j.exitCode, 'exit_code', INT32_MIN, INT32_MAX),
    error: v.clipText(j.error),
  }));
}

/** A worker's report on one job: the phase from the enum, else from the text (an older worker). */
function workerJobPhase(j: WorkerJob__Output) {
  const p = workerPhaseFromWire(j.jobPhase, j.phase);
  if (p === undefined) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `phase must be one of ${WORKER_JOB_PHASES.join(', ')}, not ${v.show(j.phase || j.jobPhase)}`,
    );
  }
  return p;
}
const seconds = (value: number, what = 'seconds') => v.finite(value, what, 0, MAX_SECONDS);

/** gRPC handlers: validate every field, translate request -> scheduler call -> reply, nothing else. */
export function schedulerHandlers(s: Scheduler, opts: ServerOptions): SchedulerHandlers {
  const h = <Req, Res>(fn: (req: Req) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> =>
    unaryHandler(opts, fn);
  return {
    SubmitJob: h(async (req) => {
      if (Buffer.byteLength(req.specJson) > MAX_SPEC_BYTES) {
        throw new StdchkError('TOO_LARGE', `job file larger than ${MAX_SPEC_BYTES} bytes`);
      }
      return toJobStatus(await s.submit(req.specJson));
    }),
    ListJobs: h((req) => ({
      jobs: s
        .list(
          [...v.bounded(req.states, 'states', JOB_STATES.length)].map((x) => v.oneOf(x, 'state', JOB_STATES)),
        )
        .map(toJobStatus),
    })),
    GetJob: h((req) => toJobStatus(s.get(jobId(req.id)))),
    CancelJob: h(async (req) => toJobStatus(await s.cancel(jobId(req.id)))),
    JobLogs: h(async (req) => {
      const r = await s.logs(jobId(req.id), v.uint(req.offset, 'offset'), v.uint(req.maxBytes, 'max_bytes'));
      return { data: r.data, offset: r.offset, size: r.size, finished: r.finished };
    }),
    ListWorkers: h(() => {
      const { workers, grid } = s.listWorkers();
      const out: WorkerInfo[] = workers.map((w) => ({
        id: w.id,
        host: w.host,
        alive: w.alive,
        slots: w.slots,
        jobs: w.jobs,
        lastHeartbeatMs: w.lastSeenMs,
        registeredAtMs: w.registeredAtMs,
        kinds: w.kinds,
      }));
      return { workers: out, workerFailures: grid.failures, workerSeconds: grid.workerSeconds };
    }),
    RegisterWorker: h((req) =>
      s.registerWorker({
        workerId: v.workerId(req.workerId),
        incarnation: v.incarnation(req.incarnation),
        host: v.host(req.host),
        slots: v.int(req.slots, 'slots', 1, 1024),
        kinds: [...v.bounded(req.kinds, 'kinds', MAX_KINDS)].map((k) => v.clipText(k, 64)),
        jobs: workerJobs(req.jobs),
      }),
    ),
    WorkerHeartbeat: h(async (req) => {
      const r = await s.heartbeat(
        v.workerId(req.workerId),
        v.incarnation(req.incarnation),
        workerJobs(req.jobs),
      );
      return {
        reregister: r.reregister,
        assignments: r.assignments.map((a) => ({
          jobId: a.jobId,
          epoch: a.epoch,
          specJson: JSON.stringify(jobSpecToJson(a.spec)),
          restoreSeq: a.restoreSeq,
          intervalSeconds: a.intervalSeconds,
          lastSeq: a.lastSeq,
        })),
      };
    }),
    BeginCheckpoint: h(async (req) => ({
      seq: await s.beginCheckpoint(v.workerId(req.workerId), jobId(req.jobId), v.uint(req.epoch, 'epoch')),
    })),
    ReportCheckpoint: h(async (req) => {
      await s.reportCheckpoint({
        workerId: v.workerId(req.workerId),
        jobId: jobId(req.jobId),
        epoch: v.uint(req.epoch, 'epoch'),
        seq: v.int(req.seq, 'seq', 1, Number.MAX_SAFE_INTEGER),
        ok: req.ok === true,
        error: v.clipText(req.error),
        seconds: seconds(req.seconds),
        bytes: v.uint(req.bytes, 'bytes'),
        newBytes: v.uint(req.newBytes, 'new_bytes'),
      });
      return {};
    }),
    ReportJobStarted: h(async (req) => {
      await s.reportStarted(
        v.workerId(req.workerId),
        jobId(req.jobId),
        v.uint(req.epoch, 'epoch'),
        v.uint(req.restoredFromSeq, 'restored_from_seq'),
        seconds(req.seconds),
      );
      return {};
    }),
    ReportJobExit: h(async (req) => {
      await s.reportExit({
        workerId: v.workerId(req.workerId),
        jobId: jobId(req.jobId),
        epoch: v.uint(req.epoch, 'epoch'),
        exitCode: v.int(req.exitCode, 'exit_code', INT32_MIN, INT32_MAX),
        error: v.clipText(req.error),
        startFailed: req.startFailed === true,
        restoreFailed: req.restoreFailed === true,
        restoreSeq: v.uint(req.restoreSeq, 'restore_seq'),
      });
      return {};
    }),
    DeregisterWorker: h(async (req) => {
      await s.deregister(v.workerId(req.workerId), v.incarnation(req.incarnation));
      return {};
    }),
  };
}
