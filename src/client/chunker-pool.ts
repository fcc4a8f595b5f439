import { WorkerChunker } from '../chunking/worker-chunker.ts';
import { DEFAULT_CHUNKER_PARAMS } from '../chunking/params.ts';
import type { ChunkerParams } from '../chunking/params.ts';

/**
 * Idle chunker threads kept for reuse. Starting a worker thread costs far
 * more than chunking a small file, so a client that writes many files (the
 * mount, `tar` into it) borrows one per file instead of starting one.
 */
export class ChunkerPool {
  private readonly idle = new Map<string, WorkerChunker[]>();
  private closed = false;

  constructor(private readonly maxIdle = 4) {}

  async acquire(params: ChunkerParams = DEFAULT_CHUNKER_PARAMS): Promise<WorkerChunker> {
    return this.idle.get(key(params))?.pop() ?? WorkerChunker.create(params);
  }

  /**
   * Takes a chunker back. `needsReset`: it may hold part of a stream (an
   * aborted write), so it is finished first and its output dropped.
   */
  async release(c: WorkerChunker, needsReset: boolean): Promise<void> {
    const list = this.idle.get(key(c.params)) ?? [];
    if (this.closed || list.length >= this.maxIdle) return c.close();
    if (needsReset) {
      try {
        await c.finish();
      } catch {
        return c.close();
      }
    }
    list.push(c);
    this.idle.set(key(c.params), list);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.idle.values()].flat();
    this.idle.clear();
    await Promise.all(all.map((c) => c.close()));
  }
}

function key(p: ChunkerParams): string {
  return `${p.algorithm}:${p.minSize}:${p.avgSize}:${p.maxSize}`;
}
