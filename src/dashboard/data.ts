import { errorMessage } from '../errors/index.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { StatusJson } from '../cli/commands/status.ts';

/**
 * The dashboard's JSON (GET /api/grid): what the page draws, in one
 * document. Times are milliseconds since the epoch; sizes are bytes.
 * Fields are only ever added.
 */
export interface GridSnapshot {
  generatedAtMs: number;
  /** Which daemon serves the page. */
  servedBy: 'scheduler' | 'manager';
  /** The storage's status (`stdchk status --json`), or why it could not be read. */
  storage: { ok: true; status: StatusJson } | { ok: false; error: string } | null;
  /** Workers and jobs; null when the page is the manager's (no scheduler). */
  scheduler: SchedulerSnapshot | null;
}

export interface SchedulerSnapshot {
  workers: {
    id: string;
    host: string;
    alive: boolean;
    slots: number;
    lastSeenMs: number;
    jobs: string[];
  }[];
  /** Workers declared lost, ever. */
  workerFailures: number;
  jobs: JobSnapshot[];
}

export interface JobSnapshot {
  id: string;
  name: string;
  kind: string;
  state: string;
  activity: string;
  worker: string;
  submittedAtMs: number;
  startedAtMs: number;
  finishedAtMs: number;
  exitCode: number | null;
  error: string;
  intervalSeconds: number;
  checkpointsTaken: number;
  checkpointsDeleted: number;
  lastCheckpointError: string;
  /** The checkpoints kept (older ones deleted by retention are counted in checkpointsDeleted). */
  checkpoints: {
    seq: number;
    completedAtMs: number;
    seconds: number;
    bytes: number;
    newBytes: number;
    worker: string;
  }[];
  /** Restores and restarts after the job ran elsewhere: failovers (worker lost) among them. */
  restores: {
    fromSeq: number;
    atMs: number;
    seconds: number;
    worker: string;
    fromWorker: string;
    reason: string;
  }[];
}

export interface SnapshotSources {
  servedBy: GridSnapshot['servedBy'];
  storage?: (() => Promise<StatusJson>) | undefined;
  scheduler?: Scheduler | undefined;
}

export async function gridSnapshot(src: SnapshotSources, now = Date.now()): Promise<GridSnapshot> {
  let storage: GridSnapshot['storage'] = null;
  if (src.storage) {
    try {
      storage = { ok: true, status: await src.storage() };
    } catch (e) {
      storage = { ok: false, error: errorMessage(e) };
    }
  }
  return {
    generatedAtMs: now,
    servedBy: src.servedBy,
    storage,
    scheduler: src.scheduler ? schedulerSnapshot(src.scheduler) : null,
  };
}

function schedulerSnapshot(s: Scheduler): SchedulerSnapshot {
  const { workers, grid } = s.listWorkers();
  return {
    workers: workers.map((w) => ({
      id: w.id,
      host: w.host,
      alive: w.alive,
      slots: w.slots,
      lastSeenMs: w.lastSeenMs,
      jobs: w.jobs,
    })),
    workerFailures: grid.failures,
    jobs: s.list().map((j) => ({
      id: j.id,
      name: j.spec.name,
      kind: j.spec.kind,
      state: j.state,
      activity: j.activity,
      worker: j.worker,
      submittedAtMs: j.submittedAtMs,
      startedAtMs: j.startedAtMs,
      finishedAtMs: j.finishedAtMs,
      exitCode: j.exitCode ?? null,
      error: j.error,
      intervalSeconds: j.interval.seconds,
      checkpointsTaken: j.checkpointsTaken,
      checkpointsDeleted: j.checkpointsDeleted,
      lastCheckpointError: j.lastCheckpointError,
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
        atMs: r.atMs,
        seconds: r.seconds,
        worker: r.worker,
        fromWorker: r.fromWorker,
        reason: r.reason,
      })),
    })),
  };
}
