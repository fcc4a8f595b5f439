import type { Command } from 'commander';
import { action, printJson, printTable } from '../output.ts';
import { addClientOptions, openClient } from '../common.ts';
import type { ClientFlags } from '../common.ts';
import ms from 'ms';
import { formatSize } from '../../config/units.ts';
import type { StatusReply__Output } from '../../generated/stdchk/v1/StatusReply.ts';

/** "ok", "degraded" (copies missing or benefactors lost, every chunk still readable) or "unavailable". */
export type Health = 'ok' | 'degraded' | 'unavailable';

/** The stable `status --json` shape (fields are only ever added; see docs/reliability.md). */
export function statusJson(s: StatusReply__Output) {
  const health: Health =
    s.unavailableChunks > 0
      ? 'unavailable'
      : s.underReplicatedChunks > 0 || s.benefactorsLost > 0
        ? 'degraded'
        : 'ok';
  return {
    benefactors: s.benefactors.map((b) => ({
      id: b.id,
      host: b.host,
      address: b.address,
      dataAddress: b.dataAddress,
      dataSocket: b.dataSocket,
      alive: b.alive,
      capacityBytes: b.capacityBytes,
      usedBytes: b.usedBytes,
      freeBytes: b.freeBytes,
      chunks: b.chunks,
      lastHeartbeatMs: b.lastHeartbeatMs,
      corruptChunks: b.corruptChunks,
      /** '' in service, 'draining' or 'retired' (stdchk benefactor drain). */
      drain: b.drain ?? '',
      drainChunksTotal: b.drainChunksTotal ?? 0,
      drainChunksLeft: b.drainChunksLeft ?? 0,
      scrub: {
        lastCompletedMs: b.scrub?.lastCompletedMs ?? 0,
        passes: b.scrub?.passes ?? 0,
        progress: b.scrub?.progress ?? 0,
        verifiedBytes: b.scrub?.verifiedBytes ?? 0,
      },
    })),
    files: s.files,
    directories: s.directories,
    chunks: s.chunks,
    logicalBytes: s.logicalBytes,
    storedBytes: s.storedBytes,
    underReplicatedChunks: s.underReplicatedChunks,
    pendingDeletions: s.pendingDeletions,
    repairsInProgress: s.repairsInProgress,
    capacityBytes: s.capacityBytes,
    freeBytes: s.freeBytes,
    health,
    benefactorsAlive: s.benefactorsAlive,
    benefactorsLost: s.benefactorsLost,
    unavailableChunks: s.unavailableChunks,
    corruptChunks: s.corruptChunks,
  };
}

export type StatusJson = ReturnType<typeof statusJson>;

/**
 * `stdchk status` exits by health, for scripts and probes: 0 ok, 3 degraded,
 * 4 unavailable (1 is a failed call, 2 bad usage, as everywhere).
 */
export const HEALTH_EXIT_CODES: Record<Health, number> = { ok: 0, degraded: 3, unavailable: 4 };

/** "3 h ago", "never". */
function ago(whenMs: number, now: number): string {
  if (whenMs <= 0) return 'never';
  return `${ms(Math.max(0, now - whenMs))} ago`;
}

/** One benefactor's scrub in a table cell: the running pass, else when the last one ended. */
function scrubCell(b: StatusJson['benefactors'][number], now: number): string {
  if (b.scrub.progress > 0)
    return `${Math.floor(b.scrub.progress * 100)}% (last ${ago(b.scrub.lastCompletedMs, now)})`;
  return ago(b.scrub.lastCompletedMs, now);
}

/** The human summary: health first, then what it is made of. */
export function statusText(s: StatusJson, now = Date.now()): string {
  const why: string[] = [];
  if (s.unavailableChunks > 0) why.push(`${s.unavailableChunks} chunks on no live benefactor`);
  if (s.underReplicatedChunks > 0) why.push(`${s.underReplicatedChunks} chunks under-replicated`);
  if (s.benefactorsLost > 0) {
    why.push(`${s.benefactorsLost} benefactor${s.benefactorsLost === 1 ? '' : 's'} lost`);
  }
  const live = s.benefactors.filter((b) => b.alive);
  const scrubbing = live.filter((b) => b.scrub.progress > 0).length;
  const oldest = live.length ? Math.min(...live.map((b) => b.scrub.lastCompletedMs)) : 0;
  return (
    `health: ${s.health}${why.length ? ` (${why.join(', ')})` : ''}\n` +
    `benefactors: ${s.benefactorsAlive} alive, ${s.benefactorsLost} lost; capacity ${formatSize(s.capacityBytes)}, free ${formatSize(s.freeBytes)}\n` +
    `files: ${s.files} in ${s.directories} directories, ${formatSize(s.logicalBytes)} logical, ` +
    `${formatSize(s.storedBytes)} stored in ${s.chunks} unique chunks\n` +
    `replication: ${s.underReplicatedChunks} chunks under-replicated, ${s.unavailableChunks} unavailable, ` +
    `${s.repairsInProgress} repairs in progress, ${s.pendingDeletions} deletions pending\n` +
    `integrity: ${s.corruptChunks} corrupt copies found since the manager started; ` +
    `scrub: ${scrubbing} running, oldest complete pass ${ago(oldest, now)}\n`
  );
}

export function registerStatusCommand(program: Command): void {
  addClientOptions(
    program
      .command('status')
      .description(
        'cluster health at a glance: benefactors alive/lost, replication, corruption, scrub, capacity; exits 0 ok, 3 degraded, 4 unavailable',
      )
      .option('--json', 'print the status as JSON'),
  ).action(
    action(async (opts: ClientFlags & { json?: boolean }) => {
      const client = await openClient(opts);
      try {
        const s = statusJson(await client.status());
        process.exitCode = HEALTH_EXIT_CODES[s.health];
        if (opts.json) {
          printJson(s);
          return;
        }
        const now = Date.now();
        process.stdout.write(statusText(s, now) + '\n');
        printTable(
          ['ID', 'HOST', 'ADDRESS', 'STATE', 'USED', 'CAPACITY', 'CHUNKS', 'CORRUPT', 'SCRUBBED'],
          s.benefactors.map((b) => [
            b.id,
            b.host,
            b.address,
            b.drain === 'retired'
              ? 'retired'
              : b.drain === 'draining'
                ? `draining ${b.drainChunksTotal - b.drainChunksLeft}/${b.drainChunksTotal}`
                : b.alive
                  ? 'alive'
                  : 'lost',
            formatSize(b.usedBytes),
            formatSize(b.capacityBytes),
            b.chunks,
            b.corruptChunks,
            scrubCell(b, now),
          ]),
        );
      } finally {
        client.close();
      }
    }),
  );
}
