import type { Command } from 'commander';
import { action, printJson, printTable } from '../output.ts';
import { addClientOptions, openClient } from '../common.ts';
import type { ClientFlags } from '../common.ts';
import { formatSize } from '../../config/units.ts';
import type { StatusReply__Output } from '../../generated/stdchk/v1/StatusReply.ts';

/** The stable `status --json` shape. */
export function statusJson(s: StatusReply__Output) {
  return {
    benefactors: s.benefactors.map((b) => ({
      id: b.id,
      host: b.host,
      address: b.address,
      alive: b.alive,
      capacityBytes: b.capacityBytes,
      usedBytes: b.usedBytes,
      freeBytes: b.freeBytes,
      chunks: b.chunks,
      lastHeartbeatMs: b.lastHeartbeatMs,
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
  };
}

export function registerStatusCommand(program: Command): void {
  addClientOptions(
    program
      .command('status')
      .description('cluster health: benefactors, files, chunks, bytes, replication')
      .option('--json', 'print the status as JSON'),
  ).action(
    action(async (opts: ClientFlags & { json?: boolean }) => {
      const client = openClient(opts);
      try {
        const s = statusJson(await client.status());
        if (opts.json) {
          printJson(s);
          return;
        }
        const alive = s.benefactors.filter((b) => b.alive).length;
        process.stdout.write(
          `benefactors: ${alive} alive, ${s.benefactors.length - alive} lost; capacity ${formatSize(s.capacityBytes)}, free ${formatSize(s.freeBytes)}\n` +
            `files: ${s.files} in ${s.directories} directories, ${formatSize(s.logicalBytes)} logical, ` +
            `${formatSize(s.storedBytes)} stored in ${s.chunks} unique chunks\n` +
            `replication: ${s.underReplicatedChunks} chunks under-replicated, ${s.repairsInProgress} repairs in progress, ` +
            `${s.pendingDeletions} deletions pending\n\n`,
        );
        printTable(
          ['ID', 'HOST', 'ADDRESS', 'STATE', 'USED', 'CAPACITY', 'CHUNKS'],
          s.benefactors.map((b) => [
            b.id,
            b.host,
            b.address,
            b.alive ? 'alive' : 'lost',
            formatSize(b.usedBytes),
            formatSize(b.capacityBytes),
            b.chunks,
          ]),
        );
      } finally {
        client.close();
      }
    }),
  );
}
