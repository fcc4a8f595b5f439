import test from 'ava';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import {
  cleanupAll,
  statusJson,
  folderBytes,
  runCli,
  sha256File,
  startGrid,
  tempDir,
  waitFor,
  writeRandomFile,
} from '../helpers/grid.ts';
import { copiesHistogram, fileChunks, holdings } from '../helpers/replicas.ts';
import type { ChunkRef } from '../../src/chunking/refs.ts';
import { hex } from '../../src/hashing/index.ts';
import { HEADER_BYTES } from '../../src/benefactor/pack-format.ts';

// Issue 6, fault 2 ("stale return"), with real processes: a benefactor is
// killed, the manager re-replicates its chunks elsewhere, files are deleted
// and collected while it is away, and it comes back on the same folder with
// its stale data. The manager must reconcile it: the extra copies and the
// deleted files' chunks leave its disk, nothing live is lost.

const MiB = 1024 * 1024;

test.after.always(cleanupAll);

const status = statusJson;
type StatusJson = Awaited<ReturnType<typeof statusJson>>;
type BenefactorJson = StatusJson['benefactors'][number];

const bytesOf = (chunks: ChunkRef[], held: Set<string>) =>
  chunks.reduce((n, c) => n + (held.has(hex(c.hash)) ? c.length + HEADER_BYTES : 0), 0);

test('a benefactor returning with stale data after re-replication and deletes is reconciled: surplus and deleted chunks leave its disk, nothing live is lost', async (t) => {
  const grid = await startGrid({
    benefactors: 4,
    managerArgs: ['--heartbeat-timeout', '3s', '--gc-grace', '2s'],
  });
  const env = grid.env();
  const client = grid.client();
  t.teardown(() => client.close());
  const work = tempDir();
  const sums = new Map<string, string>();
  const put = async (name: string, size: number) => {
    const f = path.join(work, name);
    writeRandomFile(f, size);
    sums.set(`/${name}`, await sha256File(f));
    const r = await runCli(['put', f, `/${name}`, '--replicas', '2'], env);
    t.is(r.code, 0, r.stderr);
  };
  for (const name of ['keep-1', 'keep-2']) await put(name, 12 * MiB);
  for (const name of ['doomed-1', 'doomed-2']) await put(name, 16 * MiB);

  const xId = readFileSync(path.join(grid.benefactorStore(0), 'benefactor.id'), 'utf8').trim();
  const before = await status(env);
  const x = before.benefactors.find((b) => b.id === xId) as BenefactorJson;
  const others = before.benefactors.filter((b) => b.id !== xId).map((b) => b.address);
  const keepChunks = [...(await fileChunks(client, '/keep-1')), ...(await fileChunks(client, '/keep-2'))];
  const doomedChunks = [
    ...(await fileChunks(client, '/doomed-1')),
    ...(await fileChunks(client, '/doomed-2')),
  ];
  const xHeld = (await holdings(client, [x.address], [...keepChunks, ...doomedChunks])).get(
    x.address,
  ) as Set<string>;
  const xKeepBytes = bytesOf(keepChunks, xHeld);
  const xDoomedBytes = bytesOf(doomedChunks, xHeld);
  t.true(xKeepBytes > 0 && xDoomedBytes > 0, 'the benefactor to be killed holds chunks of both kinds');
  const xFolderBefore = folderBytes(grid.benefactorStore(0));
  t.log(
    `benefactor ${xId.slice(0, 8)}: ${(x.usedBytes / MiB).toFixed(1)} MiB used, ` +
      `${(xKeepBytes / MiB).toFixed(1)} MiB of kept files, ${(xDoomedBytes / MiB).toFixed(1)} MiB of files to be deleted`,
  );

  // Lost: kill -9; its chunks are copied elsewhere.
  await grid.kill(grid.benefactors[0], 'SIGKILL');
  await waitFor(
    'the benefactor lost and its chunks re-replicated',
    async () => {
      const s = await status(env);
      const b = s.benefactors.find((b) => b.id === xId);
      return b && !b.alive && s.underReplicatedChunks === 0 && s.repairsInProgress === 0;
    },
    60_000,
    500,
  );
  const away = await holdings(client, others, keepChunks);
  t.deepEqual(copiesHistogram(away, keepChunks), { 2: keepChunks.length }, 'r copies without it');

  // Meanwhile two files are deleted and collected, and a new one is written.
  for (const name of ['/doomed-1', '/doomed-2']) {
    const r = await runCli(['rm', name], env);
    t.is(r.code, 0, r.stderr);
    sums.delete(name);
  }
  await put('while-away', 8 * MiB);
  await waitFor(
    'the deleted files collected',
    async () => {
      const s = await status(env);
      return s.pendingDeletions === 0 &&
        s.chunks === keepChunks.length + (await fileChunks(client, '/while-away')).length
        ? s
        : undefined;
    },
    30_000,
    500,
  );

  // It comes back on the same folder with its stale data.
  grid.startBenefactor(0);
  await grid.waitForAlive(4);
  const live = [...keepChunks, ...(await fileChunks(client, '/while-away'))];
  // It listens on a new port; the manager learnt it at registration.
  const xAddress = (await status(env)).benefactors.find((b) => b.id === xId)?.address as string;
  const all = [...others, xAddress];
  let why = '';
  const settled = await waitFor(
    'reconciliation: r copies of every live chunk, none of the deleted ones',
    async () => {
      const s = await status(env);
      why = `status ${JSON.stringify({ u: s.underReplicatedChunks, d: s.pendingDeletions, r: s.repairsInProgress })}`;
      if (s.underReplicatedChunks !== 0 || s.pendingDeletions !== 0 || s.repairsInProgress !== 0) return;
      const held = await holdings(client, all, [...live, ...doomedChunks]);
      const hist = copiesHistogram(held, live);
      why = `copies ${JSON.stringify(hist)}`;
      if (hist[2] !== live.length) return;
      const stale = doomedChunks.filter((c) => held.get(xAddress)?.has(hex(c.hash)));
      why = `${stale.length} deleted chunks still there`;
      if (stale.length > 0) return;
      // Deleted data leaves the disk too (compaction follows the deletes).
      const xNow = s.benefactors.find((b) => b.id === xId);
      const liveThere = bytesOf(live, held.get(xAddress) as Set<string>);
      why = `used ${xNow?.usedBytes} for ${liveThere} live`;
      if (!xNow || xNow.usedBytes > liveThere / 0.8 + MiB) return;
      return { s, held };
    },
    90_000,
    1_000,
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}; last: ${why}`);
  });
  t.deepEqual(
    copiesHistogram(settled.held, live),
    { 2: live.length },
    'exactly r copies of every live chunk',
  );
  for (const [addr, held] of settled.held) {
    for (const c of doomedChunks) t.false(held.has(hex(c.hash)), `${addr} still serves a deleted chunk`);
  }

  // Its used bytes dropped by what it no longer holds, in the status and on disk.
  const xAfter = settled.s.benefactors.find((b) => b.id === xId) as BenefactorJson;
  const xLiveBytes = bytesOf(live, settled.held.get(xAddress) as Set<string>);
  const folderAfter = folderBytes(grid.benefactorStore(0));
  t.log(
    `after reconciliation: ${(xAfter.usedBytes / MiB).toFixed(1)} MiB used (was ${(x.usedBytes / MiB).toFixed(1)}), ` +
      `${(xLiveBytes / MiB).toFixed(1)} MiB of live chunks kept there, folder ${(folderAfter / MiB).toFixed(1)} MiB ` +
      `(was ${(xFolderBefore / MiB).toFixed(1)})`,
  );
  t.true(xAfter.usedBytes <= x.usedBytes - xDoomedBytes, 'the deleted chunks no longer count');
  // Compaction leaves at most 20% dead bytes per pack; the deletion log is small.
  t.true(xAfter.usedBytes <= xLiveBytes / 0.8 + MiB, `used ${xAfter.usedBytes} for ${xLiveBytes} live`);
  t.true(Math.abs(folderAfter - xAfter.usedBytes) < 64 * 1024, 'the folder matches the reported use');

  // Every remaining file reads back identical.
  for (const [remote, sum] of sums) {
    const out = path.join(work, `back-${remote.slice(1)}`);
    const r = await runCli(['get', remote, out], env);
    t.is(r.code, 0, r.stderr);
    t.is(await sha256File(out), sum, `${remote} reads back identical`);
  }
});
