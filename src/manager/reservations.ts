import { StdchkError } from '../errors/index.ts';
import type { Candidate } from './placement.ts';

/** How long a reservation may be asked to live without being set again. */
export const MIN_RESERVATION_TTL_MS = 1_000;
export const MAX_RESERVATION_TTL_MS = 600_000;
/** Reservations held at once (each is a few dozen bytes; a mount holds one). */
export const MAX_RESERVATIONS = 100_000;

interface Reservation {
  bytes: number;
  replicas: number;
  expiresAt: number;
}

export interface ReserveOutcome {
  /** What the reservation holds now. */
  bytes: number;
  /** What it could grow to now (its share of what the live benefactors can take). */
  availableBytes: number;
}

/**
 * Uploads are placed by batch (1 MiB of new chunks by default, each batch
 * whole on each of its targets), so a benefactor takes data in whole
 * batches: its free space is counted in whole batches of the size the
 * reservation says (this by default: a writer's batch with record headers).
 */
export const PLACEMENT_GRANULE_BYTES = 1024 * 1024 + 64 * 1024;
export const MIN_BATCH_BYTES = 4 * 1024;
export const MAX_BATCH_BYTES = 64 * 1024 * 1024;

/**
 * The largest N bytes that `replicas` copies of fit in, each copy on a
 * distinct benefactor, given each benefactor's free bytes: the largest N
 * with sum(min(free_i, N)) >= replicas * N (a benefactor holds at most one
 * copy of each byte; data is divisible into chunks). 0 when fewer than
 * `replicas` benefactors have room. With `granule`, each free space counts
 * in whole granules (data placed in batches of that size).
 */
export function replicatedCapacity(free: readonly number[], replicas: number, granule = 0): number {
  const f = free.map((x) => (granule > 0 ? Math.floor(x / granule) * granule : x)).filter((x) => x > 0);
  if (f.length < replicas) return 0;
  const fits = (n: number) => {
    let sum = 0;
    for (const x of f) sum += Math.min(x, n);
    return sum >= replicas * n;
  };
  // fits() holds on an interval [0, N*] (the slack is concave in n): bisect for N*.
  let lo = 0;
  let hi = Math.floor(f.reduce((a, b) => a + b, 0) / replicas);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Space promised to write-back mounts for data they staged locally and have
 * not uploaded yet (ReserveSpace). In memory only: after a manager restart
 * the mounts set theirs again at their next renewal, and a mount that died
 * lets its reservation lapse after its TTL.
 *
 * A raise is granted when the live benefactors' free space (net of recent
 * placements, Benefactor.reservedBytes) holds every reservation at once:
 * each other reservation is counted as its raw bytes (bytes x replicas)
 * expressed in the requester's replica count, against what `replicas`
 * distinct copies fit in (replicatedCapacity), each benefactor's free space
 * counted in whole upload batches (the size the mount says it uploads in),
 * so that what was reserved can be placed.
 *
 * Placement for uploads (PrepareChunks, AllocateTargets) does not look at
 * reservations: a synchronous writer can still take space a write-back mount
 * reserved; that mount's upload then fails (EIO at its fsync or folder
 * barrier) instead of its close().
 */
export class Reservations {
  private readonly held = new Map<string, Reservation>();

  /** Raw bytes (bytes x replicas) held by live reservations other than `except`. */
  private rawHeld(now: number, except?: string): number {
    let raw = 0;
    for (const [id, r] of this.held) {
      if (r.expiresAt <= now) {
        this.held.delete(id);
        continue;
      }
      if (id !== except) raw += r.bytes * r.replicas;
    }
    return raw;
  }

  /** Raw bytes held by every live reservation (for status). */
  heldBytes(now: number): number {
    return this.rawHeld(now);
  }

  get size(): number {
    return this.held.size;
  }

  /** What reservation `id` could hold at `replicas` on benefactors with this free space. */
  available(
    id: string,
    replicas: number,
    now: number,
    candidates: readonly Candidate[],
    batchBytes = PLACEMENT_GRANULE_BYTES,
  ): number {
    const capacity = replicatedCapacity(
      candidates.map((c) => c.freeBytes),
      replicas,
      batchBytes,
    );
    return Math.max(0, capacity - Math.ceil(this.rawHeld(now, id) / replicas));
  }

  /**
   * Sets reservation `id` to `bytes` at `replicas` for `ttlMs`. Lowering or
   * keeping it always succeeds; a raise that does not fit throws NO_SPACE
   * and leaves the previous size (renewed).
   */
  set(
    id: string,
    bytes: number,
    replicas: number,
    ttlMs: number,
    now: number,
    candidates: readonly Candidate[],
    batchBytes = PLACEMENT_GRANULE_BYTES,
  ): ReserveOutcome {
    const current = this.held.get(id);
    const availableBytes = this.available(id, replicas, now, candidates, batchBytes);
    const before = current && current.expiresAt > now ? current.bytes : 0;
    const keep = (n: number): ReserveOutcome => {
      if (n === 0) this.held.delete(id);
      else this.held.set(id, { bytes: n, replicas, expiresAt: now + ttlMs });
      return { bytes: n, availableBytes };
    };
    if (bytes <= before || bytes <= availableBytes) {
      if (!current && bytes > 0 && this.held.size >= MAX_RESERVATIONS) {
        throw new StdchkError('UNAVAILABLE', 'too many space reservations');
      }
      return keep(bytes);
    }
    keep(before);
    throw new StdchkError(
      'NO_SPACE',
      `no space: ${bytes} bytes x ${replicas} replicas do not fit (${availableBytes} bytes available to this reservation)`,
    );
  }
}
