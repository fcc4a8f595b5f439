import { readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { StdchkError } from '../errors/index.ts';

export interface LockHandle {
  release(): void;
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), if readable. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function holderAlive(pid: number, started: string | undefined): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  // The pid is in use; if it started at another time it was reused by an unrelated process.
  const now = startTime(pid);
  return started === undefined || now === undefined || now === started;
}

function readHolder(file: string): { pid: number; started: string | undefined } | undefined {
  try {
    const [pid, started] = readFileSync(file, 'utf8').trim().split(/\s+/);
    const n = Number(pid);
    return Number.isInteger(n) && n > 0 ? { pid: n, started } : undefined;
  } catch {
    return undefined;
  }
}

/** An empty lock file younger than a second may be another process between its create and write. */
function justCreated(file: string): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs < 1_000;
  } catch {
    return false;
  }
}

/**
 * One process per store: an O_EXCL lock file holding "PID STARTTIME". A lock
 * left by a dead process (or by a pid since reused) is taken over.
 */
export function acquireLock(file: string, what: string): LockHandle {
  const content = `${process.pid} ${startTime(process.pid) ?? ''}`.trim() + '\n';
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, content, { flag: 'wx', mode: 0o600 });
      return {
        release() {
          // Only remove it if it is still ours.
          if (readHolder(file)?.pid === process.pid) {
            try {
              unlinkSync(file);
            } catch {
              /* already gone */
            }
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StdchkError('INTERNAL', `cannot create lock file ${file}: ${(e as Error).message}`, {
          cause: e,
        });
      }
    }
    const holder = readHolder(file);
    if (holder ? holderAlive(holder.pid, holder.started) : justCreated(file)) {
      throw new StdchkError(
        'CONFLICT',
        `${what} is in use by process ${holder?.pid ?? '?'} (lock file ${file})`,
        {
          retryable: false,
        },
      );
    }
    // Stale (or unreadable, e.g. torn by a crash): remove it and retry the exclusive create.
    try {
      unlinkSync(file);
    } catch {
      /* another process took it over first; the retry sees its lock */
    }
  }
  throw new StdchkError('CONFLICT', `${what}: could not take the lock file ${file}`, { retryable: false });
}
