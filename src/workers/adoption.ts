import { readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logging/index.ts';
import { jobSpecToJson, validateJobSpec } from '../jobs/spec.ts';
import type { WorkerJob } from '../generated/stdchk/v1/WorkerJob.ts';
import { workerPhaseToWire } from '../jobs/messages.ts';
import type { Assignment } from '../jobs/messages.ts';
import type { InstanceRecord } from './runtime/instance-record.ts';
import { killRecordedInstance, processStartTime, readInstanceRecord } from './runtime/instance-record.ts';
import { monitorPid, stopMonitor } from './runtime/monitor.ts';
import { pidAlive, readIntFile } from './runtime/os-util.ts';
import { statusFileOf } from './runtime/wrapped-instance.ts';
import type { JobExit, LocalJob } from './local-job.ts';

/**
 * A restarted worker agent (an upgrade, a crash) finds the jobs its earlier
 * life left on the machine. Each job's folder holds what the agent knew
 * about it (`job.json`, written at launch) beside the runtime's instance
 * record: enough to tell the scheduler which jobs it still runs, and to take
 * over those the scheduler still assigns to it. Their monitors kept them
 * frozen meanwhile once the old lease ran out.
 */

export const JOB_FILE = 'job.json';

interface JobFile {
  jobId: string;
  epoch: number;
  /** The job file, normalised (`jobSpecToJson`). */
  spec: Record<string, unknown>;
  restoreSeq: number;
  intervalSeconds: number;
  lastSeq: number;
}

/** Saves what a restarted agent needs to take the job over. */
export function writeJobFile(job: LocalJob): void {
  const data: JobFile = {
    jobId: job.jobId,
    epoch: job.epoch,
    spec: jobSpecToJson(job.spec),
    restoreSeq: job.restoreSeq,
    intervalSeconds: job.intervalSeconds,
    lastSeq: job.lastSeq,
  };
  const tmp = path.join(job.dir, `${JOB_FILE}.tmp`);
  writeFileSync(tmp, JSON.stringify(data) + '\n');
  renameSync(tmp, path.join(job.dir, JOB_FILE));
}

/** A job an earlier life of this agent left, still running or ended since. */
export interface Leftover {
  dir: string;
  assigned: Assignment;
  record: InstanceRecord;
  /** Set when the job ended while no agent watched it. */
  exit?: JobExit;
}

export function leftoverReport(l: Leftover): WorkerJob {
  return {
    jobId: l.assigned.jobId,
    epoch: l.assigned.epoch,
    ...workerPhaseToWire(l.exit ? 'exited' : 'running'),
    exitCode: l.exit?.code ?? 0,
    error: l.exit?.error ?? '',
  };
}

/**
 * The jobs under `instancesDir` a new life of the agent can take over: running
 * ones, and ones that ended with a known status. Everything else there (a
 * start that was under way, a folder without its records) is killed and removed.
 */
export async function findLeftovers(instancesDir: string, log: Logger): Promise<Leftover[]> {
  let names: string[];
  try {
    names = readdirSync(instancesDir);
  } catch {
    return [];
  }
  const found: Leftover[] = [];
  for (const name of names) {
    const dir = path.join(instancesDir, name);
    const l = await inspect(dir);
    if (l) {
      found.push(l);
      log.info(
        { job: l.assigned.jobId, epoch: l.assigned.epoch, exitCode: l.exit?.code },
        l.exit ? 'found a job that ended while the agent was down' : 'found a running job',
      );
    } else {
      log.warn({ instance: name }, 'removing what an earlier run of this worker left');
      await discard(dir);
    }
  }
  return found;
}

/** Kills whatever runs of the job in `dir` (its monitor first) and removes the folder. */
export async function discard(dir: string): Promise<void> {
  await stopMonitor(dir);
  const rec = readInstanceRecord(dir);
  if (rec) await killRecordedInstance(rec);
  await rm(dir, { recursive: true, force: true });
}

async function inspect(dir: string): Promise<Leftover | undefined> {
  const rec = readInstanceRecord(dir);
  const assigned = readJobFile(dir);
  if (!rec || !assigned || !rec.jobPid) return undefined;
  const base = { dir, assigned, record: rec };
  if (pidAlive(rec.jobPid) && processStartTime(rec.jobPid) === rec.jobStartTime) {
    // Its monitor is its dead man's switch: there must be one.
    return monitorPid(dir) ? base : undefined;
  }
  // It ended: its wrapper writes the status once the output is drained.
  for (let i = 0; i < 40 && pidAlive(rec.wrapperPid); i++) await sleep(50);
  const code = readIntFile(statusFileOf(dir, assigned.restoreSeq > 0 ? 'restore' : 'run'));
  return {
    ...base,
    exit:
      code === undefined
        ? {
            code: 255,
            error: 'the job ended while no worker agent watched it; its status is lost',
            startFailed: false,
            restoreFailed: false,
          }
        : { code, error: '', startFailed: false, restoreFailed: false },
  };
}

function readJobFile(dir: string): Assignment | undefined {
  try {
    const f = JSON.parse(readFileSync(path.join(dir, JOB_FILE), 'utf8')) as JobFile;
    return {
      jobId: f.jobId,
      epoch: f.epoch,
      spec: validateJobSpec(f.spec),
      restoreSeq: f.restoreSeq,
      intervalSeconds: f.intervalSeconds,
      lastSeq: f.lastSeq,
    };
  } catch {
    return undefined;
  }
}
