import type { BenefactorRecord } from './records.ts';
import type { Candidate } from './placement.ts';
import type { ScrubReport } from './types.ts';

export const NO_SCRUB: ScrubReport = { lastCompletedMs: 0, passes: 0, progress: 0, verifiedBytes: 0 };

/** Liveness as last observed: "unknown" until the first heartbeat after a manager start. */
export type Liveness = 'unknown' | 'alive' | 'lost';

export interface Benefactor extends BenefactorRecord {
  /** Last heartbeat or registration seen by this manager process (0: none yet). */
  lastHeartbeatMs: number;
  state: Liveness;
  /** Came back after being declared lost: its next inventory trims surplus copies. */
  returned: boolean;
  lastReconcileMs: number;
  inventoryRequestedMs: number;
  /** When its latest inventory stream began (the first part arrived). */
  inventoryBegunMs: number;
  /**
   * Ask for another inventory at this time (0: none due): a returned
   * benefactor's inventory listed unknown chunks still in their grace.
   */
  recheckAtMs: number;
  /** Copies it reported corrupt since this manager started. */
  corruptReported: number;
  /** Its latest scrub report (from heartbeats). */
  scrub: ScrubReport;
  /** Bytes placed on it since its last heartbeat (its free space does not show them yet). */
  reservedBytes: number;
  /** Highest delete bound durably recorded for it (KEYS.deleteBound). */
  deleteBoundSaved: number;
  /** Highest delete bound a heartbeat waits to have recorded. */
  deleteBoundWanted: number;
}

/** The largest registry number (holders are stored as uint16). */
export const MAX_BENEFACTORS = 65_535;

/**
 * Benefactors by id and by small number. The number is what the chunk index
 * stores per replica; it is persisted with the benefactor and never reused.
 */
export class BenefactorRegistry {
  private readonly byId = new Map<string, Benefactor>();
  private readonly byNum: (Benefactor | undefined)[] = [];

  constructor(private readonly heartbeatTimeoutMs: number) {}

  get(id: string): Benefactor | undefined {
    return this.byId.get(id);
  }

  at(num: number): Benefactor | undefined {
    return this.byNum[num];
  }

  all(): Benefactor[] {
    return [...this.byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  nextNum(): number {
    return this.byNum.length === 0 ? 1 : this.byNum.length;
  }

  add(record: BenefactorRecord): Benefactor {
    const b: Benefactor = {
      ...record,
      lastHeartbeatMs: 0,
      state: 'unknown',
      returned: false,
      lastReconcileMs: 0,
      inventoryRequestedMs: 0,
      inventoryBegunMs: 0,
      recheckAtMs: 0,
      corruptReported: 0,
      scrub: { ...NO_SCRUB },
      reservedBytes: 0,
      deleteBoundSaved: 0,
      deleteBoundWanted: 0,
    };
    this.byId.set(b.id, b);
    this.byNum[b.num] = b;
    return b;
  }

  isAlive(b: Benefactor, now: number): boolean {
    return b.lastHeartbeatMs > 0 && now - b.lastHeartbeatMs <= this.heartbeatTimeoutMs;
  }

  /** alive[num] === 1 for live benefactors: one snapshot per request, cheap per chunk. */
  aliveMask(now: number): Uint8Array {
    const mask = new Uint8Array(this.byNum.length + 1);
    for (const b of this.byId.values()) if (this.isAlive(b, now)) mask[b.num] = 1;
    return mask;
  }

  /**
   * Like aliveMask, without the benefactors being drained: the copies that count
   * toward a chunk's replicas (theirs are moving away; they still serve reads
   * and are sources for the copies).
   */
  countedMask(now: number): Uint8Array {
    const mask = this.aliveMask(now);
    for (const b of this.byId.values()) if (b.drain) mask[b.num] = 0;
    return mask;
  }

  /** Live benefactors as placement candidates, free space net of recent placements. */
  candidates(now: number, exclude?: ReadonlySet<number>): Candidate[] {
    const out: Candidate[] = [];
    for (const b of this.byId.values()) {
      if (!this.isAlive(b, now) || b.drain || exclude?.has(b.num)) continue;
      out.push({ num: b.num, host: b.host, freeBytes: Math.max(0, b.freeBytes - b.reservedBytes) });
    }
    return out;
  }

  liveCount(now: number): number {
    let n = 0;
    for (const b of this.byId.values()) if (this.isAlive(b, now)) n++;
    return n;
  }
}
