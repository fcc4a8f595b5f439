import { HASH_BYTES } from '../hashing/index.ts';
import { MAX_CHUNK_BYTES } from '../chunking/refs.ts';

/**
 * On-disk format of the pack store (version 1). Changing it needs a new magic.
 *
 * packs/NNNNNNNNNN.pack: records appended back to back, each
 *   magic "sck1" (4 bytes) | BLAKE3-256 of the data (32) | data length, uint32 LE (4) | data
 * There is no per-pack index: the store rebuilds its index by scanning headers.
 * Pack ids only grow and are never reused (the newest pack is never deleted).
 *
 * deleted.log: append-only, fixed 40-byte entries naming a deleted record by
 * position, so a later re-put of the same chunk (a new record) stays live:
 *   pack id uint32 LE | record offset uint32 LE | hash (32)
 */
export const RECORD_MAGIC = Buffer.from('sck1', 'latin1');
export const HEADER_BYTES = RECORD_MAGIC.length + HASH_BYTES + 4;
export const DELETION_ENTRY_BYTES = 8 + HASH_BYTES;

export const PACKS_DIR = 'packs';
export const DELETION_LOG = 'deleted.log';
export const LOCK_FILE = 'lock';

const PACK_NAME = /^(\d{10})\.pack$/;

export function packFileName(id: number): string {
  return `${String(id).padStart(10, '0')}.pack`;
}

export function parsePackFileName(name: string): number | undefined {
  const m = PACK_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function writeHeader(out: Buffer, offset: number, hash: Buffer, length: number): void {
  RECORD_MAGIC.copy(out, offset);
  hash.copy(out, offset + RECORD_MAGIC.length);
  out.writeUInt32LE(length, offset + RECORD_MAGIC.length + HASH_BYTES);
}

/** The header at buf[offset..], or undefined if those bytes are not a plausible header. */
export function readHeader(buf: Buffer, offset = 0): { hash: Buffer; length: number } | undefined {
  if (buf.length - offset < HEADER_BYTES) return undefined;
  if (buf.compare(RECORD_MAGIC, 0, RECORD_MAGIC.length, offset, offset + RECORD_MAGIC.length) !== 0)
    return undefined;
  const length = buf.readUInt32LE(offset + RECORD_MAGIC.length + HASH_BYTES);
  if (length === 0 || length > MAX_CHUNK_BYTES) return undefined;
  const start = offset + RECORD_MAGIC.length;
  return { hash: Buffer.from(buf.subarray(start, start + HASH_BYTES)), length };
}

export interface DeletionEntry {
  pack: number;
  offset: number;
  hash: Buffer;
}

export function encodeDeletion(e: DeletionEntry): Buffer {
  const out = Buffer.allocUnsafe(DELETION_ENTRY_BYTES);
  out.writeUInt32LE(e.pack, 0);
  out.writeUInt32LE(e.offset, 4);
  e.hash.copy(out, 8);
  return out;
}

export function decodeDeletion(buf: Buffer, offset: number): DeletionEntry {
  return {
    pack: buf.readUInt32LE(offset),
    offset: buf.readUInt32LE(offset + 4),
    hash: Buffer.from(buf.subarray(offset + 8, offset + DELETION_ENTRY_BYTES)),
  };
}
