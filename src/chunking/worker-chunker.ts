import { Worker } from 'node:worker_threads';
import { StdchkError } from '../errors/index.ts';
import type { ErrorCode } from '../errors/index.ts';
import { HASH_BYTES, ZERO_HASH } from '../hashing/index.ts';
import type { Chunk } from './chunker.ts';
import { DEFAULT_CHUNKER_PARAMS, validateChunkerParams } from './params.ts';
import type { ChunkerParams } from './params.ts';

type RequestBody = { op: 'push'; buf: ArrayBuffer; off: number; len: number } | { op: 'finish' };

/** @internal Messages to chunk-worker.ts. */
export type ChunkRequest = RequestBody & { id: number };

/** @internal Messages from chunk-worker.ts. */
export type ChunkReply =
  | { ready: true }
  | { id: number; meta: Float64Array; hashes: ArrayBuffer; buffers: ArrayBuffer[] }
  | { id: number; error: { code: ErrorCode; message: string } };

interface Waiter {
  resolve: (chunks: Chunk[]) => void;
  reject: (e: Error) => void;
}

export interface PushOptions {
  /**
   * Hand `data`'s memory to the worker instead of copying it (default true). Only done when
   * `data` spans its whole, non-shared ArrayBuffer; `data` is then detached (length 0) in the
   * caller, so never pass a buffer you will reuse (e.g. a read loop's buffer) with this on.
   * Otherwise the bytes are copied once.
   */
  transfer?: boolean;
}

const ownFile = new URL(import.meta.url);
const FROM_SOURCE = ownFile.pathname.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './chunk-worker.ts' : './chunk-worker.js', ownFile);

/** Parent flags worth passing on; others (heap sizes, preloads) are per process or unwanted. */
const SINGLE_FLAGS = /^(--enable-source-maps|--no-deprecation|--no-warnings(=.*)?|--conditions=.+|-C=.+)$/;
const FLAGS_WITH_VALUE = new Set(['--conditions', '-C']);

/**
 * How to start the worker. Compiled to JavaScript: just the file, with the parent's flags.
 * From TypeScript source we need tsx inside the worker, and Node 20 ignores loader hooks
 * given to a worker through execArgv (nodejs/node#47747; fixed in 22.2), so a tiny bootstrap
 * registers tsx through its API and then imports the worker module. tsx is resolved from
 * this file, so neither the cwd nor how the parent loaded tsx (ava, `node --import=tsx`,
 * bin/stdchk, the tsx CLI) matters. execArgv is then explicit, and Node rejects a worker
 * given per-process flags (e.g. --max-old-space-size), so only a few harmless ones are kept.
 */
function workerSpec(): { file: string | URL; eval: boolean; execArgv?: string[] } {
  if (!FROM_SOURCE) return { file: WORKER_URL, eval: false };
  const api = import.meta.resolve('tsx/esm/api');
  const execArgv: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (SINGLE_FLAGS.test(a)) execArgv.push(a);
    else if (FLAGS_WITH_VALUE.has(a) && i + 1 < argv.length) execArgv.push(a, argv[++i]!);
  }
  const file =
    `import(${JSON.stringify(api)})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return { file, eval: true, execArgv };
}

const closedError = () => new StdchkError('INVALID_ARGUMENT', 'chunker is closed');

/**
 * A ChunkStream on its own worker thread, so chunking and hashing never block the caller's
 * event loop (the FUSE dispatch thread). Requests are processed and answered in order.
 * Returned chunk data is memory transferred from the worker (no copy) and belongs to the
 * caller; hashes are 32-byte views of one buffer per reply.
 *
 * Always close(): it terminates the thread. An idle chunker does not keep the process alive.
 */
export class WorkerChunker {
  readonly params: ChunkerParams;
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;
  private failure: Error | undefined;
  private closed = false;
  private readonly ready: Promise<void>;

  private constructor(params: ChunkerParams) {
    this.params = params;
    const spec = workerSpec();
    this.worker = new Worker(spec.file, {
      eval: spec.eval,
      workerData: { params },
      ...(spec.execArgv ? { execArgv: spec.execArgv } : {}),
    });
    let started!: { resolve: () => void; reject: (e: Error) => void };
    this.ready = new Promise<void>((resolve, reject) => (started = { resolve, reject }));
    this.ready.catch(() => undefined); // create() reports it
    this.worker.on('message', (m: ChunkReply) => ('ready' in m ? started.resolve() : this.onReply(m)));
    const fail = (e: StdchkError) => {
      started.reject(e);
      this.fail(e);
    };
    this.worker.on('error', (e) =>
      fail(new StdchkError('INTERNAL', `chunk worker failed: ${e.message}`, { cause: e })),
    );
    this.worker.on('exit', (code) =>
      fail(new StdchkError('INTERNAL', `chunk worker exited unexpectedly (code ${code})`)),
    );
    this.worker.on('messageerror', (e) =>
      fail(new StdchkError('INTERNAL', `chunk worker: bad message: ${e.message}`)),
    );
  }

  /** Starts the worker; rejects if it cannot load (it never leaves a half-started thread). */
  static async create(params: ChunkerParams = DEFAULT_CHUNKER_PARAMS): Promise<WorkerChunker> {
    const c = new WorkerChunker(validateChunkerParams(params));
    try {
      await c.ready;
    } catch (e) {
      await c.close();
      throw e instanceof StdchkError
        ? e
        : new StdchkError('INTERNAL', `chunk worker failed to start: ${String(e)}`, { cause: e });
    }
    c.worker.unref();
    return c;
  }

  /** Chunks completed by `data`, in stream order. See PushOptions about ownership of `data`. */
  push(data: Buffer, opts: PushOptions = {}): Promise<Chunk[]> {
    if (data.length === 0) return this.request(undefined);
    const ab = data.buffer;
    const whole = ab instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === ab.byteLength;
    if ((opts.transfer ?? true) && whole) {
      try {
        return this.request({ op: 'push', buf: ab, off: 0, len: data.length }, [ab]);
      } catch {
        // Untransferable memory (e.g. marked so by its owner): fall through and copy.
      }
    }
    const copy = Buffer.allocUnsafeSlow(data.length);
    data.copy(copy);
    return this.request({ op: 'push', buf: copy.buffer as ArrayBuffer, off: 0, len: copy.length }, [
      copy.buffer as ArrayBuffer,
    ]);
  }

  /** The last chunk(s); the stream then starts over (the chunker can be reused). */
  finish(): Promise<Chunk[]> {
    return this.request({ op: 'finish' });
  }

  /** Terminates the worker; pending and later calls reject. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.rejectAll(closedError());
    await this.worker.terminate();
  }

  /**
   * Posts a request (undefined: answer [] in turn without a round trip). Throws
   * synchronously only if postMessage refuses the transfer list, so push() can copy.
   */
  private request(req: RequestBody | undefined, transfer: ArrayBuffer[] = []): Promise<Chunk[]> {
    if (this.closed) return Promise.reject(closedError());
    if (this.failure) return Promise.reject(this.failure);
    if (!req) return Promise.resolve([]);
    const id = this.nextId++;
    this.worker.postMessage({ ...req, id }, transfer);
    if (this.waiting.size === 0) this.worker.ref();
    return new Promise<Chunk[]>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
  }

  private onReply(m: ChunkReply): void {
    if ('ready' in m) return;
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.settled(m.id);
    if ('error' in m) {
      w.reject(new StdchkError(m.error.code, `chunk worker: ${m.error.message}`));
      return;
    }
    const { meta, hashes, buffers } = m;
    const chunks: Chunk[] = new Array(meta.length / 3);
    for (let i = 0; i < chunks.length; i++) {
      const length = meta[3 * i]!;
      const b = meta[3 * i + 1]!;
      chunks[i] =
        b < 0
          ? { hash: ZERO_HASH, length, data: undefined, zero: true }
          : {
              hash: Buffer.from(hashes, i * HASH_BYTES, HASH_BYTES),
              length,
              data: Buffer.from(buffers[b]!, meta[3 * i + 2]!, length),
              zero: false,
            };
    }
    w.resolve(chunks);
  }

  private settled(id: number): void {
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker.unref();
  }

  private fail(e: Error): void {
    if (this.closed) return;
    this.failure ??= e;
    this.rejectAll(this.failure);
  }

  private rejectAll(e: Error): void {
    const waiters = [...this.waiting.values()];
    this.waiting.clear();
    this.worker.unref();
    for (const w of waiters) w.reject(e);
  }
}
