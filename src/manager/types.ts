import type { Logger } from '../logging/index.ts';
import type { StdchkError } from '../errors/index.ts';
import type { CommandLimits } from './commands.ts';
import type { NodeInfo, NodeType, SpecialType } from './namespace.ts';

/** The metadata store's public shapes (what the gRPC service translates to and from). */

export type { NodeInfo, NodeType, SpecialType };

/** Highest replication a file or batch may ask for. */
export const MAX_REPLICAS = 16;

export interface MetadataStoreOptions {
  logger?: Logger;
  /** A benefactor silent for longer is not alive (default 10 s). */
  heartbeatTimeoutMs?: number;
  /** What benefactors are told to use (default 1 s). */
  heartbeatIntervalMs?: number;
  /** Chunks released by their last version, and unknown ones, live this long before deletion (default 60 s). */
  gcGraceMs?: number;
  /**
   * Uploads that no commit has referenced yet live this long (default: the
   * larger of gcGraceMs and 1 h), so a long write's first chunks outlive it.
   */
  uploadGraceMs?: number;
  /** Reader lease lifetime without renewal (default 60 s). */
  leaseTtlMs?: number;
  /** Ask each benefactor for its full inventory this often (default 5 min). */
  reconcileIntervalMs?: number;
  /** A copy handed to a benefactor without a report after this long is planned again (default 30 s). */
  repairRetryMs?: number;
  /**
   * How long a delete sent to a benefactor is remembered per chunk (default
   * 2 min); a report of that copy older than the delete is refused (see
   * delete-ledger.ts).
   */
  deleteRetainMs?: number;
  commandLimits?: CommandLimits;
  clock?: () => number;
  random?: () => number;
}

export interface Ownership {
  mode?: number;
  uid?: number;
  gid?: number;
}

export interface MkdirOptions extends Ownership {
  parents?: boolean;
}

export interface CreateOptions extends Ownership {
  exclusive?: boolean;
  /** A number from reserveInodes for the new file (ignored if in use or never handed out). */
  inode?: number;
}

/** Most inode numbers one ReserveInodes call hands out. */
export const MAX_RESERVED_INODES = 4096;

export interface MknodOptions extends Ownership {
  /** Device number (char-device and block-device only). */
  rdev?: number;
}

export interface RemoveOptions {
  directory?: boolean;
  recursive?: boolean;
}

export interface AttrChanges {
  mode?: number;
  uid?: number;
  gid?: number;
  atimeMs?: number;
  mtimeMs?: number;
  /** utimensat's UTIME_NOW: the time becomes the manager's clock. */
  atimeNow?: boolean;
  mtimeNow?: boolean;
  size?: number;
}

export interface CommitInput extends Ownership {
  path: string;
  /** Packed refs (36 bytes each). */
  refs: Uint8Array;
  size: number;
  replicas: number;
  baseVersion?: number;
  mtimeMs?: number;
  /** When the commit creates the file: as CreateOptions.inode. */
  inode?: number;
  /** Also give an existing file this mode, uid and gid (else they apply only when the commit creates it). */
  setOwner?: boolean;
}

/** One commit of a batch: the committed file, or why it was not committed (it changed nothing). */
export type CommitOutcome = { info: NodeInfo; error?: undefined } | { error: StdchkError; info?: undefined };

export interface OpenedVersion {
  info: NodeInfo;
  refs: Buffer;
  leaseId: string;
  leaseTtlMs: number;
}

export interface BenefactorAddress {
  id: string;
  address: string;
  host: string;
  /** Its framed chunk stream; '' when it has none (then it is reached over gRPC). */
  dataAddress: string;
  /** The same stream's Unix socket for clients on its host; '' when none. */
  dataSocket: string;
  /** The machine of that socket (its kernel's boot id); '' when none. */
  dataSocketHost: string;
}

export interface PrepareResult {
  /** One byte per ref: 1 = stored on enough live replicas. */
  present: Buffer;
  targets: BenefactorAddress[];
}

export interface LocateResult {
  benefactors: BenefactorAddress[];
  /** Per hash: indexes into `benefactors`, live holders first. */
  locations: number[][];
}

export interface BenefactorStats {
  capacityBytes: number;
  usedBytes: number;
  freeBytes: number;
  chunks: number;
}

export interface RegisterInput extends BenefactorStats {
  id: string;
  host: string;
  address: string;
  /** '' or absent: no framed chunk stream. */
  dataAddress?: string | undefined;
  /** '' or absent: no Unix socket. */
  dataSocket?: string | undefined;
  dataSocketHost?: string | undefined;
}

/** A benefactor's background verification of everything it stores (see src/benefactor/scrub.ts). */
export interface ScrubReport {
  /** When its last complete pass ended (ms since the epoch; 0: never). */
  lastCompletedMs: number;
  /** Complete passes since the benefactor process started. */
  passes: number;
  /** Share of the current pass done, 0 to 1 (0 when idle). */
  progress: number;
  /** Bytes verified by scrubbing since the benefactor process started. */
  verifiedBytes: number;
}

export interface HeartbeatInput extends BenefactorStats {
  id: string;
  /** Packed 32-byte hashes that failed verification there. */
  corruptHashes?: Uint8Array;
  scrub?: ScrubReport;
  /** Its store stamp when it sent the beat; bounds the deletes of the reply (0: a benefactor without stamps). */
  stamp?: number;
}

/** A delete removes a chunk only if it was not stored or renewed there after `bound` (a store stamp). */
export type ManagerCommand =
  | { kind: 'delete'; hashes: Buffer; bound: number }
  | { kind: 'replicate'; hashes: Buffer; source: BenefactorAddress };

/** Chunks a benefactor stored (or found held), at its store stamp `stamp` (0 or absent: unknown, the oldest). */
export interface StoredReport {
  benefactorId: string;
  refs: Uint8Array;
  stamp?: number;
}

export interface HeartbeatResult {
  commands: ManagerCommand[];
  reregister: boolean;
  sendInventory: boolean;
}

export interface InventoryResult {
  /** Chunks in the inventory that the index knows. */
  chunksKnown: number;
  /** Copies this reconciliation decided to delete there (orphans, garbage, surplus). */
  chunksOrphaned: number;
  /** Locations recorded there that the inventory lacked (dropped; repair follows). */
  replicasMissing: number;
}

export interface BenefactorInfo extends BenefactorAddress, BenefactorStats {
  alive: boolean;
  lastHeartbeatMs: number;
  /** Copies it reported corrupt since the manager started. */
  corruptChunks: number;
  scrub: ScrubReport;
  /** '' in service; 'draining' (stdchk benefactor drain) or 'retired'. */
  drain: string;
  /** While draining: its referenced copies, and those not yet on enough other benefactors. */
  drainChunksTotal: number;
  drainChunksLeft: number;
}

export interface StatusInfo {
  benefactors: BenefactorInfo[];
  files: number;
  directories: number;
  chunks: number;
  logicalBytes: number;
  storedBytes: number;
  underReplicatedChunks: number;
  pendingDeletions: number;
  repairsInProgress: number;
  capacityBytes: number;
  freeBytes: number;
  /** Copies benefactors reported corrupt since the manager started (each dropped, then repaired). */
  corruptChunks: number;
  /** Referenced chunks with no live replica (readable again only when a holder returns). */
  unavailableChunks: number;
  benefactorsAlive: number;
  /** Registered but not alive (silent past the heartbeat timeout, or not heard from since a restart). */
  benefactorsLost: number;
}

export interface ChunkInfo {
  length: number;
  refcount: number;
  target: number;
  zeroSince: number;
  /** Benefactor ids holding it, live or not. */
  holders: string[];
}

/** An inventory being streamed by one benefactor. */
export interface InventorySession {
  readonly num: number;
  readonly benefactorId: string;
  seen: Uint8Array;
  /** Locations added while the inventory streamed: not "absent" even if unlisted. */
  readonly addedDuring: Set<number>;
  readonly unknownKeys: Set<string>;
  known: number;
  orphaned: number;
}
