import { setTimeout as sleep } from 'node:timers/promises';
import type { StorageClient } from './storage-client.ts';
import type { Chunk } from '../chunking/chunker.ts';
import { encodeRefs } from '../chunking/refs.ts';
import { hashChunk, hex } from '../hashing/index.ts';
import { StdchkError, isStdchkError } from '../errors/index.ts';
import { unary } from '../rpc/index.ts';
import type { FileInfo__Output } from '../generated/stdchk/v1/FileInfo.ts';
import type { ReportStoredRequest } from '../generated/stdchk/v1/ReportStoredRequest.ts';

/** A chunk of the version being committed, with its offset in the file. */
export interface PlacedChunk {
  hash: Buffer;
  length: number;
  offset: number;
}

/**
 * Gives back a chunk's bytes if the writer's owner still has them (a local
 * file being put, a scratch file, a chunk cache); undefined if not. The bytes
 * are checked against the hash before use.
 */
export type RecoverChunk = (chunk: PlacedChunk) => Promise<Buffer | undefined> | Buffer | undefined;

export interface CommitRecoveryOptions {
  client: StorageClient;
  path: string;
  /** The CommitVersion call itself (one attempt). */
  commit(): Promise<FileInfo__Output>;
  /** Every non-hole chunk of the version, in file order. */
  chunks(): Iterable<PlacedChunk>;
  /** The ReportStored requests this writer made: sent again after a manager restart lost them. */
  reports: readonly ReportStoredRequest[];
  /** Uploads chunks to the writer's replica count (dedup lookup, store, report). */
  upload(chunks: Chunk[]): Promise<void>;
  recover?: RecoverChunk | undefined;
  /** A CONFLICT with every chunk present is then a version conflict, not a lost chunk. */
  baseVersion?: number | undefined;
  /** How long lost chunks are waited for / re-uploaded before the commit fails (default 60 s). */
  giveUpAfterMs?: number;
}

/** Hashes per PrepareChunks lookup (the manager's per-request limit). */
const LOOKUP_BATCH = 65_536;
/** Bytes per re-upload batch. */
const UPLOAD_BATCH_BYTES = 1024 * 1024;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 2_000;

/**
 * CommitVersion with the retries a desktop grid needs:
 * - UNAVAILABLE / TIMEOUT (manager restarting): retried with bounded backoff
 *   (StorageClient.withRetry). A commit repeated after its reply was lost
 *   commits the same content once more: harmless.
 * - CONFLICT because a chunk has no live replica any more (its holders died
 *   since the dedup lookup, or a manager restart lost the unsynced
 *   ReportStored): the writer's ReportStored calls are sent again, the
 *   chunks still missing are looked up, and those whose bytes the owner can
 *   still give (`recover`) are uploaded again. Chunks that cannot be
 *   recovered are waited for (their holder may restart) until
 *   `giveUpAfterMs`; then the commit fails with CONFLICT naming them
 *   (EIO at close() through the mount, exit 1 from the CLI). Nothing is
 *   committed unless every chunk is stored.
 */
export async function commitWithRecovery(opts: CommitRecoveryOptions): Promise<FileInfo__Output> {
  const { client } = opts;
  const giveUpAt = Date.now() + (opts.giveUpAfterMs ?? 60_000);
  let delay = BACKOFF_MIN_MS;
  let reported = false;
  for (;;) {
    let conflict: StdchkError;
    try {
      return await client.withRetry(() => opts.commit());
    } catch (e) {
      if (!isStdchkError(e, 'CONFLICT')) throw e;
      conflict = e;
    }
    if (!reported) {
      // Cheap and idempotent: restores locations a manager crash dropped.
      reported = true;
      for (const req of opts.reports)
        await client.withRetry(() => unary(client.manager, 'reportStored', req));
    }
    const missing = await findUnstored(client, opts.chunks());
    if (missing.length === 0) {
      if (opts.baseVersion !== undefined) throw conflict;
    } else {
      const found: Chunk[] = [];
      const lost: PlacedChunk[] = [];
      for (const c of missing) {
        // A source that cannot give it back (a pipe cannot be read again) counts as lost.
        const data = opts.recover ? await Promise.resolve(opts.recover(c)).catch(() => undefined) : undefined;
        const stored =
          data && data.length === c.length ? client.chunks.seal(hashChunk(data), data) : undefined;
        if (stored?.hash.equals(c.hash)) {
          found.push({ hash: c.hash, length: c.length, data: stored.data, zero: false });
        } else lost.push(c);
      }
      for (const batch of batches(found)) await opts.upload(batch);
      if (lost.length > 0) {
        if (Date.now() > giveUpAt) {
          throw new StdchkError(
            'CONFLICT',
            `${opts.path}: ${lost.length} chunk(s) of this version are no longer stored on any live benefactor ` +
              `(first ${hex(lost[0]!.hash)} at offset ${lost[0]!.offset}) and this writer no longer holds their data`,
            { cause: conflict, retryable: false },
          );
        }
        // Their holders may come back (a restarted benefactor, a first heartbeat after a manager restart).
        await sleep(delay);
        delay = Math.min(delay * 2, BACKOFF_MAX_MS);
        continue;
      }
    }
    if (Date.now() > giveUpAt) throw conflict;
    if (missing.length === 0) {
      await sleep(delay);
      delay = Math.min(delay * 2, BACKOFF_MAX_MS);
    }
  }
}

/** The chunks (deduplicated) that no live benefactor holds now. */
async function findUnstored(client: StorageClient, chunks: Iterable<PlacedChunk>): Promise<PlacedChunk[]> {
  const unique = new Map<string, PlacedChunk>();
  for (const c of chunks) if (!unique.has(hex(c.hash))) unique.set(hex(c.hash), c);
  const all = [...unique.values()];
  const missing: PlacedChunk[] = [];
  for (let i = 0; i < all.length; i += LOOKUP_BATCH) {
    const part = all.slice(i, i + LOOKUP_BATCH);
    // replicas 1: "present" means at least one live copy, which is what a commit needs.
    const prep = await client.withRetry(() =>
      unary(client.manager, 'prepareChunks', {
        refs: encodeRefs(part),
        replicas: 1,
        encrypted: client.chunks.encrypted,
      }),
    );
    part.forEach((c, k) => {
      if (prep.present[k] !== 1) missing.push(c);
    });
  }
  return missing;
}

function* batches(chunks: Chunk[]): Generator<Chunk[]> {
  let batch: Chunk[] = [];
  let bytes = 0;
  for (const c of chunks) {
    batch.push(c);
    bytes += c.length;
    if (bytes >= UPLOAD_BATCH_BYTES) {
      yield batch;
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length) yield batch;
}
