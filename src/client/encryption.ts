import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { StdchkError, errorMessage } from '../errors/index.ts';
import { PRIVATE_FILE_MODE, checkPrivateFile } from '../config/private-files.ts';
import { hashChunk } from '../hashing/index.ts';
import type { ChunkPayload } from './benefactor-pool.ts';
import type { ChunkBatch, ChunkTarget, ChunkTransportKind, Chunks, ReplicaOutcome } from './chunks.ts';

/**
 * Chunk encryption for donated disks (docs/security.md, "Chunk
 * encryption"): a wrapper around any `Chunks` engine. Chunks are encrypted
 * on the client with the cluster key before they get their address, so a
 * benefactor stores, verifies (BLAKE3 of the stored bytes = the address)
 * and serves ciphertext it cannot read, and the manager indexes the
 * ciphertext's hash.
 *
 * Convergent: the nonce is HMAC-SHA256(nonce key, BLAKE3(plaintext)), so
 * the same plaintext always gives the same stored bytes and the same
 * address: dedup works as without encryption, across files and clients
 * holding the same key (and leaks, as all convergent encryption does,
 * which chunks are equal).
 *
 * Stored form: MAGIC (4) | key id (4) | nonce (12) | AES-256-GCM(plaintext) | tag (16);
 * the first 20 bytes are the GCM additional data. Keys from the cluster
 * key with HKDF-SHA256: the encryption key, the nonce key and the key id
 * (which tells a chunk of another key from a damaged one).
 */

export const ENCRYPTION_KEY_ENV = 'STDCHK_ENCRYPTION_KEY_FILE';
const MAGIC = Buffer.from([0x00, 0xe5, 0xc1, 0x7d]);
const KEY_ID_BYTES = 4;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const HEADER_BYTES = MAGIC.length + KEY_ID_BYTES + NONCE_BYTES;
/** Bytes an encrypted chunk takes beyond its plaintext. */
export const ENCRYPTION_OVERHEAD = HEADER_BYTES + TAG_BYTES;
const KEY_BYTES = 32;

/** The key id (hex) of a stored chunk in the encrypted form of a `plainLength`-byte plaintext, else undefined. */
export function encryptedKeyId(stored: Uint8Array, plainLength: number): string | undefined {
  if (stored.length !== plainLength + ENCRYPTION_OVERHEAD) return undefined;
  if (!Buffer.from(stored.buffer, stored.byteOffset, MAGIC.length).equals(MAGIC)) return undefined;
  return Buffer.from(stored.buffer, stored.byteOffset + MAGIC.length, KEY_ID_BYTES).toString('hex');
}

/** The cluster key's keys, and sealing/opening of one chunk. */
export class ChunkCipher {
  /** Names the key in stored chunks and logs (not secret: derived one-way). */
  readonly keyId: Buffer;
  private readonly encKey: Buffer;
  private readonly nonceKey: Buffer;

  constructor(clusterKey: Buffer) {
    if (clusterKey.length < KEY_BYTES) {
      throw new StdchkError('INVALID_ARGUMENT', `an encryption key has at least ${KEY_BYTES} bytes`);
    }
    const derive = (info: string, n: number) =>
      Buffer.from(hkdfSync('sha256', clusterKey, 'stdchk chunk encryption', info, n));
    this.encKey = derive('v1 aes-256-gcm key', KEY_BYTES);
    this.nonceKey = derive('v1 nonce key', KEY_BYTES);
    this.keyId = derive('v1 key id', KEY_ID_BYTES);
  }

  /** The stored form of a chunk whose plaintext hash is `plainHash`. Deterministic. */
  seal(plainHash: Uint8Array, data: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(HEADER_BYTES + data.length + TAG_BYTES);
    MAGIC.copy(out, 0);
    this.keyId.copy(out, MAGIC.length);
    const nonce = createHmac('sha256', this.nonceKey).update(plainHash).digest().subarray(0, NONCE_BYTES);
    nonce.copy(out, MAGIC.length + KEY_ID_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.encKey, nonce);
    cipher.setAAD(out.subarray(0, HEADER_BYTES));
    let off = HEADER_BYTES;
    off += cipher.update(data).copy(out, off);
    off += cipher.final().copy(out, off);
    cipher.getAuthTag().copy(out, off);
    return out;
  }

  /**
   * The plaintext of a stored chunk. Bytes not in the encrypted form are
   * returned as they are (chunks written while the cluster did not
   * encrypt); throws CORRUPT for a chunk of another key or one whose tag
   * does not verify.
   */
  open(stored: Buffer, what = 'chunk'): Buffer {
    if (stored.length < ENCRYPTION_OVERHEAD || !stored.subarray(0, MAGIC.length).equals(MAGIC)) return stored;
    const keyId = stored.subarray(MAGIC.length, MAGIC.length + KEY_ID_BYTES);
    if (!keyId.equals(this.keyId)) {
      throw new StdchkError(
        'CORRUPT',
        `${what} is encrypted with another cluster key (key id ${keyId.toString('hex')}; this client's is ${this.keyId.toString('hex')})`,
      );
    }
    const nonce = stored.subarray(MAGIC.length + KEY_ID_BYTES, HEADER_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.encKey, nonce);
    decipher.setAAD(stored.subarray(0, HEADER_BYTES));
    decipher.setAuthTag(stored.subarray(stored.length - TAG_BYTES));
    try {
      const body = decipher.update(stored.subarray(HEADER_BYTES, stored.length - TAG_BYTES));
      const last = decipher.final();
      return last.length === 0 ? body : Buffer.concat([body, last]);
    } catch {
      throw new StdchkError('CORRUPT', `${what} does not decrypt: its authentication tag does not verify`);
    }
  }
}

/**
 * Reads a cluster key file: 64 hex digits (256 bits), 0600 (or 0400) and
 * owned by this user or root, checked like the secret file.
 */
export function readEncryptionKeyFile(file: string): Buffer {
  let text: string;
  try {
    const fd = openSync(file, 'r');
    try {
      checkPrivateFile(file, fstatSync(fd), 'the encryption key file');
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if (e instanceof StdchkError) throw e;
    throw new StdchkError('INVALID_ARGUMENT', `cannot read encryption key file ${file}: ${errorMessage(e)}`);
  }
  const t = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(t)) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `encryption key file ${file} must hold 64 hex digits (make one with \`stdchk keygen\`)`,
    );
  }
  return Buffer.from(t, 'hex');
}

/** Writes a new random cluster key (0600, never over an existing file). */
export function writeEncryptionKeyFile(file: string): void {
  try {
    writeFileSync(file, randomBytes(KEY_BYTES).toString('hex') + '\n', {
      mode: PRIVATE_FILE_MODE,
      flag: 'wx',
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new StdchkError(
      'INVALID_ARGUMENT',
      code === 'EEXIST'
        ? `${file} exists; not replacing a key (chunks written with it could no longer be read)`
        : `cannot write ${file}: ${errorMessage(e)}`,
    );
  }
}

/**
 * Encrypts what it stores and decrypts what it reads, around another
 * engine. Writers turn each chunk into its stored form with `seal` before
 * the dedup lookup (the address is the hash of the stored bytes); `store`
 * and `batch` then see stored chunks only; `read` returns plaintexts by
 * stored hash, each verified against its hash by the inner engine first,
 * so a flipped bit on a donor's disk is a missing chunk there (read from
 * another replica) before it is a failed tag.
 */
export class EncryptedChunks implements Chunks {
  readonly kind: ChunkTransportKind;
  readonly encrypted = true;

  constructor(
    readonly inner: Chunks,
    readonly cipher: ChunkCipher,
  ) {
    this.kind = inner.kind;
  }

  seal(plainHash: Uint8Array, data: Uint8Array): ChunkPayload {
    const stored = this.cipher.seal(plainHash, data);
    return { hash: hashChunk(stored), data: stored };
  }

  /** Whether `plaintext` is the content of the chunk stored at `hash`. */
  matches(hash: Uint8Array, plaintext: Uint8Array): boolean {
    return this.seal(hashChunk(plaintext), plaintext).hash.equals(hash);
  }

  batch(chunks: readonly ChunkPayload[]): ChunkBatch {
    return this.inner.batch(chunks);
  }

  store(batch: ChunkBatch, targets: readonly ChunkTarget[], timeoutMs?: number): Promise<ReplicaOutcome[]> {
    return this.inner.store(batch, targets, timeoutMs);
  }

  async read(
    target: ChunkTarget,
    hashes: readonly Buffer[],
    timeoutMs?: number,
  ): Promise<Map<string, Buffer>> {
    const got = await this.inner.read(target, hashes, timeoutMs);
    const out = new Map<string, Buffer>();
    for (const [h, stored] of got) out.set(h, this.cipher.open(stored, `chunk ${h} from ${target.id}`));
    return out;
  }

  close(): void {
    this.inner.close();
  }
}
