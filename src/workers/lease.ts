import { monotonicMs } from '../clock/index.ts';

/**
 * How long the scheduler vouches for this worker's assignments: `length`
 * after the *send* time of the last heartbeat it answered (the answer may
 * have been slow; counting from the send keeps the worker's view the
 * shorter one). The scheduler declares a worker lost only after its heartbeat
 * timeout, which is longer, so a worker cut off stops its jobs before they can
 * be placed anywhere else.
 *
 * Everything is on the monotonic clock: a step of the wall clock must not
 * stretch a lease (two copies would run) nor cut it short.
 */
export class Lease {
  private until = -Infinity;

  constructor(
    private lengthMs: number,
    private readonly clock: () => number = monotonicMs,
  ) {}

  get length(): number {
    return this.lengthMs;
  }

  set length(ms: number) {
    this.lengthMs = ms;
  }

  /** Now, on this lease's clock: take a heartbeat's send time from here. */
  now(): number {
    return this.clock();
  }

  /** The scheduler answered a heartbeat (or registration) sent at `sentAt`. Never shortens the lease. */
  renew(sentAt: number): void {
    this.until = Math.max(this.until, sentAt + this.lengthMs);
  }

  /** Until when (this clock) the lease holds; -Infinity before the first renewal. */
  get deadline(): number {
    return this.until;
  }

  valid(): boolean {
    return this.clock() < this.until;
  }

  /** Milliseconds left (0 once run out). */
  remaining(): number {
    return Math.max(0, this.until - this.clock());
  }
}
