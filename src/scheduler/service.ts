import type * as grpc from '@grpc/grpc-js';
import type { SchedulerHandlers } from '../generated/stdchk/v1/Scheduler.ts';
import type { JobStatus } from '../generated/stdchk/v1/JobStatus.ts';
import type { WorkerInfo } from '../generated/stdchk/v1/WorkerInfo.ts';
import type { ServerOptions } from '../rpc/index.ts';
import { unaryHandler } from '../rpc/index.ts';
import { StdchkError } from '../errors/index.ts';
import { jobSpecToJson } from './job-spec.ts';
import type { JobRecord } from './records.ts';
import type { Scheduler } from './scheduler.ts';

/** Largest job file accepted. */
const MAX_SPEC_BYTES = 256 * 1024;

export function toJobStatus(j: JobRecord): JobStatus {
  return {
    id: j.id,
    name: j.spec.name,
    kind: j.spec.kind,
    state: j.state,
    activity: j.activity,
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

/** gRPC handlers: translate request -> scheduler call -> reply, nothing else. */
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
    ListJobs: h((req) => ({ jobs: s.list(req.states).map(toJobStatus) })),
    GetJob: h((req) => toJobStatus(s.get(required(req.id, 'job id')))),
    CancelJob: h(async (req) => toJobStatus(await s.cancel(required(req.id, 'job id')))),
    JobLogs: h(async (req) => {
      const r = await s.logs(required(req.id, 'job id'), req.offset, req.maxBytes);
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
        workerId: req.workerId,
        incarnation: req.incarnation,
        host: req.host,
        slots: req.slots,
        kinds: req.kinds,
      }),
    ),
    WorkerHeartbeat: h(async (req) => {
      const r = await s.heartbeat(
        required(req.workerId, 'worker id'),
        req.incarnation,
        req.jobs.map((j) => ({
          jobId: j.jobId,
          epoch: j.epoch,
          phase: j.phase,
          exitCode: j.exitCode,
          error: j.error,
        })),
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
      seq: await s.beginCheckpoint(req.workerId, required(req.jobId, 'job id'), req.epoch),
    })),
    ReportCheckpoint: h(async (req) => {
      await s.reportCheckpoint({
        workerId: req.workerId,
        jobId: required(req.jobId, 'job id'),
        epoch: req.epoch,
        seq: req.seq,
        ok: req.ok,
        error: req.error,
        seconds: req.seconds,
        bytes: req.bytes,
        newBytes: req.newBytes,
      });
      return {};
    }),
    ReportJobStarted: h(async (req) => {
      await s.reportStarted(
        req.workerId,
        required(req.jobId, 'job id'),
        req.epoch,
        req.restoredFromSeq,
        req.seconds,
      );
      return {};
    }),
    ReportJobExit: h(async (req) => {
      await s.reportExit({
        workerId: req.workerId,
        jobId: required(req.jobId, 'job id'),
        epoch: req.epoch,
        exitCode: req.exitCode,
        error: req.error,
        startFailed: req.startFailed,
        restoreFailed: req.restoreFailed,
        restoreSeq: req.restoreSeq,
      });
      return {};
    }),
    DeregisterWorker: h(async (req) => {
      await s.deregister(required(req.workerId, 'worker id'), req.incarnation);
      return {};
    }),
  };
}
