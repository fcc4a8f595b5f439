import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StdchkError } from '../../errors/index.ts';
import { findTool, pidAlive, signal, waitPidGone } from './os-util.ts';

/**
 * The dead man's switch of a job: a small monitor process per job
 * (`monitor.py`, like Podman's conmon), detached from the agent so that it
 * outlives it. The agent renews the job's lease by writing a deadline into
 * the job's folder; once the deadline passes without a renewal (the agent
 * died, hung, or lost the scheduler) the monitor kills a checkpoint in
 * progress and freezes the job, well before the scheduler's heartbeat
 * timeout lets the job start anywhere else. See monitor.py for the protocol.
 */

const SCRIPT = fileURLToPath(new URL('./monitor.py', import.meta.url));
export const LEASE_FILE = 'lease';
export const MONITOR_PID_FILE = 'monitor.pid';
export const MONITOR_LOG = 'monitor.log';

/**
 * Sets the job's lease deadline: `deadline` in ms on CLOCK_MONOTONIC (see
 * `monotonicMs`), 0 to revoke it. Atomic: the monitor reads the old or the new.
 */
export function writeLease(dir: string, deadline: number): void {
  const tmp = path.join(dir, `${LEASE_FILE}.tmp`);
  writeFileSync(tmp, `${Math.max(0, deadline).toFixed(3)}\n`);
  renameSync(tmp, path.join(dir, LEASE_FILE));
}

/** What the job's monitor last did to it: froze it (its lease ran out) or let it run. */
export function monitorState(dir: string): 'frozen' | 'running' | undefined {
  try {
    const st = readFileSync(path.join(dir, 'state'), 'utf8').trim();
    return st === 'frozen' || st === 'running' ? st : undefined;
  } catch {
    return undefined;
  }
}

/** The monitor's pid, if one is running for the job in `dir`. */
export function monitorPid(dir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(dir, MONITOR_PID_FILE), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!pidAlive(pid)) return undefined;
  try {
    // Not some other process that got the pid since.
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(SCRIPT)) return undefined;
  } catch {
    return undefined;
  }
  return pid;
}

export interface MonitorOptions {
  /** runc, to pause and resume containers (default: found in PATH). */
  runc?: string;
  /** How often it reads the lease (default 100 ms). */
  pollMs?: number;
}

/**
 * Starts the monitor of the job whose folder is `dir` (it waits for the
 * runtime's instance record there), unless one runs already. Write the lease
 * first: without one the monitor freezes the job as soon as it runs.
 */
export function startMonitor(dir: string, opts: MonitorOptions = {}): number {
  const running = monitorPid(dir);
  if (running) return running;
  let runc = opts.runc ?? '';
  if (!runc) {
    try {
      runc = findTool('runc');
    } catch {
      runc = 'runc'; // process jobs only
    }
  }
  const log = openSync(path.join(dir, MONITOR_LOG), 'a');
  let child;
  try {
    child = spawn(findTool('python3'), [SCRIPT, dir, runc, String((opts.pollMs ?? 100) / 1000)], {
      detached: true,
      stdio: ['ignore', log, log],
    });
  } finally {
    closeSync(log);
  }
  if (child.pid === undefined)
    throw new StdchkError('INTERNAL', `could not start the job monitor for ${dir}`);
  child.unref();
  writeFileSync(path.join(dir, MONITOR_PID_FILE), `${child.pid}\n`);
  return child.pid;
}

/** Stops the job's monitor (before the job itself is killed, so nothing freezes it meanwhile). */
export async function stopMonitor(dir: string): Promise<void> {
  const pid = monitorPid(dir);
  if (!pid) return;
  signal(pid, 'SIGKILL');
  await waitPidGone(pid, 5_000);
}
