import type * as grpc from '@grpc/grpc-js';
import { MAX_DETAILS_CHARS, StdchkError, errorMessage, invalid, toServiceError } from '../errors/index.ts';
import { normalizePath, MAX_PATH_BYTES } from '../config/paths.ts';
import { MAX_MESSAGE_BYTES, protos, unaryHandler } from '../rpc/index.ts';
import { REF_BYTES } from '../chunking/refs.ts';
import * as v from '../validation/index.ts';
import { MAX_BATCH_REFS } from '../validation/index.ts';
import type { ServerOptions } from '../rpc/index.ts';
import type { ManagerHandlers } from '../generated/stdchk/v1/Manager.ts';
import type { FileInfo } from '../generated/stdchk/v1/FileInfo.ts';
import type { FileType } from '../generated/stdchk/v1/FileType.ts';
import type { Command } from '../generated/stdchk/v1/Command.ts';
import type { InventoryPart__Output } from '../generated/stdchk/v1/InventoryPart.ts';
import type { InventoryReply } from '../generated/stdchk/v1/InventoryReply.ts';
import type { ScrubStatus__Output } from '../generated/stdchk/v1/ScrubStatus.ts';
import type { CommitRequest__Output } from '../generated/stdchk/v1/CommitRequest.ts';
import {
  MAX_BATCH_BYTES,
  MAX_RESERVATION_TTL_MS,
  MIN_BATCH_BYTES,
  MIN_RESERVATION_TTL_MS,
} from './reservations.ts';
import { checkPackedRefs } from './packed.ts';
import { MAX_REPLICAS, MAX_RESERVED_INODES } from './metadata-store.ts';
import type {
  CommitInput,
  InventorySession,
  MetadataStore,
  NodeInfo,
  NodeType,
  ScrubReport,
  SpecialType,
} from './metadata-store.ts';

/** Bounds on what one request may carry (the message size cap bounds the rest). */
export const LIMITS = {
  batchRefs: MAX_BATCH_REFS, // PrepareChunks, ReportStored per replica, LocateChunks, corrupt hashes
  // As many refs as fit in the largest message (~1.86M, ~65 GiB at 36 KiB average chunks).
  commitRefs: Math.floor((MAX_MESSAGE_BYTES - 64 * 1024) / REF_BYTES),
  inventoryPartRefs: 1 << 20,
  storedReplicas: 64,
  leaseIds: 4_096,
  exclude: 1_024,
  symlinkTargetBytes: MAX_PATH_BYTES,
  batchCommits: 4_096,
} as const;

const LEASE_RE = /^[0-9a-f]{32}$/;
const UINT32 = 0xffffffff;

function benefactorId(value: unknown, what = 'benefactor id'): string {
  return v.id(value, what);
}

function replicas(value: unknown): number {
  return v.int(value, 'replicas', 1, MAX_REPLICAS);
}

function symlinkTarget(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid('symlink target: empty');
  if (value.includes('\0')) throw invalid('symlink target: contains NUL');
  if (Buffer.byteLength(value) > LIMITS.symlinkTargetBytes) {
    throw invalid(`symlink target: longer than ${LIMITS.symlinkTargetBytes} bytes`);
  }
  return value;
}

function leaseIds(ids: readonly unknown[]): string[] {
  return v
    .bounded(ids, 'lease_ids', LIMITS.leaseIds)
    .map((id) => v.matching(id, 'lease id', LEASE_RE, '32 lowercase hex digits'));
}

function scrubReport(s: ScrubStatus__Output): ScrubReport {
  return {
    lastCompletedMs: v.uint(s.lastCompletedMs, 'scrub.last_completed_ms'),
    passes: v.uint(s.passes, 'scrub.passes'),
    progress: v.finite(s.progress, 'scrub.progress', 0, 1),
    verifiedBytes: v.uint(s.verifiedBytes, 'scrub.verified_bytes'),
  };
}

const FILE_TYPE: Record<NodeType, FileType> = {
  file: 'FILE',
  directory: 'DIRECTORY',
  symlink: 'SYMLINK',
  fifo: 'FIFO',
  socket: 'SOCKET',
  'char-device': 'CHAR_DEVICE',
  'block-device': 'BLOCK_DEVICE',
};

const SPECIAL: Record<string, SpecialType> = {
  FIFO: 'fifo',
  SOCKET: 'socket',
  CHAR_DEVICE: 'char-device',
  BLOCK_DEVICE: 'block-device',
};

/** A CommitRequest's fields, validated (`prefix` names the item of a batch in messages). */
function commitInput(req: CommitRequest__Output, prefix = ''): CommitInput {
  return {
    path: normalizePath(req.path, `${prefix}path`),
    refs: req.refs,
    size: v.uint(req.size, `${prefix}size`),
    replicas: v.int(req.replicas, `${prefix}replicas`, 1, MAX_REPLICAS),
    ...(req.baseVersion !== undefined
      ? { baseVersion: v.uint(req.baseVersion, `${prefix}base_version`) }
      : {}),
    ...optionalMode(req.mode, `${prefix}mode`),
    uid: v.uint(req.uid, `${prefix}uid`, UINT32),
    gid: v.uint(req.gid, `${prefix}gid`, UINT32),
    ...(req.mtimeMs !== undefined ? { mtimeMs: v.uint(req.mtimeMs, `${prefix}mtime_ms`) } : {}),
    ...inodeOf(req.inode, `${prefix}inode`),
    setOwner: req.setOwner === true,
  };
}

export function toFileInfo(info: NodeInfo): FileInfo {
  return { ...info, type: FILE_TYPE[info.type] };
}

/** MknodRequest.type: one of the special types (FILE, DIRECTORY and SYMLINK have their own calls). */
function specialType(value: unknown): SpecialType {
  return SPECIAL[v.oneOf(value, 'type', Object.keys(SPECIAL))] as SpecialType;
}

/** A reserved inode number for a new file (0: none). */
function inodeOf(value: unknown, name = 'inode'): { inode?: number } {
  const n = v.uint(value, name);
  return n === 0 ? {} : { inode: n };
}

/** A mode field that may be absent (then the store's default applies). */
function optionalMode(value: unknown, name = 'mode'): { mode?: number } {
  return value === undefined || value === null ? {} : { mode: v.uint(value, name, UINT32) };
}

/**
 * gRPC handlers for the Manager service: each one validates every field,
 * calls the metadata store and translates the answer. Nothing else.
 */
export function managerHandlers(store: MetadataStore, opts: ManagerServiceOptions): ManagerHandlers {
  const handle = <Req, Res>(fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res) =>
    unaryHandler<Req, Res>(opts, fn);
  const admin = store.admin();
  return {
    Stat: handle(async (req) => toFileInfo(store.stat(normalizePath(req.path)))),

    List: handle(async (req) => ({ entries: store.list(normalizePath(req.path)).map(toFileInfo) })),

    Mkdir: handle(async (req) =>
      toFileInfo(
        await store.mkdir(normalizePath(req.path), {
          ...optionalMode(req.mode),
          uid: v.uint(req.uid, 'uid', UINT32),
          gid: v.uint(req.gid, 'gid', UINT32),
          parents: req.parents === true,
        }),
      ),
    ),

    Create: handle(async (req) =>
      toFileInfo(
        await store.create(normalizePath(req.path), {
          ...optionalMode(req.mode),
          uid: v.uint(req.uid, 'uid', UINT32),
          gid: v.uint(req.gid, 'gid', UINT32),
          exclusive: req.exclusive === true,
          ...inodeOf(req.inode),
        }),
      ),
    ),

    ReserveInodes: handle(async (req) =>
      store.reserveInodes(v.int(req.count, 'count', 1, MAX_RESERVED_INODES)),
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
          uid: v.uint(req.uid, 'uid', UINT32),
          gid: v.uint(req.gid, 'gid', UINT32),
        }),
      ),
    ),

    Mknod: handle(async (req) =>
      toFileInfo(
        await store.mknod(normalizePath(req.path), specialType(req.type), {
          mode: v.uint(req.mode, 'mode', UINT32),
          uid: v.uint(req.uid, 'uid', UINT32),
          gid: v.uint(req.gid, 'gid', UINT32),
          rdev: v.uint(req.rdev, 'rdev', UINT32),
        }),
      ),
    ),

    Link: handle(async (req) =>
      toFileInfo(await store.link(normalizePath(req.from, 'from'), normalizePath(req.to, 'to'))),
    ),

    SetAttr: handle(async (req) => {
      const path = normalizePath(req.path);
      return toFileInfo(
        await store.setAttr(path, {
          ...(req.mode !== undefined ? { mode: v.uint(req.mode, 'mode', UINT32) } : {}),
          ...(req.uid !== undefined ? { uid: v.uint(req.uid, 'uid', UINT32) } : {}),
          ...(req.gid !== undefined ? { gid: v.uint(req.gid, 'gid', UINT32) } : {}),
          ...(req.atimeMs !== undefined ? { atimeMs: v.uint(req.atimeMs, 'atime_ms') } : {}),
          ...(req.mtimeMs !== undefined ? { mtimeMs: v.uint(req.mtimeMs, 'mtime_ms') } : {}),
          ...(req.size !== undefined ? { size: v.uint(req.size, 'size') } : {}),
          ...(req.atimeNow === true ? { atimeNow: true } : {}),
          ...(req.mtimeNow === true ? { mtimeNow: true } : {}),
        }),
      );
    }),

    OpenVersion: handle(async (req) => {
      const opened = await store.openVersion(normalizePath(req.path), v.uint(req.version, 'version'));
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
      return toFileInfo(await store.commitVersion(commitInput(req)));
    }),

    CommitVersions: handle(async (req) => {
      const list = v.bounded(req.commits, 'commits', LIMITS.batchCommits);
      let refs = 0;
      const inputs = list.map((c, i) => {
        refs += checkPackedRefs(c.refs, `commits[${i}].refs`, LIMITS.commitRefs);
        if (refs > LIMITS.commitRefs) throw invalid(`commits: more than ${LIMITS.commitRefs} refs in all`);
        return commitInput(c, `commits[${i}].`);
      });
      const outcomes = await store.commitVersions(inputs);
      return {
        results: outcomes.map((o) =>
          o.info
            ? { info: toFileInfo(o.info), errorCode: '', error: '' }
            : { errorCode: o.error.code, error: o.error.message.slice(0, MAX_DETAILS_CHARS) },
        ),
      };
    }),

    ReserveSpace: handle(async (req) => {
      const r = store.reserveSpace(
        v.matching(req.reservationId, 'reservation_id', LEASE_RE, '32 lowercase hex digits'),
        v.uint(req.bytes, 'bytes'),
        replicas(req.replicas),
        v.int(req.ttlMs, 'ttl_ms', MIN_RESERVATION_TTL_MS, MAX_RESERVATION_TTL_MS),
        req.batchBytes ? v.int(req.batchBytes, 'batch_bytes', MIN_BATCH_BYTES, MAX_BATCH_BYTES) : undefined,
      );
      return { bytes: r.bytes, availableBytes: r.availableBytes };
    }),

    PrepareChunks: handle(async (req, call) => {
      checkPackedRefs(req.refs, 'refs', LIMITS.batchRefs);
      if (opts.requireEncryption && req.encrypted !== true) {
        throw new StdchkError(
          'PERMISSION_DENIED',
          'this cluster stores only encrypted chunks (manager --require-encryption): give the writer the cluster key, --encryption-key-file',
        );
      }
      const result = store.prepareChunks(req.refs, replicas(req.replicas), req.lookupOnly === true);
      opts.onDedupLookup?.(result.present);
      admin.noteWriter(call.getPeer(), req.refs, REF_BYTES); // for stdchk gc
      return result;
    }),

    ReportStored: handle(async (req, call) => {
      const list = v.bounded(req.replicas, 'replicas', LIMITS.storedReplicas).map((r, i) => {
        checkPackedRefs(r.refs, `replicas[${i}].refs`, LIMITS.batchRefs);
        return {
          benefactorId: benefactorId(r.benefactorId),
          refs: r.refs,
          stamp: v.uint(r.stamp, `replicas[${i}].stamp`),
        };
      });
      await store.reportStored(list);
      for (const r of list) admin.noteWriter(call.getPeer(), r.refs, REF_BYTES); // for stdchk gc
      return {};
    }),

    LocateChunks: handle(async (req) => {
      v.packedHashes(req.hashes, 'hashes', LIMITS.batchRefs);
      const located = store.locateChunks(req.hashes);
      return {
        benefactors: located.benefactors,
        locations: located.locations.map((benefactors) => ({ benefactors })),
      };
    }),

    AllocateTargets: handle(async (req) => {
      const count = v.int(req.count, 'count', 1, MAX_REPLICAS);
      const exclude = v
        .bounded(req.exclude, 'exclude', LIMITS.exclude)
        .map((id) => benefactorId(id, 'excluded benefactor id'));
      return { targets: store.allocateTargets(count, v.uint(req.bytes, 'bytes'), exclude) };
    }),

    RegisterBenefactor: handle(async (req) =>
      store.registerBenefactor({
        id: benefactorId(req.id),
        host: v.host(req.host),
        address: v.address(req.address),
        ...(req.dataAddress ? { dataAddress: v.address(req.dataAddress, 'data_address') } : {}),
        ...(req.dataSocket ? { dataSocket: v.socketPath(req.dataSocket, 'data_socket') } : {}),
        ...(req.dataSocketHost ? { dataSocketHost: v.hostId(req.dataSocketHost, 'data_socket_host') } : {}),
        capacityBytes: v.uint(req.capacityBytes, 'capacity_bytes'),
        usedBytes: v.uint(req.usedBytes, 'used_bytes'),
        freeBytes: v.uint(req.freeBytes, 'free_bytes'),
        chunks: v.uint(req.chunks, 'chunks'),
      }),
    ),

    Heartbeat: handle(async (req) => {
      v.packedHashes(req.corruptHashes, 'corrupt_hashes', LIMITS.batchRefs);
      const result = await store.heartbeat({
        id: benefactorId(req.id),
        capacityBytes: v.uint(req.capacityBytes, 'capacity_bytes'),
        usedBytes: v.uint(req.usedBytes, 'used_bytes'),
        freeBytes: v.uint(req.freeBytes, 'free_bytes'),
        chunks: v.uint(req.chunks, 'chunks'),
        corruptHashes: req.corruptHashes,
        ...(req.scrub ? { scrub: scrubReport(req.scrub) } : {}),
        stamp: v.uint(req.stamp, 'stamp'),
      });
      const commands: Command[] = result.commands.map((c) =>
        c.kind === 'delete'
          ? { delete: { hashes: c.hashes, bound: c.bound } }
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
    call.on('data', (part: InventoryPart__Output) => {
      if (done || sawLast) return;
      try {
        const id = benefactorId(part.benefactorId);
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
export interface ManagerServiceOptions extends ServerOptions {
  /** Told of every dedup lookup (PrepareChunks): one byte per chunk, 1 = already stored (metrics). */
  onDedupLookup?: ((present: Uint8Array) => void) | undefined;
  /** Refuse PrepareChunks from writers that do not encrypt (manager --require-encryption). */
  requireEncryption?: boolean | undefined;
}

export function addManagerService(
  server: grpc.Server,
  store: MetadataStore,
  opts: ManagerServiceOptions,
): void {
  server.addService(protos().Manager.service, managerHandlers(store, opts));
}
