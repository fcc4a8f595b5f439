import { StdchkError } from '../errors/index.ts';
import { NODE_TYPES } from './namespace.ts';
import type { Inode } from './namespace.ts';

/**
 * The manager's on-disk format (LevelDB keys and values) in one place, so a
 * format change is visible in one diff. Key spaces:
 *
 *   m:format            "1" or "2" (see FORMATS)
 *   m:nextInode         next inode number (decimal)
 *   i:<ino>             inode (JSON): its names (parent + name, more in links), so no separate dentries
 *   v:<ino>:<version>   a file version: header + packed chunk refs
 *   c:<hash hex>        chunk: length, refcount, target, zeroSince, holders
 *   b:<benefactor id>   benefactor registry entry (JSON), with its small number
 *   d:<benefactor id>   highest bound of a delete ever sent to it (decimal; see delete-ledger.ts)
 */
export const FORMAT_VERSION = '1';

/**
 * Formats this code reads. 2 is 1 plus inodes of the special types (fifo,
 * socket, char-device, block-device, with `rdev`) and with hard links
 * (`links`). A database stays at 1 until the first such inode is written;
 * that batch also writes "2", so a manager of before refuses the database
 * with a clear error instead of misreading it.
 */
export const FORMATS = ['1', '2'] as const;
export const LATEST_FORMAT = '2';

/** Does this inode need format 2 on disk? */
export function needsFormat2(node: Inode): boolean {
  return (
    !(node.type === 'file' || node.type === 'directory' || node.type === 'symlink') ||
    (node.links?.length ?? 0) > 0 ||
    (node.rdev ?? 0) !== 0
  );
}

export const KEYS = {
  format: 'm:format',
  nextInode: 'm:nextInode',
  inodePrefix: 'i:',
  inode: (ino: number) => `i:${ino}`,
  versionPrefix: 'v:',
  version: (ino: number, version: number) => `v:${ino}:${version}`,
  chunkPrefix: 'c:',
  chunk: (hashHex: string) => `c:${hashHex}`,
  benefactorPrefix: 'b:',
  benefactor: (id: string) => `b:${id}`,
  deleteBoundPrefix: 'd:',
  deleteBound: (id: string) => `d:${id}`,
} as const;

/** A persisted delete bound: a non-negative safe integer in decimal. */
export function decodeDeleteBound(key: string, value: Buffer): number {
  const text = value.toString('utf8');
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw corrupt(`delete bound ${key}`);
  return n;
}

function corrupt(what: string): StdchkError {
  return new StdchkError('CORRUPT', `metadata database: malformed ${what}`, { retryable: false });
}

/** "v:12:3" -> { ino: 12, version: 3 } */
export function parseVersionKey(key: string): { ino: number; version: number } {
  const m = /^v:(\d+):(\d+)$/.exec(key);
  if (!m) throw corrupt(`version key ${key}`);
  return { ino: Number(m[1]), version: Number(m[2]) };
}

// Inodes are few compared with chunks; JSON keeps them readable with `ldb dump`.
export function encodeInode(node: Inode): Buffer {
  return Buffer.from(JSON.stringify(node), 'utf8');
}

export function decodeInode(key: string, value: Buffer): Inode {
  try {
    const n = JSON.parse(value.toString('utf8')) as Inode;
    if (typeof n.ino !== 'number' || typeof n.name !== 'string' || !NODE_TYPES.includes(n.type)) throw 0;
    if (typeof n.parent !== 'number' || typeof n.mode !== 'number') throw 0;
    if (n.links !== undefined) {
      if (!Array.isArray(n.links) || n.type === 'directory') throw 0;
      for (const l of n.links) if (typeof l?.parent !== 'number' || typeof l.name !== 'string') throw 0;
    }
    if (n.rdev !== undefined && !Number.isSafeInteger(n.rdev)) throw 0;
    return n;
  } catch {
    throw corrupt(`inode ${key}`);
  }
}

/** A committed file version: the refs stay packed exactly as they came over the wire. */
export interface VersionRecord {
  size: number;
  mtimeMs: number;
  replicas: number;
  refs: Buffer;
}

const VERSION_HEADER = 20; // u8 format, u8 replicas, u16 reserved, f64 size, f64 mtimeMs

export function encodeVersion(v: VersionRecord): Buffer {
  const out = Buffer.allocUnsafe(VERSION_HEADER + v.refs.length);
  out.writeUInt8(1, 0);
  out.writeUInt8(v.replicas, 1);
  out.writeUInt16LE(0, 2);
  out.writeDoubleLE(v.size, 4);
  out.writeDoubleLE(v.mtimeMs, 12);
  v.refs.copy(out, VERSION_HEADER);
  return out;
}

export function decodeVersion(key: string, value: Buffer): VersionRecord {
  if (value.length < VERSION_HEADER || value[0] !== 1 || (value.length - VERSION_HEADER) % 36 !== 0) {
    throw corrupt(`version ${key}`);
  }
  return {
    replicas: value.readUInt8(1),
    size: value.readDoubleLE(4),
    mtimeMs: value.readDoubleLE(12),
    refs: value.subarray(VERSION_HEADER),
  };
}

/** What is persisted per chunk; holders are registry numbers, not ids, to stay small. */
export interface ChunkRecord {
  length: number;
  refcount: number;
  target: number;
  zeroSince: number;
  /** Some committed version referenced it once (else: an upload not committed yet). */
  referenced: boolean;
  holders: ArrayLike<number>;
}

const CHUNK_HEADER = 20; // u8 format, u8 target, u8 holders, u8 flags, u32 length, u32 refcount, f64 zeroSince
const CHUNK_REFERENCED = 1;

export function encodeChunk(c: ChunkRecord): Buffer {
  const n = c.holders.length;
  const out = Buffer.allocUnsafe(CHUNK_HEADER + 2 * n);
  out.writeUInt8(1, 0);
  out.writeUInt8(c.target, 1);
  out.writeUInt8(n, 2);
  out.writeUInt8(c.referenced ? CHUNK_REFERENCED : 0, 3);
  out.writeUInt32LE(c.length, 4);
  out.writeUInt32LE(c.refcount, 8);
  out.writeDoubleLE(c.zeroSince, 12);
  for (let i = 0; i < n; i++) out.writeUInt16LE(c.holders[i] as number, CHUNK_HEADER + 2 * i);
  return out;
}

export function decodeChunk(key: string, value: Buffer): ChunkRecord {
  if (value.length < CHUNK_HEADER || value[0] !== 1) throw corrupt(`chunk ${key}`);
  const n = value.readUInt8(2);
  if (value.length !== CHUNK_HEADER + 2 * n) throw corrupt(`chunk ${key}`);
  const holders: number[] = [];
  for (let i = 0; i < n; i++) holders.push(value.readUInt16LE(CHUNK_HEADER + 2 * i));
  return {
    target: value.readUInt8(1),
    length: value.readUInt32LE(4),
    refcount: value.readUInt32LE(8),
    zeroSince: value.readDoubleLE(12),
    referenced: (value.readUInt8(3) & CHUNK_REFERENCED) !== 0,
    holders,
  };
}

export interface BenefactorRecord {
  num: number;
  id: string;
  host: string;
  address: string;
  /** Its framed chunk stream (absent from benefactors without one, and from older records). */
  dataAddress?: string | undefined;
  /** The same stream's Unix socket, for clients on its host. */
  dataSocket?: string | undefined;
  /** The machine of that socket (its kernel's boot id). */
  dataSocketHost?: string | undefined;
  capacityBytes: number;
  usedBytes: number;
  freeBytes: number;
  chunks: number;
  /** Set by `stdchk benefactor drain`: its copies move elsewhere, then it is retired. */
  drain?: DrainState;
}

/** A benefactor being emptied (stdchk benefactor drain), or emptied and out of service. */
export type DrainState = 'draining' | 'retired';

export function encodeBenefactor(b: BenefactorRecord): Buffer {
  const {
    num,
    id,
    host,
    address,
    dataAddress,
    dataSocket,
    dataSocketHost,
    capacityBytes,
    usedBytes,
    freeBytes,
    chunks,
    drain,
  } = b;
  return Buffer.from(
    JSON.stringify({
      num,
      id,
      host,
      address,
      dataAddress,
      dataSocket,
      dataSocketHost,
      capacityBytes,
      usedBytes,
      freeBytes,
      chunks,
      ...(drain ? { drain } : {}),
    }),
    'utf8',
  );
}

export function decodeBenefactor(key: string, value: Buffer): BenefactorRecord {
  try {
    const b = JSON.parse(value.toString('utf8')) as BenefactorRecord;
    if (typeof b.num !== 'number' || typeof b.id !== 'string') throw 0;
    if (b.drain !== undefined && b.drain !== 'draining' && b.drain !== 'retired') throw 0;
    return b;
  } catch {
    throw corrupt(`benefactor ${key}`);
  }
}
