import { Level } from 'level';
import { StdchkError, errorMessage } from '../errors/index.ts';
import type { GridRecord, JobRecord, WorkerRecord } from './records.ts';

/**
 * Durable scheduler state. The scheduler keeps everything in memory and
 * writes each change through before it answers the call that made it; one
 * `save` is one atomic, synced batch, so a kill -9 at any point leaves either
 * the state before the call or the state after it.
 */
export interface SchedulerState {
  jobs: JobRecord[];
  workers: WorkerRecord[];
  grid: GridRecord;
}

export interface SchedulerStore {
  load(): Promise<SchedulerState>;
  save(changes: { jobs?: JobRecord[]; workers?: WorkerRecord[]; grid?: GridRecord }): Promise<void>;
  close(): Promise<void>;
}

const JOB = 'job/';
const WORKER = 'worker/';
const GRID = 'grid';
const FORMAT = 'format';
const FORMAT_VERSION = 1;

const emptyGrid = (): GridRecord => ({ failures: 0, workerSeconds: 0 });

/** LevelDB (level 10). One process per database: a second scheduler on the same folder fails clearly. */
export class LevelSchedulerStore implements SchedulerStore {
  private constructor(private readonly db: Level<string, string>) {}

  static async open(location: string): Promise<LevelSchedulerStore> {
    const db = new Level<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    try {
      await db.open();
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause;
      const hint = cause?.code === 'LEVEL_LOCKED' ? ' (is another scheduler using this data folder?)' : '';
      throw new StdchkError(
        'UNAVAILABLE',
        `cannot open scheduler database ${location}${hint}: ${errorMessage(cause ?? e)}`,
        {
          cause: e,
          retryable: false,
        },
      );
    }
    const format = await db.get(FORMAT);
    if (format === undefined) {
      await db.put(FORMAT, String(FORMAT_VERSION), { sync: true });
    } else if (Number(format) !== FORMAT_VERSION) {
      await db.close();
      throw new StdchkError(
        'INVALID_ARGUMENT',
        `scheduler database ${location} has format ${format}; this stdchk reads ${FORMAT_VERSION}`,
      );
    }
    return new LevelSchedulerStore(db);
  }

  async load(): Promise<SchedulerState> {
    const jobs: JobRecord[] = [];
    for await (const [, v] of this.db.iterator({ gte: JOB, lt: 'job0' }))
      jobs.push(JSON.parse(v) as JobRecord);
    const workers: WorkerRecord[] = [];
    for await (const [, v] of this.db.iterator({ gte: WORKER, lt: 'worker0' }))
      workers.push(JSON.parse(v) as WorkerRecord);
    const g = await this.db.get(GRID);
    return { jobs, workers, grid: g ? (JSON.parse(g) as GridRecord) : emptyGrid() };
  }

  async save(changes: { jobs?: JobRecord[]; workers?: WorkerRecord[]; grid?: GridRecord }): Promise<void> {
    const ops: { type: 'put'; key: string; value: string }[] = [];
    for (const j of changes.jobs ?? []) ops.push({ type: 'put', key: JOB + j.id, value: JSON.stringify(j) });
    for (const w of changes.workers ?? [])
      ops.push({ type: 'put', key: WORKER + w.id, value: JSON.stringify(w) });
    if (changes.grid) ops.push({ type: 'put', key: GRID, value: JSON.stringify(changes.grid) });
    if (ops.length) await this.db.batch(ops, { sync: true });
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/** In memory, for tests of the scheduling logic. Stores copies, like a database would. */
export class MemorySchedulerStore implements SchedulerStore {
  private readonly data = new Map<string, string>();

  async load(): Promise<SchedulerState> {
    const jobs: JobRecord[] = [];
    const workers: WorkerRecord[] = [];
    let grid = emptyGrid();
    for (const [k, v] of [...this.data].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (k.startsWith(JOB)) jobs.push(JSON.parse(v) as JobRecord);
      else if (k.startsWith(WORKER)) workers.push(JSON.parse(v) as WorkerRecord);
      else if (k === GRID) grid = JSON.parse(v) as GridRecord;
    }
    return { jobs, workers, grid };
  }

  async save(changes: { jobs?: JobRecord[]; workers?: WorkerRecord[]; grid?: GridRecord }): Promise<void> {
    for (const j of changes.jobs ?? []) this.data.set(JOB + j.id, JSON.stringify(j));
    for (const w of changes.workers ?? []) this.data.set(WORKER + w.id, JSON.stringify(w));
    if (changes.grid) this.data.set(GRID, JSON.stringify(changes.grid));
  }

  async close(): Promise<void> {}
}
