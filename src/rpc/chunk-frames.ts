import { StdchkError, invalid } from '../errors/index.ts';
import { HASH_BYTES } from '../hashing/index.ts';
import { MAX_CHUNK_BYTES, REF_BYTES } from '../chunking/refs.ts';

/**
 * Hand-encoded StoreRequest and ReadReply messages (proto/benefactor.proto).
 * They are ordinary protobuf on the wire, so any gRPC client can speak them,
 * but the hot paths skip protobufjs: it would copy every chunk into its
 * writer, per message and per replica. Here a message is built in one
 * allocation, a writer encodes it once and sends the same bytes to every
 * replica, and decoding (protobufjs, two big bytes fields) only takes views.
 */
export interface ChunkPayload {
  hash: Buffer;
  data: Buffer;
}

/** Most chunks in one StoreRequest or ReadReply. */
export const MAX_CHUNKS_PER_MESSAGE = 4096;
/** Most chunk bytes in one StoreRequest. */
export const MAX_DATA_BYTES_PER_MESSAGE = 32 * 1024 * 1024;

let lastSeq = 0;
/** Store sequence numbers, unique in this process so one encoded request can ride any stream. */
export function nextStoreSeq(): number {
  return ++lastSeq;
}

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;

function varintBytes(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    bytes++;
  }
  return bytes;
}

function writeVarint(out: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[pos++] = n;
  return pos;
}

/** A bytes field made of parts that are concatenated on the wire. */
interface BytesField {
  field: number;
  parts: readonly Uint8Array[];
}

/** One protobuf message: an optional leading uint64 field, then bytes fields, in one allocation. */
function encodeMessage(varint: { field: number; value: number } | undefined, fields: BytesField[]): Buffer {
  const lengths = fields.map((f) => f.parts.reduce((n, p) => n + p.length, 0));
  let size = varint && varint.value !== 0 ? 1 + varintBytes(varint.value) : 0;
  fields.forEach((f, i) => {
    const len = lengths[i] as number;
    if (len > 0) size += 1 + varintBytes(len) + len;
  });
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  if (varint && varint.value !== 0) {
    out[pos++] = (varint.field << 3) | WIRE_VARINT;
    pos = writeVarint(out, pos, varint.value);
  }
  fields.forEach((f, i) => {
    const len = lengths[i] as number;
    if (len === 0) return;
    out[pos++] = (f.field << 3) | WIRE_BYTES;
    pos = writeVarint(out, pos, len);
    for (const p of f.parts) {
      out.set(p, pos);
      pos += p.length;
    }
  });
  return out;
}

function packRefs(chunks: readonly ChunkPayload[]): Buffer {
  const refs = Buffer.allocUnsafe(chunks.length * REF_BYTES);
  chunks.forEach((c, i) => {
    refs.set(c.hash, i * REF_BYTES);
    refs.writeUInt32LE(c.data.length, i * REF_BYTES + HASH_BYTES);
  });
  return refs;
}

/** A StoreRequest: seq = 1, refs = 2, data = 3. */
export function encodeStoreRequest(seq: number, chunks: readonly ChunkPayload[]): Buffer {
  return encodeMessage({ field: 1, value: seq }, [
    { field: 2, parts: [packRefs(chunks)] },
    { field: 3, parts: chunks.map((c) => c.data) },
  ]);
}

/** A ReadReply: refs = 1, data = 2, missing = 3. */
export function encodeReadReply(chunks: readonly ChunkPayload[], missing: readonly Buffer[]): Buffer {
  return encodeMessage(undefined, [
    { field: 1, parts: [packRefs(chunks)] },
    { field: 2, parts: chunks.map((c) => c.data) },
    { field: 3, parts: missing },
  ]);
}

/**
 * Splits packed refs + concatenated data back into chunks (views, no copies),
 * validating counts and lengths; throws INVALID_ARGUMENT or TOO_LARGE.
 */
export function splitChunks(refs: Uint8Array, data: Uint8Array, what: string): ChunkPayload[] {
  if (refs.length % REF_BYTES !== 0) {
    throw invalid(`${what}: refs length ${refs.length} is not a multiple of ${REF_BYTES}`);
  }
  const count = refs.length / REF_BYTES;
  if (count > MAX_CHUNKS_PER_MESSAGE) {
    throw invalid(`${what}: ${count} chunks, at most ${MAX_CHUNKS_PER_MESSAGE}`);
  }
  if (data.length > MAX_DATA_BYTES_PER_MESSAGE) {
    throw new StdchkError(
      'TOO_LARGE',
      `${what}: more than ${MAX_DATA_BYTES_PER_MESSAGE} bytes of chunks in one message`,
    );
  }
  const r = Buffer.from(refs.buffer, refs.byteOffset, refs.byteLength);
  const d = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out: ChunkPayload[] = new Array(count);
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const off = i * REF_BYTES;
    const length = r.readUInt32LE(off + HASH_BYTES);
    if (length === 0 || length > MAX_CHUNK_BYTES) {
      throw invalid(`${what}: chunk ${i} has ${length} bytes, not 1..${MAX_CHUNK_BYTES}`);
    }
    if (pos + length > d.length) {
      throw invalid(`${what}: refs name ${pos + length}+ bytes but data holds ${d.length}`);
    }
    out[i] = { hash: r.subarray(off, off + HASH_BYTES), data: d.subarray(pos, pos + length) };
    pos += length;
  }
  if (pos !== d.length) throw invalid(`${what}: refs name ${pos} bytes but data holds ${d.length}`);
  return out;
}
