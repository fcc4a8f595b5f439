import { existsSync, mkdirSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import { action, printJson, printTable } from '../output.ts';
import { addClientOptions, resolveClientConfig } from '../common.ts';
import type { ClientFlags } from '../common.ts';
import { StdchkError, connectionFailure, fromServiceError } from '../../errors/index.ts';
import { formatSize } from '../../config/units.ts';
import type { AdminClient, ManagerClient } from '../../rpc/index.ts';
import type * as RpcModule from '../../rpc/index.ts';
import type { ClusterCredentials } from '../../rpc/credentials.ts';

// The operator's commands: info, fsck, admin dump / load (docs/operations.md).

interface Clients {
  admin: AdminClient;
  manager: ManagerClient;
  creds: ClusterCredentials;
  rpc: typeof RpcModule;
}

/** Runs `fn` with clients of the manager the flags name (gRPC is loaded here). */
async function withAdmin<T>(flags: ClientFlags, fn: (c: Clients) => Promise<T>): Promise<T> {
  const { managerAddress, secret, tls } = resolveClientConfig(flags);
  const creds: ClusterCredentials = { secret, tls };
  const rpc = await import('../../rpc/index.ts');
  const admin = rpc.connectAdmin(managerAddress, creds);
  const manager = rpc.connectManager(managerAddress, creds);
  try {
    return await fn({ admin, manager, creds, rpc });
  } catch (e) {
    const down =
      e instanceof StdchkError && e.code === 'UNAVAILABLE' ? connectionFailure(e.message) : undefined;
    if (down)
      throw new StdchkError('UNAVAILABLE', `manager at ${managerAddress} is not reachable: ${down}`, {
        cause: e,
      });
    throw e;
  } finally {
    admin.close();
    manager.close();
  }
}

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

export function registerAdminCommands(program: Command): void {
  addClientOptions(
    program
      .command('info')
      .description("a file's versions and chunks, and which benefactors hold each chunk")
      .argument('<path>', 'path in the storage')
      .option('--json', 'print {"path","version","size","versions":[{"version","chunks":[...]}]}'),
  ).action(
    action(async (path: string, opts: ClientFlags & { json?: boolean }) => {
      const r = await withAdmin(opts, ({ admin, rpc }) => rpc.unary(admin, 'fileChunks', { path }));
      const info = r.info!;
      const versions = r.versions.map((v) => ({
        version: v.version,
        current: v.current,
        size: v.size,
        replicas: v.replicas,
        mtimeMs: v.mtimeMs,
        chunks: v.chunks.map((c) => ({
          hash: hexOf(c.hash),
          length: c.length,
          zero: c.zero,
          refcount: c.refcount,
          target: c.target,
          holders: c.holders,
          liveHolders: c.liveHolders,
        })),
      }));
      if (opts.json) {
        printJson({
          path: info.path,
          type: info.type.toLowerCase().replace('_', '-'),
          inode: info.inode,
          version: info.version,
          size: info.size,
          versions,
        });
        return;
      }
      const w = (s: string) => process.stdout.write(s + '\n');
      w(`${info.path}: ${info.type.toLowerCase()}, inode ${info.inode}, ${formatSize(info.size)}`);
      if (!versions.length) w('no content committed');
      for (const v of versions) {
        const held = v.chunks.filter((c) => !c.zero);
        const short = held.filter((c) => c.liveHolders.length < c.target).length;
        w(
          `version ${v.version}${v.current ? ' (current)' : ' (older, open by a reader)'}: ${v.size} bytes, ` +
            `${v.chunks.length} chunks (${v.chunks.length - held.length} zero), replicas ${v.replicas}, ` +
            `written ${new Date(v.mtimeMs).toISOString()}` +
            (short ? `; ${short} chunks below their replica count` : ''),
        );
        printTable(
          ['#', 'HASH', 'LENGTH', 'REFS', 'COPIES', 'HOLDERS'],
          v.chunks.map((c, i) => [
            i,
            c.hash.slice(0, 16),
            c.length,
            c.zero ? '-' : c.refcount,
            c.zero ? 'zero' : `${c.liveHolders.length}/${c.target}`,
            c.zero
              ? '-'
              : c.holders.map((h) => (c.liveHolders.includes(h) ? h : `${h}(down)`)).join(',') || 'NONE',
          ]),
        );
      }
    }),
  );

  addClientOptions(
    program
      .command('fsck')
      .description(
        'check the namespace against the chunk index, and every recorded copy against its benefactor (each chunk read and verified); exit 0 clean, 1 all repaired, 4 problems left',
      )
      .option('--repair', 'forget the bad copies found, so that the manager copies them again from good ones')
      .option('--json', 'print the report as JSON'),
  ).action(
    action(async (opts: ClientFlags & { repair?: boolean; json?: boolean }) => {
      const { fsck, FSCK_EXIT } = await import('../../admin/fsck.ts');
      const report = await withAdmin(opts, ({ admin, manager, creds }) =>
        fsck(manager, admin, creds, {
          repair: opts.repair ?? false,
          onProgress: (line) => {
            if (process.stderr.isTTY && !opts.json) process.stderr.write(`${line}\n`);
          },
        }),
      );
      const problems = report.index.problems.map((p) => ({
        kind: p.kind,
        path: p.path,
        hash: hexOf(p.hash),
        detail: p.detail,
      }));
      const { problems: _listed, ...indexCounts } = report.index;
      const out = {
        clean: report.problems === 0,
        problems: report.problems,
        repaired: report.repaired,
        index: { ...indexCounts, problems },
        benefactors: report.benefactors,
      };
      process.exitCode =
        report.problems === 0
          ? FSCK_EXIT.clean
          : report.repaired === report.problems
            ? FSCK_EXIT.repaired
            : FSCK_EXIT.left;
      if (opts.json) {
        printJson(out);
        return;
      }
      const i = report.index;
      const w = (s: string) => process.stdout.write(s + '\n');
      w(
        `index: ${i.files} files, ${i.versions} versions, ${i.references} chunk references, ${i.chunks} chunks indexed`,
      );
      w(
        `  ${i.missingChunks} references to unindexed chunks, ${i.refcountErrors} refcount errors, ` +
          `${i.unavailableChunks} chunks with no live copy, ${i.underReplicatedChunks} below their replica count (repair in progress)`,
      );
      for (const p of problems.filter((p) => p.kind !== 'under-replicated').slice(0, 20))
        w(`  ${p.kind}: ${p.path} chunk ${p.hash.slice(0, 16)}: ${p.detail}`);
      printTable(
        ['BENEFACTOR', 'COPIES', 'VERIFIED', 'BAD', 'DROPPED', 'NOTE'],
        report.benefactors.map((b) => [b.id, b.recorded, b.verified, b.badCount, b.dropped, b.skipped ?? '']),
      );
      for (const b of report.benefactors)
        for (const h of b.bad.slice(0, 10)) w(`  bad copy on ${b.id}: chunk ${h.slice(0, 16)}`);
      w(
        report.problems === 0
          ? 'clean'
          : `${report.problems} problems, ${report.repaired} repaired${
              report.repaired < report.problems && !opts.repair
                ? ' (run with --repair to fix bad copies)'
                : ''
            }`,
      );
    }),
  );

  addClientOptions(
    program
      .command('gc')
      .description(
        'collect what is unreferenced now, without waiting for the grace: chunks of deleted versions and of failed uploads (writer gone); never those of an upload in progress',
      )
      .option('--dry-run', 'only show what would be collected')
      .option('--json', 'print the counts as JSON'),
  ).action(
    action(async (opts: ClientFlags & { dryRun?: boolean; json?: boolean }) => {
      const r = await withAdmin(opts, ({ admin: client, rpc }) =>
        rpc.unary(client, 'collectGarbage', { dryRun: opts.dryRun ?? false }, { timeoutMs: 600_000 }),
      );
      if (opts.json) {
        printJson(r);
        return;
      }
      const w = (s: string) => process.stdout.write(s + '\n');
      w(
        `${r.dryRun ? 'would collect' : 'collected'} ${r.chunks} chunks, ${formatSize(r.bytes)}: ` +
          `${r.releasedChunks} of deleted versions, ${r.abandonedChunks} of failed uploads`,
      );
      if (r.inProgressChunks) w(`kept ${r.inProgressChunks} chunks of uploads in progress`);
      if (r.unknownWriterChunks)
        w(
          `kept ${r.unknownWriterChunks} uploaded chunks whose writer is unknown (uploaded before the manager started; collected after the upload grace)`,
        );
    }),
  );

  const benefactor = program.commands.find((c) => c.name() === 'benefactor');
  if (!benefactor) throw new Error('register the daemon commands first');
  addClientOptions(
    benefactor
      .command('drain')
      .description(
        'move every chunk of benefactor ID to the others while it keeps serving, then retire it (stdchk status shows the progress)',
      )
      .argument('<id>', 'benefactor id (stdchk status lists them)')
      .option('--wait', 'wait until it is retired, printing the progress')
      .option('--json', 'print its status entry as JSON (with --wait: once retired)'),
  ).action(
    action(async (id: string, opts: ClientFlags & { wait?: boolean; json?: boolean }) => {
      const b = await withAdmin(opts, async ({ admin: client, manager, rpc }) => {
        let s = await rpc.unary(client, 'drainBenefactor', { benefactorId: id });
        let last = '';
        while (opts.wait && s.drain !== 'retired') {
          const line = `${id}: draining, ${s.drainChunksLeft} of ${s.drainChunksTotal} chunks left to copy`;
          if (!opts.json && line !== last) process.stderr.write(line + '\n');
          last = line;
          await new Promise((r) => setTimeout(r, 1_000));
          const st = await rpc.unary(manager, 'status', {});
          s = st.benefactors.find((x) => x.id === id) ?? s;
        }
        return s;
      });
      if (opts.json)
        printJson({
          id: b.id,
          drain: b.drain,
          drainChunksTotal: b.drainChunksTotal,
          drainChunksLeft: b.drainChunksLeft,
        });
      else
        process.stdout.write(
          b.drain === 'retired'
            ? `${id}: retired (its chunks are on other benefactors; it can be stopped)\n`
            : `${id}: draining, ${b.drainChunksLeft} of ${b.drainChunksTotal} chunks left to copy (stdchk status shows the progress)\n`,
        );
    }),
  );

  const admin = program
    .command('admin')
    .description(
      "the manager's metadata: dump it while the manager runs, load a dump into a new data folder",
    );

  addClientOptions(
    admin
      .command('dump')
      .description(
        "write the manager's metadata (namespace, versions, chunk index, benefactors), as of one instant, into FILE while it runs",
      )
      .argument('<file>', 'dump file to write (replaced atomically)')
      .option('--json', 'print {"file","records","bytes"}'),
  ).action(
    action(async (file: string, opts: ClientFlags & { json?: boolean }) => {
      const { DumpWriter } = await import('../../admin/dump.ts');
      const writer = new DumpWriter(file);
      try {
        await withAdmin(
          opts,
          ({ admin: client }) =>
            new Promise<void>((resolve, reject) => {
              const call = client.dumpMetadata({}, { deadline: new Date(Date.now() + 3_600_000) });
              call.on('data', (part: { records: Buffer; count: number }) =>
                writer.add(part.records, part.count),
              );
              call.on('error', (e) => reject(fromServiceError(e, 'DumpMetadata')));
              call.on('end', () => resolve());
            }),
        );
        writer.finish();
      } catch (e) {
        writer.abort();
        rmSync(`${file}.tmp`, { force: true });
        throw e;
      }
      if (opts.json) printJson({ file, records: writer.records, bytes: writer.bytes });
      else process.stdout.write(`${file}: ${writer.records} records, ${formatSize(writer.bytes)}\n`);
    }),
  );

  admin
    .command('load')
    .description(
      'load a dump into a new manager data folder (the manager stopped; start it on that folder afterwards)',
    )
    .argument('<file>', 'dump file written by stdchk admin dump')
    .requiredOption('--data <dir>', 'the new data folder (missing or empty)')
    .option('--json', 'print {"data","records"}')
    .action(
      action(async (file: string, opts: { data: string; json?: boolean }) => {
        const { loadDump } = await import('../../admin/dump.ts');
        const { LevelKeyValueStore } = await import('../../manager/kv.ts');
        const fresh = !existsSync(opts.data);
        if (fresh) mkdirSync(opts.data, { recursive: true, mode: 0o700 });
        try {
          const r = await loadDump(file, opts.data, (location) => LevelKeyValueStore.open(location));
          if (opts.json) printJson({ data: opts.data, records: r.records });
          else process.stdout.write(`${opts.data}: loaded ${r.records} records from ${file}\n`);
        } catch (e) {
          if (fresh) rmSync(opts.data, { recursive: true, force: true });
          throw e;
        }
      }),
    );
}
