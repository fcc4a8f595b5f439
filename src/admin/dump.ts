import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { StdchkError, errorMessage } from '../errors/index.ts';
import type { KeyValueStore, KvOp } from '../manager/kv.ts';
import { DATABASE_DIR } from '../manager/daemon.ts';

/**
 * The metadata dump file (`stdchk admin dump`): the manager's database records
 * as they were at one instant, loaded into a new data folder by `stdchk admin
 * load`. Layout: the 16-byte magic, then records (uint32 LE key length, key,
 * uint32 LE value length, value), then the trailer: "END!", the record count
 * (uint64 LE) and the SHA-256 of everything before the trailer.
 */
export const DUMP_MAGIC = Buffer.from('STDCHK-MDUMP-v1\n', 'latin1');
const TRAILER_TAG = Buffer.from('END!', 'latin1');
const TRAILER_BYTES = 4 + 8 + 32;

/** Writes a dump as its parts arrive: into FILE.tmp, fsynced, then renamed over FILE. */
export class DumpWriter {
  private readonly fd: number;
  private readonly tmp: string;
  private readonly hash = createHash('sha256');
  records = 0;
  bytes = 0;

  constructor(private readonly file: string) {
    this.tmp = `${file}.tmp`;
    try {
      this.fd = openSync(this.tmp, 'w', 0o600);
    } catch (e) {
      throw new StdchkError('INVALID_ARGUMENT', `cannot write ${file}: ${errorMessage(e)}`);
    }
    this.write(DUMP_MAGIC);
  }

  private write(buf: Buffer): void {
    this.hash.update(buf);
    let done = 0;
    while (done < buf.length) done += writeSync(this.fd, buf, done);
    this.bytes += buf.length;
  }

  add(records: Buffer, count: number): void {
    this.write(records);
    this.records += count;
  }

  finish(): void {
    const trailer = Buffer.alloc(TRAILER_BYTES);
    TRAILER_TAG.copy(trailer, 0);
    trailer.writeBigUInt64LE(BigInt(this.records), 4);
    this.hash.digest().copy(trailer, 12);
    writeSync(this.fd, trailer);
    this.bytes += trailer.length;
    fsyncSync(this.fd);
    closeSync(this.fd);
    renameSync(this.tmp, this.file);
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}

/** The records of a dump file, checked whole (magic, every length, count and checksum) before any is returned. */
export function readDump(file: string): [string, Buffer][] {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new StdchkError('INVALID_ARGUMENT', `cannot read ${file}: ${errorMessage(e)}`);
  }
  const bad = (why: string) =>
    new StdchkError('INVALID_ARGUMENT', `${file} is not a stdchk metadata dump: ${why}`);
  if (
    buf.length < DUMP_MAGIC.length + TRAILER_BYTES ||
    !buf.subarray(0, DUMP_MAGIC.length).equals(DUMP_MAGIC)
  )
    throw bad('no dump header');
  const end = buf.length - TRAILER_BYTES;
  if (!buf.subarray(end, end + 4).equals(TRAILER_TAG)) throw bad('no trailer (cut short?)');
  const sum = createHash('sha256').update(buf.subarray(0, end)).digest();
  if (!sum.equals(buf.subarray(end + 12))) throw bad('checksum mismatch (damaged)');
  const count = Number(buf.readBigUInt64LE(end + 4));
  const out: [string, Buffer][] = [];
  let off = DUMP_MAGIC.length;
  while (off < end) {
    if (off + 4 > end) throw bad('truncated record');
    const klen = buf.readUInt32LE(off);
    off += 4;
    if (off + klen + 4 > end) throw bad('truncated record');
    const key = buf.toString('utf8', off, off + klen);
    off += klen;
    const vlen = buf.readUInt32LE(off);
    off += 4;
    if (off + vlen > end) throw bad('truncated record');
    out.push([key, buf.subarray(off, off + vlen)]);
    off += vlen;
  }
  if (out.length !== count) throw bad(`${out.length} records, the trailer says ${count}`);
  if (!out.some(([k]) => k === 'm:format')) throw bad('no format record');
  return out;
}

/**
 * Loads a dump into a new manager data folder (missing or empty): the records
 * are written in batches, the last one synced; a manager started on the folder
 * then has the namespace, versions, chunk index and benefactor records as they
 * were at the dump, and benefactors report in as after a restart.
 */
export async function loadDump(
  file: string,
  dataDir: string,
  openKv: (location: string) => Promise<KeyValueStore>,
): Promise<{ records: number }> {
  const records = readDump(file);
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0)
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `${dataDir} is not empty: load into a new data folder (stop the manager, move its data folder away)`,
    );
  const kv = await openKv(path.join(dataDir, DATABASE_DIR));
  try {
    const BATCH = 10_000;
    for (let i = 0; i < records.length; i += BATCH) {
      const ops: KvOp[] = records
        .slice(i, i + BATCH)
        .map(([key, value]) => ({ type: 'put', key, value }) as const);
      await kv.batch(ops, { sync: i + BATCH >= records.length });
    }
  } finally {
    await kv.close();
  }
  return { records: records.length };
}
