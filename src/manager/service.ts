import type * as grpc from '@grpc/grpc-js';
import { StdchkError, errorMessage, invalid, toServiceError } from '../errors/index.ts';
import { normalizePath, MAX_PATH_BYTES } from '../config/paths.ts';
import { authenticate, protos, unaryHandler } from '../rpc/index.ts';
import type { ServerOptions } from '../rpc/index.ts';
import type { ManagerHandlers } from '../generated/stdchk/v1/Manager.ts';
import type { FileInfo } from '../generated/stdchk/v1/FileInfo.ts';
import type { FileType } from '../generated/stdchk/v1/FileType.ts';
import type { Command } from '../generated/stdchk/v1/Command.ts';
import type { InventoryPart__Output } from '../generated/stdchk/v1/InventoryPart.ts';
import type { InventoryReply } from '../generated/stdchk/v1/InventoryReply.ts';
import type { ScrubStatus__Output } from '../generated/stdchk/v1/ScrubStatus.ts';
import { checkPackedHashes, checkPackedRefs } from './packed.ts';
import { MAX_REPLICAS } from './metadata-store.ts';
import type { InventorySession, MetadataStore, NodeInfo, NodeType, ScrubReport } from './metadata-store.ts';

/** Bounds on what one request may carry (the 64 MiB message cap bounds the rest). */
export const LIMITS = {
  batchRefs: 65_536, // PrepareChunks, ReportStored per replica, LocateChunks, corrupt hashes
  commitRefs: 2_000_000, // ~70 GiB at 36 KiB average chunks; 72 MB of refs
  inventoryPartRefs: 1 << 20,
  storedReplicas: 64,
  leaseIds: 4_096,
  exclude: 1_024,
  symlinkTargetBytes: MAX_PATH_BYTES,
} as const;

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const HOST_RE = /^[A-Za-z0-9._:[\]-]{1,253}$/;
const ADDRESS_RE = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\]):(\d{1,5})$/;
const LEASE_RE = /^[0-9a-f]{32}$/;

function checkId(id: unknown, what = 'benefactor id'): string {
  if (typeof id !== 'string' || !ID_RE.test(id)) {
    throw invalid(`${what} must be 1-64 characters of [A-Za-z0-9_-], not ${JSON.stringify(id)}`);
  }
  return id;
}

function checkAddress(address: unknown): string {
  const m = typeof address === 'string' ? ADDRESS_RE.exec(address) : null;
  const port = m ? Number(m[1]) : 0;
  if (!m || port < 1 || port > 65_535) {
    throw invalid(`address must be HOST:PORT with a port from 1 to 65535, not ${JSON.stringify(address)}`);
  }
  return address as string;
}

function checkHost(host: unknown): string {
  if (typeof host !== 'string' || !HOST_RE.test(host)) {
    throw invalid(`host must be a host name or address, not ${JSON.stringify(host)}`);
  }
  return host;
}

/** A uint64 field as a safe JS integer (longs arrive as Number; above 2^53 they are imprecise). */
function uint(value: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw invalid(`${what} must be an integer from 0 to ${max}, not ${String(value)}`);
  }
  return value;
}

function replicas(value: unknown): number {
  const n = uint(value, 'replicas', MAX_REPLICAS);
  if (n < 1) throw invalid(`replicas must be 1 to ${MAX_REPLICAS}, not 0`);
  return n;
}

function symlinkTarget(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid('symlink target: empty');
  if (value.includes('\0')) throw invalid('symlink target: contains NUL');
  if (Buffer.byteLength(value) > LIMITS.symlinkTargetBytes) {
    throw invalid(`symlink target: longer than ${LIMITS.symlinkTargetBytes} bytes`);
  }
  return value;
}

function leaseIds(ids: unknown): string[] {
  if (!Array.isArray(ids) || ids.length > LIMITS.leaseIds) {
    throw invalid(`lease_ids: at most ${LIMITS.leaseIds} per request`);
  }
  for (const id of ids) {
    if (typeof id !== 'string' || !LEASE_RE.test(id))
      throw invalid(`lease id ${JSON.stringify(id)} is malformed`);
  }
  return ids as string[];
}

function scrubReport(s: ScrubStatus__Output): ScrubReport {
  const progress = s.progress;
  if (typeof progress !== 'number' || !(progress >= 0 && progress <= 1)) {
    throw invalid(`scrub.progress must be a number from 0 to 1, not ${String(progress)}`);
  }
  return {
    lastCompletedMs: uint(s.lastCompletedMs, 'scrub.last_completed_ms'),
    passes: uint(s.passes, 'scrub.passes'),
    progress,
    verifiedBytes: uint(s.verifiedBytes, 'scrub.verified_bytes'),
  };
}

const FILE_TYPE: Record<NodeType, FileType> = { file: 'FILE', directory: 'DIRECTORY', symlink: 'SYMLINK' };

export function toFileInfo(info: NodeInfo): FileInfo {
  return { ...info, type: FILE_TYPE[info.type] };
}

/**
 * gRPC handlers for the Manager service: each one validates every field,
 * calls the metadata store and translates the answer. Nothing else.
 */
export function managerHandlers(store: MetadataStore, opts: ServerOptions): ManagerHandlers {
  const handle = <Req, Res>(fn: (req: Req) => Promise<Res> | Res) => unaryHandler<Req, Res>(opts, fn);
  return {
    Stat: handle(async (req) => toFileInfo(store.stat(normalizePath(req.path)))),

    List: handle(async (req) => ({ entries: store.list(normalizePath(req.path)).map(toFileInfo) })),

    Mkdir: handle(async (req) =>
      toFileInfo(
        await store.mkdir(normalizePath(req.path), {
          mode: uint(req.mode, 'mode', 0xffffffff),
          uid: uint(req.uid, 'uid', 0xffffffff),
          gid: uint(req.gid, 'gid', 0xffffffff),
          parents: req.parents === true,
        }),
      ),
    ),

    Create: handle(async (req) =>
      toFileInfo(
        await store.create(normalizePath(req.path), {
          mode: uint(req.mode, 'mode', 0xffffffff),
          uid: uint(req.uid, 'uid', 0xffffffff),
          gid: uint(req.gid, 'gid', 0xffffffff),
          exclusive: req.exclusive === true,
        }),
      ),
    ),

    Remove: handle(async (req) => {
      await store.remove(normalizePath(req.path), {
        directory: req.directory === true,
        recursive: req.recursive === true,
      });
      return {};
    }),

    Rename: handle(async (req) => {
      await store.rename(normalizePath(req.from, 'from'), normalizePath(req.to, 'to'));
      return {};
    }),

    Symlink: handle(async (req) =>
      toFileInfo(
        await store.symlink(normalizePath(req.path), symlinkTarget(req.target), {
          uid: uint(req.uid, 'uid', 0xffffffff),
          gid: uint(req.gid, 'gid', 0xffffffff),
        }),
      ),
    ),

    SetAttr: handle(async (req) => {
      const path = normalizePath(req.path);
      return toFileInfo(
        await store.setAttr(path, {
          ...(req.mode !== undefined ? { mode: uint(req.mode, 'mode', 0xffffffff) } : {}),
          ...(req.uid !== undefined ? { uid: uint(req.uid, 'uid', 0xffffffff) } : {}),
          ...(req.gid !== undefined ? { gid: uint(req.gid, 'gid', 0xffffffff) } : {}),
          ...(req.atimeMs !== undefined ? { atimeMs: uint(req.atimeMs, 'atime_ms') } : {}),
          ...(req.mtimeMs !== undefined ? { mtimeMs: uint(req.mtimeMs, 'mtime_ms') } : {}),
          ...(req.size !== undefined ? { size: uint(req.size, 'size') } : {}),
        }),
      );
    }),

    OpenVersion: handle(async (req) => {
      const opened = await store.openVersion(normalizePath(req.path), uint(req.version, 'version'));
      return {
        info: toFileInfo(opened.info),
        refs: opened.refs,
        leaseId: opened.leaseId,
        leaseTtlMs: opened.leaseTtlMs,
      };
    }),

    RenewLeases: handle(async (req) => {
      store.renewLeases(leaseIds(req.leaseIds));
      return {};
    }),

    ReleaseLeases: handle(async (req) => {
      await store.releaseLeases(leaseIds(req.leaseIds));
      return {};
    }),

    CommitVersion: handle(async (req) => {
      checkPackedRefs(req.refs, 'refs', LIMITS.commitRefs);
      return toFileInfo(
        await store.commitVersion({
          path: normalizePath(req.path),
          refs: req.refs,
          size: uint(req.size, 'size'),
          replicas: replicas(req.replicas),
          ...(req.baseVersion !== undefined ? { baseVersion: uint(req.baseVersion, 'base_version') } : {}),
          mode: uint(req.mode, 'mode', 0xffffffff),
          uid: uint(req.uid, 'uid', 0xffffffff),
          gid: uint(req.gid, 'gid', 0xffffffff),
          ...(req.mtimeMs !== undefined ? { mtimeMs: uint(req.mtimeMs, 'mtime_ms') } : {}),
        }),
      );
    }),

    PrepareChunks: handle(async (req) => {
      checkPackedRefs(req.refs, 'refs', LIMITS.batchRefs);
      return store.prepareChunks(req.refs, replicas(req.replicas));
    }),

    ReportStored: handle(async (req) => {
      if (req.replicas.length > LIMITS.storedReplicas) {
        throw invalid(`replicas: at most ${LIMITS.storedReplicas} per request`);
      }
      const list = req.replicas.map((r, i) => {
        checkPackedRefs(r.refs, `replicas[${i}].refs`, LIMITS.batchRefs);
        return { benefactorId: checkId(r.benefactorId), refs: r.refs };
      });
      await store.reportStored(list);
      return {};
    }),

    LocateChunks: handle(async (req) => {
      checkPackedHashes(req.hashes, 'hashes', LIMITS.batchRefs);
      const located = store.locateChunks(req.hashes);
      return {
        benefactors: located.benefactors,
        locations: located.locations.map((benefactors) => ({ benefactors })),
      };
    }),

    AllocateTargets: handle(async (req) => {
      const count = uint(req.count, 'count', MAX_REPLICAS);
      if (count < 1) throw invalid(`count must be 1 to ${MAX_REPLICAS}`);
      if (req.exclude.length > LIMITS.exclude) throw invalid(`exclude: at most ${LIMITS.exclude} ids`);
      const exclude = req.exclude.map((id) => checkId(id, 'excluded benefactor id'));
      return { targets: store.allocateTargets(count, uint(req.bytes, 'bytes'), exclude) };
    }),

    RegisterBenefactor: handle(async (req) =>
      store.registerBenefactor({
        id: checkId(req.id),
        host: checkHost(req.host),
        address: checkAddress(req.address),
        capacityBytes: uint(req.capacityBytes, 'capacity_bytes'),
        usedBytes: uint(req.usedBytes, 'used_bytes'),
        freeBytes: uint(req.freeBytes, 'free_bytes'),
        chunks: uint(req.chunks, 'chunks'),
      }),
    ),

    Heartbeat: handle(async (req) => {
      checkPackedHashes(req.corruptHashes, 'corrupt_hashes', LIMITS.batchRefs);
      const result = await store.heartbeat({
        id: checkId(req.id),
        capacityBytes: uint(req.capacityBytes, 'capacity_bytes'),
        usedBytes: uint(req.usedBytes, 'used_bytes'),
        freeBytes: uint(req.freeBytes, 'free_bytes'),
        chunks: uint(req.chunks, 'chunks'),
        corruptHashes: req.corruptHashes,
        ...(req.scrub ? { scrub: scrubReport(req.scrub) } : {}),
      });
      const commands: Command[] = result.commands.map((c) =>
        c.kind === 'delete'
          ? { delete: { hashes: c.hashes } }
          : { replicate: { hashes: c.hashes, source: c.source } },
      );
      return { commands, reregister: result.reregister, sendInventory: result.sendInventory };
    }),

    ReportInventory: inventoryHandler(store, opts),

    Status: handle(async () => store.status()),
  };
}

/**
 * The inventory client stream: each part is reconciled as it arrives (the
 * stream is paused meanwhile, so a large inventory is never buffered whole),
 * the part flagged `last` finishes it and the reply carries the counts.
 */
function inventoryHandler(
  store: MetadataStore,
  opts: ServerOptions,
): grpc.handleClientStreamingCall<InventoryPart__Output, InventoryReply> {
  return (call, callback) => {
    let session: InventorySession | undefined;
    let done = false;
    let sawLast = false;
    let work: Promise<void> = Promise.resolve();
    const fail = (e: unknown) => {
      if (done) return;
      done = true;
      if (session) store.abortInventory(session);
      if (!(e instanceof StdchkError) || e.code === 'INTERNAL') {
        opts.logger.error({ err: e, method: call.getPath() }, 'request failed');
      }
      callback(toServiceError(e) as grpc.ServiceError);
    };
    try {
      authenticate(opts, call);
    } catch (e) {
      fail(e);
      return;
    }
    call.on('data', (part: InventoryPart__Output) => {
      if (done || sawLast) return;
      try {
        const id = checkId(part.benefactorId);
        if (session && session.benefactorId !== id) {
          throw invalid(`inventory parts name two benefactors (${session.benefactorId}, ${id})`);
        }
        checkPackedRefs(part.refs, 'inventory refs', LIMITS.inventoryPartRefs);
        session ??= store.beginInventory(id);
      } catch (e) {
        fail(e);
        return;
      }
      sawLast = part.last === true;
      const current = session;
      call.pause();
      work = work
        .then(() => store.inventoryPart(current, part.refs))
        .then(async () => {
          if (done) return;
          if (!sawLast) {
            call.resume();
            return;
          }
          const r = await store.finishInventory(current);
          done = true;
          callback(null, {
            chunksKnown: r.chunksKnown,
            chunksOrphaned: r.chunksOrphaned,
            replicasMissing: r.replicasMissing,
          });
        })
        .catch(fail);
    });
    call.on('end', () => {
      void work.then(() => {
        if (!sawLast) fail(invalid('inventory stream ended without a part flagged last'));
      });
    });
    const brokeOff = (reason: string) => {
      if (done) return;
      done = true;
      if (session) store.abortInventory(session);
      opts.logger.warn({ benefactor: session?.benefactorId, reason }, 'inventory stream broke off');
    };
    call.on('error', (e: unknown) => brokeOff(errorMessage(e)));
    call.on('cancelled', () => brokeOff('cancelled by the benefactor'));
  };
}

/** Adds the Manager service to a gRPC server. */
export function addManagerService(server: grpc.Server, store: MetadataStore, opts: ServerOptions): void {
  server.addService(protos().Manager.service, managerHandlers(store, opts));
}
