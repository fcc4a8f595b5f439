import { setTimeout as sleep } from 'node:timers/promises';
import { StdchkError, isStdchkError } from '../errors/index.ts';

/**
 * The worker's one retry policy for calls to the scheduler.
 *
 * - Only transient failures are retried: the scheduler unreachable
 *   (UNAVAILABLE) or slow (TIMEOUT). CONFLICT and NOT_FOUND mean this worker
 *   no longer holds the job (fencing, `isFenced`) and are never retried;
 *   neither is anything else (a bad request stays bad).
 * - Waits double from `baseMs` up to `maxMs` between attempts.
 * - Each caller has a budget: how long it may keep trying (the worker is a
 *   daemon: most of its calls keep trying until the job is gone or the worker
 *   stops, which `until` reports).
 */
export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  /** Give up after this long (ms); Infinity: until `until` says stop. */
  budgetMs: number;
}

/** Calls that must get through: starts, exits, registration. */
export const UNTIL_HEARD: RetryPolicy = { baseMs: 200, maxMs: 2_000, budgetMs: Infinity };
/** A checkpoint's report: the next checkpoint supersedes it. */
export const FOR_A_WHILE: RetryPolicy = { baseMs: 500, maxMs: 2_000, budgetMs: 10_000 };
/** One attempt (leaving the grid: the heartbeat timeout does the rest). */
export const ONCE: RetryPolicy = { baseMs: 0, maxMs: 0, budgetMs: 0 };

/** The scheduler says this worker no longer holds the job: stop it, do not retry. */
export function isFenced(e: unknown): boolean {
  return isStdchkError(e, 'CONFLICT') || isStdchkError(e, 'NOT_FOUND');
}

export function isTransient(e: unknown): boolean {
  return isStdchkError(e, 'UNAVAILABLE') || isStdchkError(e, 'TIMEOUT');
}

export interface RetryOptions {
  /** Stop retrying once this returns a reason (the job is gone, the worker stops). */
  until?: () => string | undefined;
  /** Called before each wait, e.g. to log the first failure. */
  onRetry?: (e: unknown, attempt: number) => void;
  /** Cuts waits short (the worker stops). */
  signal?: AbortSignal;
}

/** Runs `fn` until it succeeds, fails for good, or the policy's budget or `until` ends it; throws the last error. */
export async function retry<T>(
  fn: () => Promise<T>,
  policy: RetryPolicy,
  opts: RetryOptions = {},
): Promise<T> {
  const started = performance.now();
  let wait = policy.baseMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isTransient(e)) throw e;
      const stop = opts.until?.();
      if (stop !== undefined) throw new StdchkError('UNAVAILABLE', `gave up: ${stop}`, { cause: e });
      if (performance.now() - started + wait > policy.budgetMs) throw e;
      opts.onRetry?.(e, attempt);
      await sleep(wait, undefined, opts.signal ? { signal: opts.signal } : {}).catch(() => undefined);
      wait = Math.min(Math.max(wait * 2, 1), policy.maxMs);
    }
  }
}
