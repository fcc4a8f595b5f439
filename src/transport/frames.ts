import { StdchkError, invalid } from '../errors/index.ts';
import type { ErrorCode } from '../errors/index.ts';
import { HASH_BYTES } from '../hashing/index.ts';
import { MAX_CHUNK_BYTES, REF_BYTES } from '../chunking/refs.ts';

/**
 * The framed chunk stream (docs/data-path.md): chunk bytes between clients
 * and benefactors, and along a replication chain, outside gRPC. A connection
 * is a handshake (handshake.ts) and then frames in both directions. Every
 * frame is a fixed 16-byte header, type-specific metadata, and data:
 *
 *   offset size
 *   0      1    magic 0xD7
 *   1      1    version (1)
 *   2      1    type (FrameType)
 *   3      1    flags (FLAG_*; a bit this version does not define is refused)
 *   4      4    id: chosen by the client per request, echoed by every reply to it
 *   8      4    metadata length
 *   12     4    data length
 *
 * Integers are little-endian. Lengths are checked against the limits below
 * from the header alone, before anything of the frame is buffered: a frame
 * over them closes the connection. Metadata is parsed with bounds checks and
 * must be consumed exactly (trailing bytes are refused). Chunk data is not
 * copied per chunk: a received frame is one buffer and chunks are views into
 * it; a sent frame is written as header + metadata + the chunks' own buffers
 * (writev).
 */

export const FRAME_MAGIC = 0xd7;
export const FRAME_VERSION = 1;
export const HEADER_BYTES = 16;

export const FrameType = {
  /** Handshake, client -> server: flags, client nonce, expected server id. */
  HELLO: 1,
  /** Handshake, server -> client: flags, server nonce, server id, server proof. */
  WELCOME: 2,
  /** Handshake, client -> server: the client's proof. */
  PROOF: 3,
  /** Handshake, server -> client: the client is authenticated; requests may follow. */
  READY: 4,
  /** Store chunks here and on the rest of the chain. */
  STORE: 16,
  /** Per-replica outcomes of a STORE, in chain order. */
  STORE_ACK: 17,
  /** Read chunks by hash. */
  READ: 18,
  /** Chunks of a READ, in request order; FLAG_MORE on every reply but the last. */
  READ_REPLY: 19,
  /** A request (id > 0) or the connection (id 0, then closed) was refused. */
  ERROR: 31,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];
const TYPE_NAMES = new Map<number, string>(Object.entries(FrameType).map(([k, v]) => [v, k]));

export function frameTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `unknown type ${type}`;
}

/** READ_REPLY: more replies to this request follow. */
export const FLAG_MORE = 1;
const KNOWN_FLAGS: Partial<Record<number, number>> = { [FrameType.READ_REPLY]: FLAG_MORE };

/** Largest metadata part (a READ of 65,536 hashes is 2 MiB). */
export const MAX_META_BYTES = 4 * 1024 * 1024;
/** Largest data part: the chunks of one STORE or READ_REPLY (as a gRPC StoreRequest's). */
export const MAX_DATA_BYTES = 32 * 1024 * 1024;
/** Handshake frames are small and carry no data. */
export const MAX_HANDSHAKE_META_BYTES = 512;
/** Most chunks in one STORE or READ_REPLY. */
export const MAX_FRAME_CHUNKS = 4096;
/** Most hashes in one READ (the shared batch limit). */
export const MAX_READ_HASHES = 65_536;
/** Most benefactors after the first in a STORE's chain (replicas are at most 16). */
export const MAX_CHAIN = 15;
/** Most entries in a STORE_ACK. */
export const MAX_ACK_ENTRIES = MAX_CHAIN + 1;
/** Longest error message carried. */
export const MAX_MESSAGE_CHARS = 1024;
/** Longest a STORE may ask for (ms). */
export const MAX_TIMEOUT_MS = 10 * 60_000;

export interface FrameHeader {
  type: number;
  flags: number;
  id: number;
  metaLength: number;
  dataLength: number;
}

export interface Frame extends FrameHeader {
  meta: Buffer;
  data: Buffer;
}

/** Limits a decoder enforces from each header. */
export interface FrameLimits {
  maxMetaBytes: number;
  maxDataBytes: number;
  /** Types accepted; others are a protocol error. */
  types: ReadonlySet<number>;
}

export function encodeHeader(h: FrameHeader): Buffer {
  const b = Buffer.allocUnsafe(HEADER_BYTES);
  b[0] = FRAME_MAGIC;
  b[1] = FRAME_VERSION;
  b[2] = h.type;
  b[3] = h.flags;
  b.writeUInt32LE(h.id >>> 0, 4);
  b.writeUInt32LE(h.metaLength, 8);
  b.writeUInt32LE(h.dataLength, 12);
  return b;
}

/** A frame as buffers to write in order: header, metadata, then data parts. */
export function frameParts(
  type: number,
  id: number,
  meta: Buffer,
  data: readonly Buffer[] = [],
  flags = 0,
): Buffer[] {
  const dataLength = data.reduce((n, d) => n + d.length, 0);
  const header = encodeHeader({ type, flags, id, metaLength: meta.length, dataLength });
  return meta.length > 0 ? [header, meta, ...data] : [header, ...data];
}

/** A protocol violation: the connection is not usable any more (the peer is told, then it is closed). */
export class ProtocolError extends StdchkError {}

/** Validates a header against the limits; throws ProtocolError. */
export function decodeHeader(b: Buffer, limits: FrameLimits): FrameHeader {
  if (b[0] !== FRAME_MAGIC) {
    throw new ProtocolError(
      'INVALID_ARGUMENT',
      `not a stdchk data frame (first byte 0x${b[0]?.toString(16)})`,
    );
  }
  if (b[1] !== FRAME_VERSION) {
    throw new ProtocolError(
      'INVALID_ARGUMENT',
      `frame version ${b[1]}, this benefactor speaks ${FRAME_VERSION}`,
    );
  }
  const type = b[2] as number;
  if (!limits.types.has(type)) {
    throw new ProtocolError('INVALID_ARGUMENT', `unexpected frame: ${frameTypeName(type)}`);
  }
  const flags = b[3] as number;
  if ((flags & ~(KNOWN_FLAGS[type] ?? 0)) !== 0) {
    throw new ProtocolError(
      'INVALID_ARGUMENT',
      `unknown flags 0x${flags.toString(16)} on a ${frameTypeName(type)} frame`,
    );
  }
  const h = {
    type,
    flags,
    id: b.readUInt32LE(4),
    metaLength: b.readUInt32LE(8),
    dataLength: b.readUInt32LE(12),
  };
  if (h.metaLength > limits.maxMetaBytes) {
    throw new ProtocolError(
      'TOO_LARGE',
      `${frameTypeName(type)} metadata of ${h.metaLength} bytes; at most ${limits.maxMetaBytes}`,
    );
  }
  if (h.dataLength > limits.maxDataBytes) {
    throw new ProtocolError(
      'TOO_LARGE',
      `${frameTypeName(type)} data of ${h.dataLength} bytes; at most ${limits.maxDataBytes}`,
    );
  }
  return h;
}

/**
 * Cuts a byte stream into frames. Each frame's metadata and data come in one
 * buffer: a view of the received piece when the frame lies inside it, else
 * one buffer of the frame's size that the pieces are copied into as they
 * arrive (no list of pieces, no second copy). A header that breaks the
 * limits throws ProtocolError from push(); the decoder is then unusable.
 */
export class FrameDecoder {
  private readonly header = Buffer.allocUnsafe(HEADER_BYTES);
  private headerFill = 0;
  private current: FrameHeader | undefined;
  private body: Buffer | undefined;
  private bodyFill = 0;
  private failed = false;

  constructor(
    public limits: FrameLimits,
    private readonly onFrame: (frame: Frame) => void,
  ) {}

  /** Bytes of a frame received but not yet complete. */
  get buffered(): number {
    return this.current ? this.bodyFill : this.headerFill;
  }

  push(piece: Buffer): void {
    if (this.failed) return;
    try {
      this.consume(piece);
    } catch (e) {
      this.failed = true;
      throw e;
    }
  }

  private consume(piece: Buffer): void {
    let pos = 0;
    while (pos < piece.length || (this.current && this.bodyLength() === 0)) {
      if (!this.current) {
        const n = Math.min(HEADER_BYTES - this.headerFill, piece.length - pos);
        piece.copy(this.header, this.headerFill, pos, pos + n);
        this.headerFill += n;
        pos += n;
        if (this.headerFill < HEADER_BYTES) return;
        this.headerFill = 0;
        this.current = decodeHeader(this.header, this.limits);
        this.bodyFill = 0;
        this.body = undefined;
      }
      const h = this.current;
      const total = this.bodyLength();
      if (!this.body) {
        if (piece.length - pos >= total) {
          // The whole body is in this piece: a view, no copy.
          this.body = piece.subarray(pos, pos + total);
          pos += total;
          this.bodyFill = total;
        } else {
          this.body = Buffer.allocUnsafe(total);
        }
      }
      if (this.bodyFill < total) {
        const n = Math.min(total - this.bodyFill, piece.length - pos);
        piece.copy(this.body, this.bodyFill, pos, pos + n);
        this.bodyFill += n;
        pos += n;
        if (this.bodyFill < total) return;
      }
      const body = this.body;
      this.current = undefined;
      this.body = undefined;
      this.bodyFill = 0;
      this.onFrame({
        ...h,
        meta: body.subarray(0, h.metaLength),
        data: body.subarray(h.metaLength),
      });
      // A handler may have changed the limits (handshake done) or failed the connection.
      if (this.failed) return;
    }
  }

  private bodyLength(): number {
    return this.current ? this.current.metaLength + this.current.dataLength : 0;
  }

  /** Stops decoding (the connection is closing). */
  stop(): void {
    this.failed = true;
  }
}

// ---------------------------------------------------------------- metadata

/** Bounds-checked reads over a metadata buffer; every malformed field throws INVALID_ARGUMENT. */
export class MetaReader {
  private pos = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  private need(n: number, field: string): void {
    if (this.pos + n > this.buf.length) {
      throw invalid(`${this.what}: metadata ends inside ${field} (${this.buf.length} bytes)`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++] as number;
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  /** An unsigned 64-bit value that must be a safe integer. */
  u64(field: string): number {
    this.need(8, field);
    const lo = this.buf.readUInt32LE(this.pos);
    const hi = this.buf.readUInt32LE(this.pos + 4);
    this.pos += 8;
    if (hi >= 2 ** 21) throw invalid(`${this.what}: ${field} is not below 2^53`);
    return hi * 2 ** 32 + lo;
  }

  bytes(n: number, field: string): Buffer {
    this.need(n, field);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A string of `len` bytes that must be printable ASCII matching `pattern`. */
  ascii(len: number, field: string, pattern: RegExp): string {
    const s = this.bytes(len, field).toString('latin1');
    if (!pattern.test(s)) throw invalid(`${this.what}: malformed ${field}`);
    return s;
  }

  utf8(len: number, field: string): string {
    return this.bytes(len, field).toString('utf8');
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** The metadata must be used up exactly: unknown trailing fields are refused. */
  end(): void {
    if (this.pos !== this.buf.length) {
      throw invalid(`${this.what}: ${this.buf.length - this.pos} unknown bytes after the last field`);
    }
  }
}

/** Builds metadata into a growable buffer. */
export class MetaWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.pos++] = v;
    return this;
  }

  u16(v: number): this {
    this.room(2);
    this.buf.writeUInt16LE(v, this.pos);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    this.room(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  u64(v: number): this {
    this.room(8);
    this.buf.writeUInt32LE(v % 2 ** 32, this.pos);
    this.buf.writeUInt32LE(Math.floor(v / 2 ** 32), this.pos + 4);
    this.pos += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** A string with a u8 length prefix. */
  str8(s: string, encoding: BufferEncoding = 'latin1'): this {
    const b = Buffer.from(s, encoding);
    if (b.length > 255) throw invalid(`string of ${b.length} bytes in a u8-length field`);
    return this.u8(b.length).bytes(b);
  }

  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Benefactor ids (as validation/index.ts). */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** HOST:PORT, printable ASCII without spaces. */
const ADDRESS_PATTERN = /^[!-~]{3,255}$/;

// ---------------------------------------------------------------- STORE

/** A benefactor further down a chain: the id it must answer the handshake with, and where. */
export interface ChainHop {
  id: string;
  dataAddress: string;
}

/** A chunk's hash and bytes. */
export interface FrameChunk {
  hash: Buffer;
  data: Buffer;
}

export interface StoreRequest {
  /** How long the receiver may take, forwarding included (ms). */
  timeoutMs: number;
  /** Where to forward after storing here, in order. */
  chain: ChainHop[];
  /** Packed refs (32-byte hash + u32 LE length), as on gRPC. */
  refs: Buffer;
  chunks: FrameChunk[];
}

/** STORE metadata: u32 timeout ms, u8 chain length, hops (u8 id, u8 address), u32 chunk count, refs. */
export function encodeStoreMeta(timeoutMs: number, chain: readonly ChainHop[], refs: Buffer): Buffer {
  const w = new MetaWriter(16 + chain.length * 96 + refs.length);
  w.u32(timeoutMs).u8(chain.length);
  for (const hop of chain) w.str8(hop.id).str8(hop.dataAddress);
  return w
    .u32(refs.length / REF_BYTES)
    .bytes(refs)
    .done();
}

/** Packed refs of chunks (32-byte hash + u32 LE length each). */
export function packRefs(chunks: readonly FrameChunk[]): Buffer {
  const refs = Buffer.allocUnsafe(chunks.length * REF_BYTES);
  chunks.forEach((c, i) => {
    refs.set(c.hash, i * REF_BYTES);
    refs.writeUInt32LE(c.data.length, i * REF_BYTES + HASH_BYTES);
  });
  return refs;
}

/**
 * Splits data along packed refs (views, no copies), validating counts and
 * lengths: the refs must name exactly the data's bytes.
 */
export function splitByRefs(
  refs: Buffer,
  data: Buffer,
  what: string,
  maxChunks = MAX_FRAME_CHUNKS,
): FrameChunk[] {
  const count = refs.length / REF_BYTES;
  if (!Number.isInteger(count)) throw invalid(`${what}: refs of ${refs.length} bytes`);
  if (count > maxChunks) throw invalid(`${what}: ${count} chunks, at most ${maxChunks}`);
  const out: FrameChunk[] = new Array(count);
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const off = i * REF_BYTES;
    const length = refs.readUInt32LE(off + HASH_BYTES);
    if (length === 0 || length > MAX_CHUNK_BYTES) {
      throw invalid(`${what}: chunk ${i} has ${length} bytes, not 1..${MAX_CHUNK_BYTES}`);
    }
    if (pos + length > data.length) {
      throw invalid(`${what}: refs name ${pos + length}+ bytes but the data holds ${data.length}`);
    }
    out[i] = { hash: refs.subarray(off, off + HASH_BYTES), data: data.subarray(pos, pos + length) };
    pos += length;
  }
  if (pos !== data.length) throw invalid(`${what}: refs name ${pos} bytes but the data holds ${data.length}`);
  return out;
}

export function decodeStore(frame: Frame): StoreRequest {
  const what = `STORE ${frame.id}`;
  const r = new MetaReader(frame.meta, what);
  const timeoutMs = r.u32('timeout');
  if (timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS)
    throw invalid(`${what}: timeout ${timeoutMs} ms, not 1..${MAX_TIMEOUT_MS}`);
  const hops = r.u8('chain length');
  if (hops > MAX_CHAIN) throw invalid(`${what}: a chain of ${hops} more benefactors, at most ${MAX_CHAIN}`);
  const chain: ChainHop[] = [];
  for (let i = 0; i < hops; i++) {
    const id = r.ascii(r.u8('hop id length'), 'hop id', ID_PATTERN);
    const dataAddress = r.ascii(r.u8('hop address length'), 'hop address', ADDRESS_PATTERN);
    if (chain.some((h) => h.id === id)) throw invalid(`${what}: benefactor ${id} twice in the chain`);
    chain.push({ id, dataAddress });
  }
  const count = r.u32('chunk count');
  if (count < 1 || count > MAX_FRAME_CHUNKS)
    throw invalid(`${what}: ${count} chunks, not 1..${MAX_FRAME_CHUNKS}`);
  if (r.remaining !== count * REF_BYTES) {
    throw invalid(`${what}: ${count} refs need ${count * REF_BYTES} bytes, the metadata has ${r.remaining}`);
  }
  const refs = r.bytes(count * REF_BYTES, 'refs');
  r.end();
  return { timeoutMs, chain, refs, chunks: splitByRefs(refs, frame.data, what) };
}

// ---------------------------------------------------------------- STORE_ACK

/** What one replica of a chain did with a STORE. */
export type ReplicaResult =
  | { id: string; ok: true; stamp: number; stored: number; existing: number }
  | { id: string; ok: false; code: ErrorCode; message: string };

const ERROR_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'NOT_A_DIRECTORY',
  'IS_A_DIRECTORY',
  'NOT_EMPTY',
  'INVALID_ARGUMENT',
  'PERMISSION_DENIED',
  'UNAUTHENTICATED',
  'NO_SPACE',
  'UNAVAILABLE',
  'CONFLICT',
  'CORRUPT',
  'TIMEOUT',
  'TOO_LARGE',
  'INTERNAL',
]);

function errorCode(s: string): ErrorCode {
  return ERROR_CODES.has(s) ? (s as ErrorCode) : 'INTERNAL';
}

function cut(message: string): string {
  return message.length > MAX_MESSAGE_CHARS
    ? `${message.slice(0, MAX_MESSAGE_CHARS - 12)}... (cut)`
    : message;
}

/** STORE_ACK metadata: u8 count; per entry u8 id, u8 code (0: ok), then stamp/stored/existing or u16 message. */
export function encodeStoreAck(results: readonly ReplicaResult[]): Buffer {
  const w = new MetaWriter(64 * results.length + 8);
  w.u8(results.length);
  for (const r of results) {
    w.str8(r.id);
    if (r.ok) {
      w.u8(0).u64(r.stamp).u32(r.stored).u32(r.existing);
    } else {
      const msg = Buffer.from(cut(r.message), 'utf8');
      w.str8(r.code).u16(msg.length).bytes(msg);
    }
  }
  return w.done();
}

export function decodeStoreAck(frame: Frame): ReplicaResult[] {
  const r = new MetaReader(frame.meta, `STORE_ACK ${frame.id}`);
  const n = r.u8('count');
  if (n > MAX_ACK_ENTRIES) throw invalid(`STORE_ACK ${frame.id}: ${n} entries`);
  const out: ReplicaResult[] = [];
  for (let i = 0; i < n; i++) {
    const id = r.ascii(r.u8('id length'), 'replica id', ID_PATTERN);
    const codeLength = r.u8('code length');
    if (codeLength === 0) {
      out.push({ id, ok: true, stamp: r.u64('stamp'), stored: r.u32('stored'), existing: r.u32('existing') });
    } else {
      const code = errorCode(r.ascii(codeLength, 'error code', /^[A-Z_]{1,32}$/));
      out.push({ id, ok: false, code, message: r.utf8(r.u16('message length'), 'message') });
    }
  }
  r.end();
  if (frame.data.length) throw invalid(`STORE_ACK ${frame.id}: unexpected data`);
  return out;
}

// ---------------------------------------------------------------- READ / READ_REPLY

export function encodeReadMeta(hashes: readonly Uint8Array[]): Buffer {
  const w = new MetaWriter(4 + hashes.length * HASH_BYTES);
  w.u32(hashes.length);
  for (const h of hashes) w.bytes(h);
  return w.done();
}

export function decodeRead(frame: Frame): Buffer[] {
  const what = `READ ${frame.id}`;
  const r = new MetaReader(frame.meta, what);
  const n = r.u32('count');
  if (n < 1 || n > MAX_READ_HASHES) throw invalid(`${what}: ${n} hashes, not 1..${MAX_READ_HASHES}`);
  if (r.remaining !== n * HASH_BYTES) {
    throw invalid(`${what}: ${n} hashes need ${n * HASH_BYTES} bytes, the metadata has ${r.remaining}`);
  }
  const hashes: Buffer[] = new Array(n);
  for (let i = 0; i < n; i++) hashes[i] = r.bytes(HASH_BYTES, 'hash');
  r.end();
  if (frame.data.length) throw invalid(`${what}: unexpected data`);
  return hashes;
}

/** READ_REPLY metadata: u32 count, then per hash asked 32-byte hash + u32 length (0: not held here). */
export function encodeReadReplyMeta(
  entries: readonly { hash: Uint8Array; data: Buffer | undefined }[],
): Buffer {
  const w = new MetaWriter(4 + entries.length * REF_BYTES);
  w.u32(entries.length);
  for (const e of entries) w.bytes(e.hash).u32(e.data?.length ?? 0);
  return w.done();
}

/** The chunks of a READ_REPLY (views) and the hashes it says are not held. */
export function decodeReadReply(frame: Frame): { chunks: FrameChunk[]; missing: Buffer[] } {
  const what = `READ_REPLY ${frame.id}`;
  const r = new MetaReader(frame.meta, what);
  const n = r.u32('count');
  if (n > MAX_READ_HASHES) throw invalid(`${what}: ${n} entries`);
  if (r.remaining !== n * REF_BYTES) throw invalid(`${what}: ${n} entries in ${r.remaining} bytes`);
  const chunks: FrameChunk[] = [];
  const missing: Buffer[] = [];
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const hash = r.bytes(HASH_BYTES, 'hash');
    const length = r.u32('length');
    if (length === 0) {
      missing.push(hash);
      continue;
    }
    if (length > MAX_CHUNK_BYTES || pos + length > frame.data.length) {
      throw invalid(`${what}: entry ${i} names bytes the data does not hold`);
    }
    chunks.push({ hash, data: frame.data.subarray(pos, pos + length) });
    pos += length;
  }
  r.end();
  if (pos !== frame.data.length) throw invalid(`${what}: ${frame.data.length - pos} bytes of data left over`);
  return { chunks, missing };
}

// ---------------------------------------------------------------- ERROR

export function encodeErrorMeta(code: ErrorCode, message: string): Buffer {
  const msg = Buffer.from(cut(message), 'utf8');
  return new MetaWriter(2 + code.length + msg.length).str8(code).bytes(msg).done();
}

export function decodeError(frame: Frame): StdchkError {
  try {
    const r = new MetaReader(frame.meta, `ERROR ${frame.id}`);
    const code = errorCode(r.ascii(r.u8('code length'), 'error code', /^[A-Z_]{1,32}$/));
    return new StdchkError(code, r.utf8(r.remaining, 'message'));
  } catch {
    return new StdchkError('INTERNAL', `a malformed ERROR frame (${frame.meta.length} bytes)`);
  }
}
