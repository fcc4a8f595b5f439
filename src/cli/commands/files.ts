import { statSync } from 'node:fs';
import path, { posix } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { action, printJson, printTable } from '../output.ts';
import {
  addChunkTransportOption,
  addEncryptionOption,
  addClientOptions,
  openClient,
  parseReplicas,
  parseSyncReplicas,
} from '../common.ts';
import type { ClientFlags } from '../common.ts';
import { parseChunkerSpec } from '../../chunking/params.ts';
import { formatSize } from '../../config/units.ts';
import type { StorageClient } from '../../client/storage-client.ts';
import type { FileInfo__Output } from '../../generated/stdchk/v1/FileInfo.ts';
import { StdchkError, isStdchkError } from '../../errors/index.ts';
import { transferProgress } from '../progress.ts';
import type { Progress } from '../progress.ts';

const TYPE_NAMES: Record<string, string> = {
  DIRECTORY: 'directory',
  SYMLINK: 'symlink',
  FIFO: 'fifo',
  SOCKET: 'socket',
  CHAR_DEVICE: 'char-device',
  BLOCK_DEVICE: 'block-device',
};

function describeEntry(e: FileInfo__Output) {
  return {
    name: e.name,
    path: e.path,
    type: TYPE_NAMES[e.type] ?? 'file',
    size: e.size,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    mtimeMs: e.mtimeMs,
    version: e.version,
    replicas: e.replicas,
    chunks: e.chunks,
    ...(e.type === 'SYMLINK' ? { target: e.target } : {}),
    ...(e.type === 'CHAR_DEVICE' || e.type === 'BLOCK_DEVICE' ? { rdev: e.rdev } : {}),
  };
}

export function registerFileCommands(program: Command): void {
  const put = addClientOptions(
    program
      .command('put')
      .description('store a local file as a new version of REMOTE')
      .argument('<local>', 'local file to read')
      .argument('<remote>', 'path in the storage, e.g. /data/file')
      .option('--replicas <n>', 'replicas of every chunk before the put returns', '2')
      .option(
        '--sync-replicas <n>',
        'replicas durable before the put returns (default all); the manager makes the rest in the background',
      )
      .option(
        '--chunker <spec>',
        'chunking: pages:16k (default), fastcdc:16k (byte-level, for files edited in place) or fixed:64k',
      )
      .option('-p, --parents', "create REMOTE's missing parent folders")
      .option('--json', 'print {"bytes","bytesUploaded","chunks","chunksUploaded","seconds"}'),
  );
  addEncryptionOption(addChunkTransportOption(put)).action(
    action(
      async (
        local: string,
        remoteArg: string,
        opts: ClientFlags & {
          replicas: string;
          syncReplicas?: string;
          chunker?: string;
          parents?: boolean;
          json?: boolean;
        },
      ) => {
        const replicas = parseReplicas(opts.replicas);
        const syncReplicas = parseSyncReplicas(opts.syncReplicas, replicas);
        const chunker = opts.chunker ? parseChunkerSpec(opts.chunker) : undefined;
        const client = await openClient(opts);
        try {
          const remote = await putTarget(client, local, remoteArg, opts.parents ?? false);
          const progress = transferProgress(`put ${remote}`, localSize(local), opts);
          let s;
          try {
            s = await client.putFile(local, remote, {
              replicas,
              ...(syncReplicas !== undefined ? { syncReplicas } : {}),
              ...(chunker ? { chunker } : {}),
              onProgress: progress.update,
            });
          } finally {
            progress.stop();
          }
          if (opts.json) {
            printJson({
              path: remote,
              bytes: s.bytes,
              bytesUploaded: s.bytesUploaded,
              bytesSent: s.bytesSent,
              chunks: s.chunks,
              chunksUploaded: s.chunksUploaded,
              zeroBytes: s.zeroBytes,
              replicas,
              syncReplicas: syncReplicas ?? replicas,
              seconds: s.seconds,
            });
          } else {
            const pct = s.bytes ? ((100 * s.bytesUploaded) / s.bytes).toFixed(1) : '0.0';
            process.stdout.write(
              `stored ${remote}: ${formatSize(s.bytes)} in ${s.chunks} chunks, uploaded ${formatSize(s.bytesUploaded)} (${pct}%, ` +
                `${s.chunksUploaded} new chunks) on ${replicas} replicas in ${s.seconds.toFixed(2)} s` +
                ` (${formatSize(s.bytes / Math.max(s.seconds, 1e-9))}/s)\n`,
            );
          }
        } finally {
          client.close();
        }
      },
    ),
  );

  const get = addClientOptions(
    program
      .command('get')
      .description('read REMOTE (its newest version) into a local file')
      .argument('<remote>', 'path in the storage')
      .argument('<local>', 'local file to write (- for standard output)')
      .option('--json', 'print {"bytes","chunks","seconds"}'),
  );
  addEncryptionOption(addChunkTransportOption(get)).action(
    action(async (remote: string, local: string, opts: ClientFlags & { json?: boolean }) => {
      const client = await openClient(opts);
      let progress: Progress | undefined;
      try {
        const s = await client
          .getFile(remote, local, {
            onStart: (size) => (progress = transferProgress(`get ${remote}`, size, opts)),
            onProgress: (bytes) => progress?.update(bytes),
          })
          .finally(() => progress?.stop());
        // With "-" the data is standard output, so the summary goes to standard error.
        const summary = local === '-' ? process.stderr : process.stdout;
        if (opts.json) summary.write(JSON.stringify({ path: remote, ...s }, null, 2) + '\n');
        else
          summary.write(
            `read ${remote}: ${formatSize(s.bytes)} in ${s.chunks} chunks in ${s.seconds.toFixed(2)} s` +
              ` (${formatSize(s.bytes / Math.max(s.seconds, 1e-9))}/s)\n`,
          );
      } finally {
        client.close();
      }
    }),
  );

  addClientOptions(
    program
      .command('ls')
      .description('list a directory (or show one file)')
      .argument('[path]', 'path in the storage', '/')
      // -h is human sizes here, as in ls(1); help stays on --help.
      .helpOption('--help', 'display help for command')
      .option('-h, --human-readable', 'sizes with IEC units (1.5 GiB)')
      .option('--json', 'print an array of entries'),
  ).action(
    action(async (path: string, opts: ClientFlags & { json?: boolean; humanReadable?: boolean }) => {
      const client = await openClient(opts);
      try {
        const info = await client.stat(path);
        const entries = info.type === 'DIRECTORY' ? await client.list(path) : [info];
        if (opts.json) {
          printJson(entries.map(describeEntry));
          return;
        }
        printTable(
          ['TYPE', 'SIZE', 'VERSION', 'MODIFIED', 'NAME'],
          entries.map((e) => {
            const d = describeEntry(e);
            return [
              d.type,
              d.type === 'directory' ? '-' : opts.humanReadable ? formatSize(d.size) : String(d.size),
              d.type === 'file' ? String(d.version) : '-',
              new Date(d.mtimeMs).toISOString(),
              d.type === 'symlink' ? `${d.name} -> ${e.target}` : d.name,
            ];
          }),
        );
      } finally {
        client.close();
      }
    }),
  );

  addClientOptions(
    program
      .command('rm')
      .description('remove a file, symlink or (with -r) a directory tree')
      .argument('<path>', 'path in the storage')
      .option('-r, --recursive', 'remove directories and their contents'),
  ).action(
    action(async (path: string, opts: ClientFlags & { recursive?: boolean }) => {
      const client = await openClient(opts);
      try {
        await client.remove(path, { recursive: opts.recursive ?? false });
      } catch (e) {
        if (!opts.recursive && (isStdchkError(e, 'NOT_EMPTY') || isStdchkError(e, 'IS_A_DIRECTORY')))
          throw new StdchkError(e.code, `${e.message} (use rm -r to remove a directory tree)`);
        throw e;
      } finally {
        client.close();
      }
    }),
  );

  addClientOptions(
    program
      .command('mkdir')
      .description('create a directory')
      .argument('<path>', 'path in the storage')
      .addOption(new Option('-p, --parents', 'create missing parents; no error if it exists')),
  ).action(
    action(async (path: string, opts: ClientFlags & { parents?: boolean }) => {
      const client = await openClient(opts);
      try {
        await client.mkdir(path, { parents: opts.parents ?? false });
      } finally {
        client.close();
      }
    }),
  );
}

/** The size of the file `put` reads, for its progress bar: none for a pipe or what cannot be read (putFile says why). */
function localSize(local: string): number | undefined {
  try {
    const st = statSync(local);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where `put LOCAL REMOTE` stores, checked before any byte is sent: into
 * REMOTE/basename(LOCAL) when REMOTE is a folder (as cp does); else REMOTE,
 * whose parent must exist (or is made with --parents).
 */
async function putTarget(
  client: StorageClient,
  local: string,
  remote: string,
  parents: boolean,
): Promise<string> {
  const kind = async (p: string) => {
    try {
      return (await client.stat(p)).type;
    } catch (e) {
      if (isStdchkError(e, 'NOT_FOUND')) return undefined;
      throw e;
    }
  };
  if ((await kind(remote)) === 'DIRECTORY') return posix.join(remote, path.basename(local));
  const parent = posix.dirname(posix.resolve('/', remote));
  const parentKind = await kind(parent);
  if (parentKind === undefined) {
    if (!parents)
      throw new StdchkError('NOT_FOUND', `${parent}: no such folder (use --parents to create it)`);
    await client.mkdir(parent, { parents: true });
  } else if (parentKind !== 'DIRECTORY') {
    throw new StdchkError('NOT_A_DIRECTORY', `${parent}: not a folder`);
  }
  return remote;
}
