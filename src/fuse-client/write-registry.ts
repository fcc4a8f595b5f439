import { errorMessage } from '../errors/index.ts';
import { Errno, FsError } from './errors.ts';

/**
 * A write beneath the mount that is not known durable yet: today an open
 * file with writes not committed (or a commit running, in flush, fsync or
 * release); with write-back, data staged locally and not uploaded yet.
 */
export interface OutstandingWrite {
  /** The file the data goes to (follows renames). */
  readonly path: string;
  /**
   * Makes the data durable now, or waits for the commit already running:
   * resolves once it is committed on its replicas, rejects if it cannot be.
   */
  sync(): Promise<void>;
}

/** A file whose last commit failed and was not superseded. */
export interface WriteFailure {
  path: string;
  error: string;
  /** When it failed (ms since the epoch). */
  at: number;
}

/** `path` is `dir` or lies beneath it. */
export function isAtOrUnder(path: string, dir: string): boolean {
  if (dir === '/') return true;
  return path === dir || (path.startsWith(dir) && path.charCodeAt(dir.length) === 0x2f);
}

/** At most this many failed files are named in a barrier's error (the mount's log has every one). */
const NAMED_FAILURES = 3;

/**
 * The one place the mount keeps what is written and not yet durable, and
 * what failed, by path: the folder barrier (fsync of a directory) reads it.
 *
 * - Outstanding writes register when they start (a handle's first write
 *   after a commit) and leave when committed or when their handle is gone.
 * - A failed commit leaves a failure record at the file's path. It stays
 *   until superseded: the same path committed again (the file now holds a
 *   complete later version), the file unlinked, or a folder above it
 *   removed. Renames move records with the file.
 * - `barrier(dir)` waits for every outstanding write at or beneath `dir`
 *   (asking each to commit now), then fails with EIO if any of those failed
 *   or any failure record lies beneath `dir`. So a failure is reported to
 *   every barrier that was waiting when it happened, and to every later
 *   barrier on a folder above it until it is superseded: at least once,
 *   and never silently dropped by having been reported (unlike fsync's
 *   errseq on Linux, which reports an error once per open file).
 *
 * In memory, and with write-back also in the staging folder (`persist`),
 * so a mount restarted on the same staging folder still reports them.
 */
export class WriteRegistry {
  private readonly outstanding = new Set<OutstandingWrite>();
  private readonly failures = new Map<string, WriteFailure>();

  /** `persist` is told the failure records after every change (write-back keeps them on disk). */
  constructor(private readonly persist?: (failures: WriteFailure[]) => void) {}

  /** Failure records kept by an earlier run of the mount. */
  restore(failures: readonly WriteFailure[]): void {
    for (const f of failures) this.failures.set(f.path, { ...f });
  }

  private changed(): void {
    this.persist?.([...this.failures.values()]);
  }

  /** `w` has data that is not durable yet. */
  begin(w: OutstandingWrite): void {
    this.outstanding.add(w);
  }

  /** `w` is committed: its file's earlier failure, if any, is superseded. */
  committed(w: OutstandingWrite): void {
    this.outstanding.delete(w);
    if (this.failures.delete(w.path)) this.changed();
  }

  /** A commit of `w` failed. It stays outstanding (a retry may still commit it) until end(). */
  failed(w: OutstandingWrite, error: unknown): void {
    this.failures.set(w.path, { path: w.path, error: errorMessage(error), at: Date.now() });
    this.changed();
  }

  /** `w` is gone (its handle released), committed or not. */
  end(w: OutstandingWrite): void {
    this.outstanding.delete(w);
  }

  /** `path` was removed (unlink, rmdir): failures at or beneath it are moot. */
  removed(path: string): void {
    let n = 0;
    for (const p of this.failures.keys()) if (isAtOrUnder(p, path) && this.failures.delete(p)) n++;
    if (n) this.changed();
  }

  /** `from` was renamed to `to` (replacing what was there): its failures follow it. */
  renamed(from: string, to: string): void {
    const moved: WriteFailure[] = [];
    let dropped = 0;
    for (const [p, f] of this.failures) {
      if (isAtOrUnder(p, from)) {
        this.failures.delete(p);
        moved.push({ ...f, path: to + p.slice(from.length) });
      } else if (isAtOrUnder(p, to)) {
        this.failures.delete(p);
        dropped++;
      }
    }
    for (const f of moved) this.failures.set(f.path, f);
    if (moved.length || dropped) this.changed();
  }

  /** Outstanding writes at or beneath `dir` (all of them by default). */
  outstandingUnder(dir = '/'): number {
    let n = 0;
    for (const w of this.outstanding) if (isAtOrUnder(w.path, dir)) n++;
    return n;
  }

  /** Failure records at or beneath `dir`, oldest first. */
  failuresUnder(dir = '/'): WriteFailure[] {
    return [...this.failures.values()].filter((f) => isAtOrUnder(f.path, dir)).sort((a, b) => a.at - b.at);
  }

  /**
   * The folder barrier: resolves once everything written at or beneath
   * `dir` before the call is committed on its replicas; throws EIO (an
   * FsError naming the first failed files) if anything there could not be.
   */
  async barrier(dir: string): Promise<void> {
    const waiting = [...this.outstanding].filter((w) => isAtOrUnder(w.path, dir));
    const lost: WriteFailure[] = [];
    await Promise.all(
      waiting.map((w) =>
        w.sync().catch((e: unknown) => {
          lost.push({ path: w.path, error: errorMessage(e), at: Date.now() });
        }),
      ),
    );
    const failed = new Map<string, WriteFailure>();
    for (const f of [...this.failuresUnder(dir), ...lost]) if (!failed.has(f.path)) failed.set(f.path, f);
    if (failed.size === 0) return;
    const named = [...failed.values()].slice(0, NAMED_FAILURES).map((f) => `${f.path} (${f.error})`);
    const more = failed.size > NAMED_FAILURES ? ` and ${failed.size - NAMED_FAILURES} more` : '';
    throw new FsError(
      Errno.EIO,
      `${failed.size} file(s) beneath ${dir} not committed: ${named.join('; ')}${more}`,
    );
  }
}
