/**
 * Clocks. Durations (timeouts, leases, intervals) are measured on the
 * monotonic clock, which a step of the wall clock (NTP, an operator, a
 * suspended VM's catch-up) does not move; the wall clock is only for
 * timestamps people read.
 */

/**
 * Milliseconds on the system's CLOCK_MONOTONIC (libuv's hrtime). Unlike
 * `performance.now()`, which counts from this process's start, the value is
 * the same in every process on the machine: the worker's job monitors compare
 * lease deadlines the agent wrote against their own reading of it.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1000;
}

/** A clock to inject: `now()` for timestamps, `monotonic()` for durations. */
export interface Clock {
  /** Wall clock, ms since the Unix epoch. */
  now(): number;
  /** Monotonic ms; only differences mean anything. */
  monotonic(): number;
}

export const systemClock: Clock = { now: () => Date.now(), monotonic: monotonicMs };
