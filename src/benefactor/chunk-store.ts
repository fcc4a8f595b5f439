/**
 * The benefactor's local chunk storage: the seam between the gRPC service and
 * the on-disk layout. Chunks are content-addressed by their BLAKE3-256 hash.
 */
export interface StoredChunk {
  hash: Buffer;
  data: Buffer;
}

export interface ChunkStoreStats {
  chunks: number;
  /** Bytes the store occupies on disk (dead bytes awaiting compaction included). */
  usedBytes: number;
  capacityBytes: number;
  /** min(capacity - used, free space of the file system). */
  freeBytes: number;
}

export interface ChunkStore {
  has(hash: Buffer): boolean;
  /** Length of a held chunk, undefined if absent. */
  sizeOf(hash: Buffer): number | undefined;
  /**
   * The chunk's bytes, verified against the hash. A corrupt chunk is never
   * returned: it is reported (onCorrupt), dropped, and reads as missing.
   */
  get(hash: Buffer): Promise<Buffer | undefined>;
  /** `get` of each hash, in order; chunks stored side by side are read together. */
  getMany(hashes: Buffer[]): Promise<(Buffer | undefined)[]>;
  /**
   * Verifies every chunk, then stores the new ones. Resolves only once they are
   * durable; a chunk not matching its hash rejects the whole batch
   * (INVALID_ARGUMENT) and nothing of it is stored; NO_SPACE when over capacity.
   */
  putBatch(chunks: StoredChunk[]): Promise<{ stored: number; existing: number }>;
  /**
   * Deletes durably; resolves with how many were deleted. `mayDelete` is
   * asked for each held chunk at the moment it is removed from the index (in
   * the same tick, so no store can slip in between); false keeps it.
   */
  delete(hashes: Buffer[], mayDelete?: (hash: Buffer) => boolean): Promise<number>;
  list(): Iterable<{ hash: Buffer; length: number }>;
  stats(): ChunkStoreStats;
  close(): Promise<void>;
}
