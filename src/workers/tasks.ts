import { errorMessage } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';

/**
 * Background steps the agent starts without waiting for them (a launch, a
 * checkpoint, an exit report): each failure is logged, and stopping waits
 * for all of them, so no step outlives the worker or fails unseen.
 */
export class Tasks {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly log: Logger) {}

  /** Starts `fn` now (its synchronous part runs before this returns) and tracks it. */
  run(what: string, fields: Record<string, unknown>, fn: () => Promise<void>): void {
    let started: Promise<void>;
    try {
      started = fn();
    } catch (e) {
      started = Promise.reject(e);
    }
    const p: Promise<void> = started
      .catch((e: unknown) => this.log.error({ ...fields, err: errorMessage(e) }, `${what} failed`))
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Resolves once every step started so far (and those they started) has ended. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }
}
