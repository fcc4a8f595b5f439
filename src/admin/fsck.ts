import { StdchkError, errorMessage, fromServiceError } from '../errors/index.ts';
import { HASH_BYTES, hashChunk, hex } from '../hashing/index.ts';
import { splitChunks } from '../rpc/chunk-frames.ts';
import { connectBenefactor, unary } from '../rpc/index.ts';
import type { AdminClient, ConnectOptions, ManagerClient } from '../rpc/index.ts';
import type { CheckIndexReply__Output } from '../generated/stdchk/v1/CheckIndexReply.ts';
import type { LocationsPart__Output } from '../generated/stdchk/v1/LocationsPart.ts';
import type { ReadReply__Output } from '../generated/stdchk/v1/ReadReply.ts';

/**
 * stdchk fsck: the namespace against the chunk index (the manager checks it,
 * CheckIndex), then every copy the manager records against the benefactor
 * said to hold it: each live benefactor is asked for those chunks
 * (ReadChunks) and every byte is verified here. A copy it does not serve, or
 * serves wrong, is a bad copy; with `repair` the manager forgets it
 * (DropLocations) and copies the chunk again from a good holder.
 */

export interface BenefactorCheck {
  id: string;
  address: string;
  alive: boolean;
  /** Copies the manager records there. */
  recorded: number;
  /** Of those, served and verified. */
  verified: number;
  /** Not served, or served with bytes that do not match the hash (hex hashes, the first 100). */
  bad: string[];
  badCount: number;
  /** Copies the manager forgot (repair). */
  dropped: number;
  /** Why it was not checked (not alive, unreachable). */
  skipped?: string;
}

export interface FsckReport {
  index: CheckIndexReply__Output;
  benefactors: BenefactorCheck[];
  /** Problems found: index problems plus bad copies. */
  problems: number;
  /** Of those, fixed by --repair (bad copies dropped; the manager re-replicates them). */
  repaired: number;
}

/** Chunks per ReadChunks call. */
const READ_BATCH = 1024;
const LISTED = 100;

/** Exit codes, as fsck(8): 0 clean, 1 problems found and all repaired, 4 problems left. */
export const FSCK_EXIT = { clean: 0, repaired: 1, left: 4 } as const;

export async function fsck(
  manager: ManagerClient,
  admin: AdminClient,
  creds: ConnectOptions,
  opts: { repair: boolean; onProgress?: (line: string) => void },
): Promise<FsckReport> {
  const index = await unary(admin, 'checkIndex', {}, { timeoutMs: 600_000 });
  const status = await unary(manager, 'status', {});
  const benefactors: BenefactorCheck[] = [];
  for (const b of status.benefactors) {
    const check: BenefactorCheck = {
      id: b.id,
      address: b.address,
      alive: b.alive,
      recorded: 0,
      verified: 0,
      bad: [],
      badCount: 0,
      dropped: 0,
    };
    benefactors.push(check);
    const hashes = await listLocations(admin, b.id);
    check.recorded = hashes.length;
    if (!b.alive) {
      check.skipped = 'not alive';
      continue;
    }
    opts.onProgress?.(`checking ${hashes.length} copies on ${b.id} (${b.address})`);
    const client = connectBenefactor(b.address, creds);
    const badHashes: Buffer[] = [];
    try {
      for (let i = 0; i < hashes.length; i += READ_BATCH) {
        const batch = hashes.slice(i, i + READ_BATCH);
        let good: Set<string>;
        try {
          good = await readVerified(client, batch);
        } catch (e) {
          if (e instanceof StdchkError && e.code === 'UNAVAILABLE') {
            check.skipped = `unreachable: ${errorMessage(e)}`;
            break;
          }
          // One chunk the benefactor cannot read fails the call: isolate it, one chunk at a time.
          good = new Set();
          for (const h of batch) {
            const one = await readVerified(client, [h]).catch(() => new Set<string>());
            for (const k of one) good.add(k);
          }
        }
        for (const h of batch) {
          if (good.has(hex(h))) check.verified++;
          else badHashes.push(h);
        }
      }
    } finally {
      client.close();
    }
    check.badCount = badHashes.length;
    check.bad = badHashes.slice(0, LISTED).map(hex);
    if (opts.repair && badHashes.length) {
      for (let i = 0; i < badHashes.length; i += 65_536) {
        const r = await unary(admin, 'dropLocations', {
          benefactorId: b.id,
          hashes: Buffer.concat(badHashes.slice(i, i + 65_536)),
        });
        check.dropped += r.dropped;
      }
      // A copy the benefactor reported bad itself meanwhile is already dropped: repaired all the same.
      check.dropped = badHashes.length;
    }
  }
  const badCopies = benefactors.reduce((n, b) => n + b.badCount, 0);
  const indexProblems = index.missingChunks + index.refcountErrors + index.unavailableChunks;
  return {
    index,
    benefactors,
    problems: indexProblems + badCopies,
    repaired: opts.repair ? badCopies : 0,
  };
}

function listLocations(admin: AdminClient, benefactorId: string): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const call = admin.listLocations({ benefactorId }, { deadline: new Date(Date.now() + 600_000) });
    call.on('data', (part: LocationsPart__Output) => {
      for (let off = 0; off + HASH_BYTES <= part.hashes.length; off += HASH_BYTES)
        out.push(Buffer.from(part.hashes.subarray(off, off + HASH_BYTES)));
    });
    call.on('error', (e) => reject(fromServiceError(e, 'ListLocations')));
    call.on('end', () => resolve(out));
  });
}

/** The hashes (hex) of the chunks a benefactor served with the right bytes. */
function readVerified(client: ReturnType<typeof connectBenefactor>, hashes: Buffer[]): Promise<Set<string>> {
  return new Promise((resolve, reject) => {
    const good = new Set<string>();
    const call = client.readChunks(
      { hashes: Buffer.concat(hashes) },
      { deadline: new Date(Date.now() + 120_000) },
    );
    call.on('data', (reply: ReadReply__Output) => {
      try {
        for (const c of splitChunks(reply.refs, reply.data, 'ReadChunks reply'))
          if (hashChunk(c.data).equals(c.hash)) good.add(hex(c.hash));
      } catch (e) {
        call.cancel();
        reject(new StdchkError('CORRUPT', errorMessage(e)));
      }
    });
    call.on('error', (e) => reject(fromServiceError(e, 'ReadChunks')));
    call.on('end', () => resolve(good));
  });
}
