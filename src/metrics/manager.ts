import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import type { MetadataStore } from '../manager/metadata-store.ts';
import type { StatusInfo } from '../manager/types.ts';
import type { RepairSummary } from '../manager/repair.ts';
import { gaugeFrom, rpcMetrics } from './index.ts';
import type { RpcObserver } from './index.ts';

export interface ManagerMetrics {
  observeRpc: RpcObserver;
  onDedupLookup(present: Uint8Array): void;
  onRepair(summary: RepairSummary | undefined): void;
}

/** How long one status() computation serves the gauges of a scrape. */
const STATUS_CACHE_MS = 500;

/**
 * The manager's families: the namespace and chunk index (files, chunks,
 * logical and stored bytes, replication health), benefactors, deletions,
 * repairs, dedup lookups and RPC latency. Gauges are read from the store's
 * status() at scrape time (one pass over the chunk index per scrape).
 */
export function managerMetrics(registry: Registry, store: MetadataStore): ManagerMetrics {
  let cached: { at: number; status: StatusInfo } | undefined;
  const status = (): StatusInfo => {
    const now = Date.now();
    if (!cached || now - cached.at > STATUS_CACHE_MS) cached = { at: now, status: store.status() };
    return cached.status;
  };
  const g = (name: string, help: string, read: (s: StatusInfo) => number) =>
    gaugeFrom(registry, `stdchk_manager_${name}`, help, () => read(status()));
  g('files', 'Files in the namespace', (s) => s.files);
  g('directories', 'Directories in the namespace', (s) => s.directories);
  g('chunks', 'Unique chunks in the index', (s) => s.chunks);
  g('logical_bytes', 'Bytes of every file as written (before dedup and replication)', (s) => s.logicalBytes);
  g('stored_bytes', 'Bytes of unique chunks (after dedup, one replica counted)', (s) => s.storedBytes);
  g(
    'under_replicated_chunks',
    'Referenced chunks with fewer live replicas than their target',
    (s) => s.underReplicatedChunks,
  );
  g('unavailable_chunks', 'Referenced chunks with no live replica at all', (s) => s.unavailableChunks);
  g(
    'pending_deletions',
    'Chunk deletions sent to benefactors and not yet confirmed',
    (s) => s.pendingDeletions,
  );
  g(
    'repairs_in_progress',
    'Chunk copies queued for re-replication and not yet confirmed',
    (s) => s.repairsInProgress,
  );
  g('capacity_bytes', 'Capacity donated by live benefactors', (s) => s.capacityBytes);
  g('free_bytes', 'Free space reported by live benefactors', (s) => s.freeBytes);
  g(
    'corrupt_replicas_reported',
    'Chunk copies benefactors reported corrupt since the manager started (each dropped, then repaired)',
    (s) => s.corruptChunks,
  );
  gaugeFrom(
    registry,
    'stdchk_manager_benefactors',
    'Registered benefactors, by state (alive: heartbeating; lost: silent past the heartbeat timeout)',
    () => {
      const s = status();
      return [
        [{ state: 'alive' }, s.benefactorsAlive],
        [{ state: 'lost' }, s.benefactorsLost],
      ];
    },
    ['state'],
  );
  const lookups = new Counter({
    name: 'stdchk_manager_dedup_lookups_total',
    help: 'Chunks looked up before upload, by result (hit: already stored, not sent again)',
    labelNames: ['result'],
    registers: [registry],
  });
  lookups.inc({ result: 'hit' }, 0);
  lookups.inc({ result: 'miss' }, 0);
  const repairs = new Counter({
    name: 'stdchk_manager_repairs_queued_total',
    help: 'Chunk copies queued to restore the replica count',
    registers: [registry],
  });
  const repairBytes = new Counter({
    name: 'stdchk_manager_repair_queued_bytes_total',
    help: 'Bytes of the chunk copies queued for re-replication',
    registers: [registry],
  });
  return {
    observeRpc: rpcMetrics(registry),
    onDedupLookup(present) {
      let hits = 0;
      for (const b of present) hits += b === 1 ? 1 : 0;
      lookups.inc({ result: 'hit' }, hits);
      lookups.inc({ result: 'miss' }, present.length - hits);
    },
    onRepair(summary) {
      if (!summary) return;
      repairs.inc(summary.queued);
      repairBytes.inc(summary.bytes);
    },
  };
}
