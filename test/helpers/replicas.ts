import { closeSync, openSync, readFileSync, readSync, readdirSync, writeSync } from 'node:fs';
import path from 'node:path';
import { decodeHashes, encodeHashes, isHole } from '../../src/chunking/refs.ts';
import type { ChunkRef } from '../../src/chunking/refs.ts';
import { hex } from '../../src/hashing/index.ts';
import type { StorageClient } from '../../src/client/storage-client.ts';
import { HEADER_BYTES, PACKS_DIR, RECORD_MAGIC } from '../../src/benefactor/pack-format.ts';
import { connectBenefactor } from '../../src/rpc/index.ts';
import { splitChunks } from '../../src/rpc/chunk-frames.ts';
import { fromServiceError } from '../../src/errors/index.ts';
import type { ReadReply__Output } from '../../src/generated/stdchk/v1/ReadReply.ts';

/**
 * What the benefactors really hold, asked of each one (not of the manager):
 * the tests of the fault scenarios count replicas on the disks themselves.
 */

/** The distinct stored chunks (holes left out) of a file's newest version. */
export async function fileChunks(client: StorageClient, remote: string): Promise<ChunkRef[]> {
  const reader = await client.openReader(remote);
  try {
    const seen = new Map<string, ChunkRef>();
    for (const r of reader.refs) if (!isHole(r)) seen.set(hex(r.hash), r);
    return [...seen.values()];
  } finally {
    await reader.close();
  }
}

/** Per benefactor address: the hex hashes of `chunks` it serves with their right bytes. */
export async function holdings(
  client: StorageClient,
  addresses: string[],
  chunks: ChunkRef[],
): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  const hashes = chunks.map((c) => c.hash);
  await Promise.all(
    addresses.map(async (a) => {
      const held = new Set<string>();
      for (let i = 0; i < hashes.length; i += 1024) {
        const got = await client.pool.read(a, hashes.slice(i, i + 1024));
        for (const k of got.keys()) held.add(k);
      }
      out.set(a, held);
    }),
  );
  return out;
}

/** How many of the given benefactors hold each chunk, as a histogram {copies: chunks}. */
export function copiesHistogram(held: Map<string, Set<string>>, chunks: ChunkRef[]): Record<number, number> {
  const hist: Record<number, number> = {};
  for (const c of chunks) {
    const k = hex(c.hash);
    let n = 0;
    for (const s of held.values()) if (s.has(k)) n++;
    hist[n] = (hist[n] ?? 0) + 1;
  }
  return hist;
}

/** Where a chunk's record sits in a benefactor's store folder, if its bytes are there. */
export function findRecord(storeDir: string, hash: Buffer): { file: string; offset: number } | undefined {
  const header = Buffer.concat([RECORD_MAGIC, hash]);
  const dir = path.join(storeDir, PACKS_DIR);
  for (const name of readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    const at = readFileSync(file).indexOf(header);
    if (at >= 0) return { file, offset: at };
  }
  return undefined;
}

/** Flips one byte of a chunk's data inside its pack file (as a failing disk would). */
export function flipChunkByte(storeDir: string, hash: Buffer, at = 100): string {
  const rec = findRecord(storeDir, hash);
  if (!rec) throw new Error(`chunk ${hex(hash)} not found in ${storeDir}`);
  const fd = openSync(rec.file, 'r+');
  try {
    const pos = rec.offset + HEADER_BYTES + at;
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, pos);
    b[0] = (b[0] as number) ^ 0xff;
    writeSync(fd, b, 0, 1, pos);
  } finally {
    closeSync(fd);
  }
  return rec.file;
}

/**
 * What one benefactor answers to ReadChunks, unfiltered (the client library
 * drops chunks not matching their hash, which would hide a bad one served):
 * per hex hash, the bytes sent or 'missing'.
 */
export function rawRead(
  address: string,
  hashes: Buffer[],
  secret: Buffer,
): Promise<Map<string, Buffer | 'missing'>> {
  const client = connectBenefactor(address, { secret });
  return new Promise<Map<string, Buffer | 'missing'>>((resolve, reject) => {
    const out = new Map<string, Buffer | 'missing'>();
    const call = client.readChunks(
      { hashes: encodeHashes(hashes) },
      { deadline: new Date(Date.now() + 30_000) },
    );
    call.on('data', (reply: ReadReply__Output) => {
      for (const c of splitChunks(reply.refs, reply.data, 'ReadReply'))
        out.set(hex(c.hash), Buffer.from(c.data));
      for (const h of decodeHashes(reply.missing)) out.set(hex(h), 'missing');
    });
    call.on('error', (e) => reject(fromServiceError(e, `benefactor ${address}`)));
    call.on('end', () => resolve(out));
  }).finally(() => client.close());
}
