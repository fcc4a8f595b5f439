import { randomBytes } from 'node:crypto';

export interface VersionId {
  ino: number;
  version: number;
}

interface Lease extends VersionId {
  expiresAt: number;
}

const key = (ino: number, version: number) => `${ino}:${version}`;

/**
 * Reader leases on file versions (in memory only: after a manager restart the
 * old versions are released, and the GC grace protects readers meanwhile).
 *
 * A version superseded or unlinked while pinned is "retired": its chunks stay
 * referenced until its last lease goes, and the caller then releases it.
 */
export class LeaseTable {
  private readonly leases = new Map<string, Lease>();
  private readonly pins = new Map<string, number>();
  private readonly retired = new Map<string, VersionId>();

  get size(): number {
    return this.leases.size;
  }

  get retiredCount(): number {
    return this.retired.size;
  }

  acquire(ino: number, version: number, now: number, ttlMs: number): string {
    const id = randomBytes(16).toString('hex');
    this.leases.set(id, { ino, version, expiresAt: now + ttlMs });
    const k = key(ino, version);
    this.pins.set(k, (this.pins.get(k) ?? 0) + 1);
    return id;
  }

  /** Extends the leases; returns the ids that are unknown (expired or never issued). */
  renew(ids: readonly string[], now: number, ttlMs: number): string[] {
    const unknown: string[] = [];
    for (const id of ids) {
      const lease = this.leases.get(id);
      if (lease) lease.expiresAt = now + ttlMs;
      else unknown.push(id);
    }
    return unknown;
  }

  /** Drops the leases (unknown ids are ignored); returns retired versions no longer pinned. */
  release(ids: readonly string[]): VersionId[] {
    const freed: VersionId[] = [];
    for (const id of ids) {
      const lease = this.leases.get(id);
      if (!lease) continue;
      this.leases.delete(id);
      this.unpin(lease, freed);
    }
    return freed;
  }

  /** Drops leases past their expiry; returns retired versions no longer pinned. */
  expire(now: number): VersionId[] {
    const freed: VersionId[] = [];
    for (const [id, lease] of this.leases) {
      if (lease.expiresAt > now) continue;
      this.leases.delete(id);
      this.unpin(lease, freed);
    }
    return freed;
  }

  isPinned(ino: number, version: number): boolean {
    return (this.pins.get(key(ino, version)) ?? 0) > 0;
  }

  isRetired(ino: number, version: number): boolean {
    return this.retired.has(key(ino, version));
  }

  /**
   * Marks a version superseded while readers hold it. Returns false if no
   * lease pins it any more (the caller must release it now).
   */
  retire(ino: number, version: number): boolean {
    if (!this.isPinned(ino, version)) return false;
    this.retired.set(key(ino, version), { ino, version });
    return true;
  }

  /** Version numbers of `ino` that are retired but still open by readers. */
  retiredOf(ino: number): number[] {
    return [...this.retired.values()].filter((v) => v.ino === ino).map((v) => v.version);
  }

  /** Forgets a retired version once the caller has released it. */
  forget(ino: number, version: number): void {
    this.retired.delete(key(ino, version));
  }

  private unpin(v: VersionId, freed: VersionId[]): void {
    const k = key(v.ino, v.version);
    const n = (this.pins.get(k) ?? 1) - 1;
    if (n > 0) {
      this.pins.set(k, n);
      return;
    }
    this.pins.delete(k);
    const retired = this.retired.get(k);
    if (retired) freed.push(retired);
  }
}
