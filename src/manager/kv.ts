import { Level } from 'level';
import { StdchkError, errorMessage } from '../errors/index.ts';

/**
 * The small key-value interface the metadata store sits on (JuiceFS's "tkv"
 * level): point reads, atomic batches, ordered prefix scans. Keys are strings
 * stored as UTF-8 and ordered bytewise; values are bytes.
 */
export type KvOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

export interface BatchOptions {
  /** Durable before the promise resolves (fsync); use at commit points. */
  sync?: boolean;
}

export interface KeyValueStore {
  /** The value stored under `key`, or undefined. */
  get(key: string): Promise<Buffer | undefined>;
  /** Applies every op in order, all or nothing. */
  batch(ops: readonly KvOp[], options?: BatchOptions): Promise<void>;
  /** Entries whose key starts with `prefix`, in key order, read from a snapshot. */
  entries(prefix: string): AsyncIterable<[string, Buffer]>;
  /** Keys starting with `prefix`, in key order (values are not read). */
  keys(prefix: string): AsyncIterable<string>;
  close(): Promise<void>;
}

/** The smallest byte string greater than every key starting with `prefix` (undefined: no bound). */
function prefixEnd(prefix: Buffer): Buffer | undefined {
  let end = prefix.length;
  while (end > 0 && prefix[end - 1] === 0xff) end--;
  if (end === 0) return undefined;
  const out = Buffer.from(prefix.subarray(0, end));
  out[end - 1] = (out[end - 1] as number) + 1;
  return out;
}

function asBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

const SCAN_BATCH = 1000;

/** LevelDB (level 10 / classic-level). One process per database: a second opener fails clearly. */
export class LevelKeyValueStore implements KeyValueStore {
  private constructor(private readonly db: Level<Buffer, Buffer>) {}

  static async open(location: string): Promise<LevelKeyValueStore> {
    const db = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      await db.open();
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause;
      const hint = cause?.code === 'LEVEL_LOCKED' ? ' (is another manager using this data folder?)' : '';
      throw new StdchkError(
        'UNAVAILABLE',
        `cannot open metadata database ${location}${hint}: ${errorMessage(cause ?? e)}`,
        { cause: e, retryable: false },
      );
    }
    return new LevelKeyValueStore(db);
  }

  async get(key: string): Promise<Buffer | undefined> {
    return (await this.db.get(Buffer.from(key, 'utf8'))) ?? undefined;
  }

  async batch(ops: readonly KvOp[], options: BatchOptions = {}): Promise<void> {
    if (ops.length === 0) return;
    // A chained batch: abstract-level's array form clones and re-checks every
    // op and measured ~10x slower (commits write hundreds of thousands of ops).
    const batch = this.db.batch();
    try {
      for (const op of ops) {
        if (op.type === 'put') batch.put(Buffer.from(op.key, 'utf8'), asBuffer(op.value));
        else batch.del(Buffer.from(op.key, 'utf8'));
      }
    } catch (e) {
      await batch.close();
      throw e;
    }
    await batch.write({ sync: options.sync ?? false });
  }

  private range(prefix: string): { gte: Buffer; lt?: Buffer } {
    const gte = Buffer.from(prefix, 'utf8');
    const lt = prefixEnd(gte);
    return lt ? { gte, lt } : { gte };
  }

  async *entries(prefix: string): AsyncGenerator<[string, Buffer]> {
    const it = this.db.iterator(this.range(prefix));
    try {
      for (;;) {
        const batch = await it.nextv(SCAN_BATCH);
        if (batch.length === 0) return;
        for (const [k, v] of batch) yield [k.toString('utf8'), v];
      }
    } finally {
      await it.close();
    }
  }

  async *keys(prefix: string): AsyncGenerator<string> {
    const it = this.db.keys(this.range(prefix));
    try {
      for (;;) {
        const batch = await it.nextv(SCAN_BATCH);
        if (batch.length === 0) return;
        for (const k of batch) yield k.toString('utf8');
      }
    } finally {
      await it.close();
    }
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/** In-memory store with the same semantics, for tests and tools. */
export class MemoryKeyValueStore implements KeyValueStore {
  private readonly data = new Map<string, Buffer>();
  private sorted: string[] | undefined;
  private closed = false;

  private check(): void {
    if (this.closed) throw new StdchkError('UNAVAILABLE', 'key-value store is closed');
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.check();
    const v = this.data.get(key);
    return v ? Buffer.from(v) : undefined;
  }

  async batch(ops: readonly KvOp[], _options: BatchOptions = {}): Promise<void> {
    this.check();
    // Copy everything first so a bad op leaves the store untouched (all or nothing).
    const staged = ops.map((op): [string, Buffer | undefined] => {
      if (typeof op.key !== 'string') throw new StdchkError('INVALID_ARGUMENT', 'key must be a string');
      return [op.key, op.type === 'put' ? Buffer.from(op.value) : undefined];
    });
    for (const [key, value] of staged) {
      if (value) this.data.set(key, value);
      else this.data.delete(key);
    }
    if (staged.length) this.sorted = undefined;
  }

  /** Keys with `prefix` in UTF-8 byte order, as LevelDB orders them. */
  private snapshot(prefix: string): string[] {
    this.sorted ??= [...this.data.keys()].sort((a, b) =>
      Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')),
    );
    return this.sorted.filter((k) => k.startsWith(prefix));
  }

  async *entries(prefix: string): AsyncGenerator<[string, Buffer]> {
    this.check();
    const snap = this.snapshot(prefix).map((k) => [k, this.data.get(k) as Buffer] as const);
    for (const [k, v] of snap) yield [k, Buffer.from(v)];
  }

  async *keys(prefix: string): AsyncGenerator<string> {
    this.check();
    yield* this.snapshot(prefix);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
