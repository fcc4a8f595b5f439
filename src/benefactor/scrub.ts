import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import type { ChunkStore } from './chunk-store.ts';

/** Defaults of `stdchk benefactor --scrub-interval / --scrub-rate`. */
export const DEFAULT_SCRUB_INTERVAL_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_SCRUB_RATE_BYTES = 16 * 1024 * 1024;
/** Where the end of the last complete pass is remembered, so restarts do not reset the schedule. */
export const SCRUB_STATE_FILE = 'scrub.json';

export interface ScrubberOptions {
  /** Reads go through `get`, which verifies each chunk and reports and drops a bad one. */
  store: Pick<ChunkStore, 'list' | 'get' | 'stats'>;
  storeDir: string;
  /** Time from the end of one complete pass to the start of the next; 0 turns scrubbing off. */
  intervalMs: number;
  /** Most bytes read per second, so scrubbing never takes the disk from writes and reads. */
  rateBytesPerSec: number;
  logger: Logger;
  clock?: () => number;
}

/** What the heartbeat carries (the manager's ScrubStatus). */
export interface ScrubProgress {
  lastCompletedMs: number;
  passes: number;
  /** Share of the current pass done, 0 to 1; 0 when idle. */
  progress: number;
  verifiedBytes: number;
}

/**
 * Background verification of everything a benefactor stores (a "scrub", as
 * in ZFS or Ceph): every chunk is read back and checked against its hash at
 * a bounded rate, once per interval. A chunk that fails is dropped by the
 * store and reported to the manager in the next heartbeat through the same
 * path as a failed read, and the manager copies it back from another replica.
 *
 * A pass walks the store's live index as it is (chunks written meanwhile are
 * visited too; they were verified when stored). A pass interrupted by a
 * restart starts over at the next start.
 */
export class Scrubber {
  private readonly abort = new AbortController();
  private loop: Promise<void> = Promise.resolve();
  private readonly clock: () => number;
  private lastCompletedMs = 0;
  private passes = 0;
  private progress = 0;
  private verifiedBytes = 0;

  constructor(private readonly opts: ScrubberOptions) {
    this.clock = opts.clock ?? Date.now;
  }

  private get stateFile(): string {
    return path.join(this.opts.storeDir, SCRUB_STATE_FILE);
  }

  /** Starts the schedule; does nothing when the interval is 0. */
  start(): void {
    if (this.opts.intervalMs <= 0) return;
    this.lastCompletedMs = this.loadState();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  report(): ScrubProgress {
    return {
      lastCompletedMs: this.lastCompletedMs,
      passes: this.passes,
      progress: this.progress,
      verifiedBytes: this.verifiedBytes,
    };
  }

  /**
   * The end of the last complete pass. A store without one (new, or from
   * before scrubbing existed) counts as verified now: every chunk was verified
   * when it was stored, and the first pass comes one interval later.
   */
  private loadState(): number {
    try {
      const v = (JSON.parse(readFileSync(this.stateFile, 'utf8')) as { lastCompletedMs?: unknown })
        .lastCompletedMs;
      if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) return v;
    } catch {
      // missing or unreadable: start the clock now
    }
    const now = this.clock();
    this.saveState(now);
    return now;
  }

  private saveState(lastCompletedMs: number): void {
    try {
      const tmp = `${this.stateFile}.tmp`;
      writeFileSync(tmp, JSON.stringify({ lastCompletedMs }) + '\n', { mode: 0o600 });
      renameSync(tmp, this.stateFile);
    } catch (e) {
      this.opts.logger.warn({ reason: errorMessage(e) }, 'cannot record the scrub schedule');
    }
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const wait = this.lastCompletedMs + this.opts.intervalMs - this.clock();
      try {
        if (wait > 0) await sleep(wait, undefined, { signal });
        await this.pass(signal);
      } catch (e) {
        if (signal.aborted) break;
        // The store failed under us (closing, disk gone): try again after a while.
        this.opts.logger.error({ reason: errorMessage(e) }, 'scrub pass failed');
        this.progress = 0;
        try {
          await sleep(Math.min(this.opts.intervalMs, 60_000), undefined, { signal });
        } catch {
          break;
        }
      }
    }
  }

  /** One pass over every chunk, paced to the rate. */
  private async pass(signal: AbortSignal): Promise<void> {
    const { store, rateBytesPerSec, logger } = this.opts;
    const total = Math.max(1, store.stats().chunks);
    const started = this.clock();
    let chunks = 0;
    let bytes = 0;
    let missing = 0;
    logger.info({ chunks: total, rateBytesPerSec }, 'scrub pass started');
    for (const { hash, length } of store.list()) {
      if (signal.aborted) return;
      // get() verifies the bytes; a bad chunk is reported (onCorrupt) and dropped there.
      const data = await store.get(hash);
      if (data === undefined) missing++;
      chunks++;
      bytes += length;
      this.verifiedBytes += data ? length : 0;
      this.progress = Math.min(0.99, chunks / total);
      // Paced: never ahead of the rate.
      const ahead = (bytes / rateBytesPerSec) * 1000 - (this.clock() - started);
      if (ahead > 1) await sleep(ahead, undefined, { signal });
    }
    const now = this.clock();
    this.lastCompletedMs = now;
    this.passes++;
    this.progress = 0;
    this.saveState(now);
    // `missing`: dropped as corrupt during the pass (reported), or deleted meanwhile.
    logger.info(
      { chunks, bytes, notServed: missing, seconds: (now - started) / 1000 },
      'scrub pass completed',
    );
  }
}
