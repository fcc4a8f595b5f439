import { readFileSync, readdirSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobKind } from './types.ts';
import { findTool, pidAlive, runCommand, signal, toolEnv, waitPidGone } from './os-util.ts';
import { stopMonitor } from './monitor.ts';

/**
 * What a runtime leaves on disk about a live instance, so that whoever finds
 * it later (a restarted worker, a test simulating a host crash) can kill
 * everything the instance started: `<instance dir>/instance.json`.
 */
export interface InstanceRecord {
  kind: JobKind;
  name: string;
  /** runc container id. */
  containerId?: string;
  /** Process group of the sh wrapper (its pid). */
  wrapperPid: number;
  /** Host pid of the job's main process, with its start time to detect pid reuse. */
  jobPid?: number;
  jobStartTime?: string;
}

export const RECORD_FILE = 'instance.json';

export function writeInstanceRecord(dir: string, rec: InstanceRecord): void {
  const tmp = path.join(dir, `${RECORD_FILE}.tmp`);
  writeFileSync(tmp, JSON.stringify(rec) + '\n');
  renameSync(tmp, path.join(dir, RECORD_FILE));
}

export function readInstanceRecord(dir: string): InstanceRecord | undefined {
  try {
    return JSON.parse(readFileSync(path.join(dir, RECORD_FILE), 'utf8')) as InstanceRecord;
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/PID/stat: start time in clock ticks since boot. */
export function processStartTime(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * Checkpoints in progress for this instance: `runc checkpoint ... ID` and
 * `criu dump -t PID`. Their owner (a worker) may be gone; they hold the
 * container's lock and the job's tasks seized (ptrace), so runc kill/delete
 * would wait on them and the job would not die.
 */
function checkpointerPids(rec: InstanceRecord): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let argv: string[];
    let tool: string;
    try {
      // criu renames itself ("criu: dump --rpc -t PID ..."): split on spaces too.
      argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split(/[\0 ]/);
      tool = readFileSync(`/proc/${e}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    const runcCheckpoint =
      tool === 'runc' && argv.includes('checkpoint') && !!rec.containerId && argv.includes(rec.containerId);
    const t = argv.indexOf('-t');
    const criuDump =
      tool === 'criu' && rec.jobPid !== undefined && t >= 0 && argv[t + 1] === String(rec.jobPid);
    if (runcCheckpoint || criuDump) out.push(Number(e));
  }
  return out;
}

/**
 * Kills everything an instance record names: a checkpoint in progress, the
 * container (runc kill + delete), the job's process tree (the job is a
 * pid-namespace init, so killing it kills the namespace) and the wrapper's
 * process group.
 */
export async function killRecordedInstance(rec: InstanceRecord): Promise<boolean> {
  let alive = false;
  const checkpointers = checkpointerPids(rec);
  for (const pid of checkpointers) signal(pid, 'SIGKILL');
  // A seized task dies only once its tracer has let go.
  for (const pid of checkpointers) await waitPidGone(pid, 5_000);
  if (rec.containerId) {
    const runc = findTool('runc');
    alive =
      (await runCommand(runc, ['state', rec.containerId], { timeoutMs: 15_000, env: toolEnv() })).code === 0;
    await runCommand(runc, ['kill', rec.containerId, 'KILL'], { timeoutMs: 15_000, env: toolEnv() });
    await runCommand(runc, ['delete', '--force', rec.containerId], { timeoutMs: 15_000, env: toolEnv() });
  }
  if (rec.jobPid && pidAlive(rec.jobPid) && processStartTime(rec.jobPid) === rec.jobStartTime) {
    signal(rec.jobPid, 'SIGKILL');
    alive = true;
  }
  if (rec.wrapperPid > 0) {
    try {
      process.kill(-rec.wrapperPid, 'SIGKILL');
      alive = true;
    } catch {
      // the wrapper's group is gone
    }
  }
  const deadline = Date.now() + 5_000;
  while (rec.jobPid && pidAlive(rec.jobPid) && Date.now() < deadline) await sleep(25);
  return alive;
}

/** Kills every instance recorded under `root/<instance>/instance.json`; returns the names of those that were alive. */
export async function killInstancesUnder(root: string): Promise<string[]> {
  let names: string[] = [];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const killed: string[] = [];
  for (const n of names) {
    const dir = path.join(root, n);
    // First the job's monitor, so that nothing freezes or thaws the job meanwhile.
    await stopMonitor(dir);
    const rec = readInstanceRecord(dir);
    if (!rec) continue;
    if (await killRecordedInstance(rec)) killed.push(rec.name);
  }
  return killed;
}
