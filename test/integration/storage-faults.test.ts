import test from 'ava';
import path from 'node:path';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
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
import { connectBenefactor } from '../../src/rpc/index.ts';
import { readSecretFile } from '../../src/config/secret.ts';
import { hashChunk } from '../../src/hashing/index.ts';
import { encodeRefs } from '../../src/chunking/refs.ts';

// Acceptance 5, 7 and 8 of the storage core, each on its own grid of real processes.

const MiB = 1024 * 1024;

test.after.always(cleanupAll);

const status = statusJson;

test('a benefactor lost for good: underReplicatedChunks returns to 0 within 60 s and every file reads back', async (t) => {
  const grid = await startGrid({ benefactors: 3 });
  const env = grid.env();
  const work = tempDir();
  const sums = new Map<string, string>();
  for (const name of ['a', 'b', 'c']) {
    const f = path.join(work, name);
    writeRandomFile(f, 48 * MiB);
    sums.set(`/${name}`, await sha256File(f));
    const r = await runCli(['put', f, `/${name}`, '--replicas', '2'], env);
    t.is(r.code, 0, r.stderr);
  }
  t.is((await status(env)).underReplicatedChunks, 0);
  const healthy = await runCli(['status'], env);
  t.is(healthy.code, 0, 'status exits 0 when the cluster is ok');
  await grid.kill(grid.benefactors[0], 'SIGKILL');
  const lostAt = Date.now();
  await waitFor(
    'benefactor declared lost',
    async () => (await status(env)).underReplicatedChunks > 0,
    30_000,
  );
  // Health as an exit code, for scripts and probes: 3 while degraded (a copy of each chunk still readable).
  const degraded = await runCli(['status', '--json'], env);
  t.is(degraded.code, 3, degraded.stderr);
  t.is(JSON.parse(degraded.stdout).health, 'degraded');
  const healed = await waitFor(
    'underReplicatedChunks back to 0',
    async () => {
      const s = await status(env);
      return s.underReplicatedChunks === 0 &&
        s.benefactors.filter((b: { alive: boolean }) => !b.alive).length === 1
        ? s
        : undefined;
    },
    60_000,
  );
  t.log(`re-replicated in ${((Date.now() - lostAt) / 1000).toFixed(1)} s after the kill`);
  t.is(healed.underReplicatedChunks, 0);
  for (const [remote, sum] of sums) {
    const out = path.join(work, `back-${remote.slice(1)}`);
    const r = await runCli(['get', remote, out], env);
    t.is(r.code, 0, r.stderr);
    t.is(await sha256File(out), sum);
  }
});

test('a wrong secret is refused; a chunk not matching its hash is rejected; a full benefactor gets no more chunks', async (t) => {
  const grid = await startGrid({ benefactors: 3 });
  const env = grid.env();
  const work = tempDir();

  // Wrong secret: one clear line, non-zero exit.
  const wrong = path.join(work, 'wrong-secret');
  writeFileSync(wrong, 'not-the-cluster-secret-at-all\n', { mode: 0o600 });
  const refused = await runCli(['status'], { ...env, STDCHK_SECRET_FILE: wrong });
  t.not(refused.code, 0);
  t.regex(refused.stderr, /^stdchk: .*wrong cluster secret/m);
  t.is(refused.stderr.trim().split('\n').length, 1);

  // A chunk whose bytes do not match its hash: INVALID_ARGUMENT, and the benefactor keeps serving.
  const st = await status(env);
  const address = st.benefactors[0]!.address;
  const client = connectBenefactor(address, { secret: readSecretFile(grid.secretFile) });
  const store = (chunks: { hash: Buffer; data: Buffer }[]) =>
    new Promise<{ ok: boolean; code?: number; details?: string }>((resolve) => {
      const call = client.storeChunks();
      call.on('data', () => {
        resolve({ ok: true });
        call.end();
      });
      call.on('error', (e: { code: number; details: string }) =>
        resolve({ ok: false, code: e.code, details: e.details }),
      );
      call.write({
        seq: 1,
        refs: encodeRefs(chunks.map((c) => ({ hash: c.hash, length: c.data.length }))),
        data: Buffer.concat(chunks.map((c) => c.data)),
      });
    });
  const data = randomBytes(4096);
  const bad = await store([{ hash: hashChunk(randomBytes(16)), data }]);
  t.false(bad.ok);
  t.is(bad.code, 3 /* INVALID_ARGUMENT */);
  t.regex(bad.details ?? '', /hash/);
  const good = await store([{ hash: hashChunk(data), data }]);
  t.true(good.ok, 'the benefactor still stores valid chunks');
  client.close();

  // A benefactor at capacity receives no more chunks: a fourth, small one next to three large ones.
  const small = 3;
  grid.startBenefactor(small, { capacity: '24MiB' });
  await grid.waitForAlive(4);
  for (let i = 0; i < 3; i++) {
    const f = path.join(work, `fill-${i}`);
    writeRandomFile(f, 64 * MiB);
    const r = await runCli(['put', f, `/fill-${i}`, '--replicas', '2'], env);
    t.is(r.code, 0, r.stderr);
  }
  const after = await status(env);
  const smallOne = after.benefactors.find((b) => b.capacityBytes === 24 * MiB);
  if (!smallOne) return t.fail('the small benefactor is registered');
  t.true(smallOne.usedBytes <= 24 * MiB, `used ${smallOne.usedBytes} stays within capacity`);
  t.true(
    folderBytes(grid.benefactorStore(small)) <= 24 * MiB + 64 * 1024,
    'its folder stays within capacity',
  );
});

test("deleted files' chunks disappear from the benefactors' folders after the grace period", async (t) => {
  const grid = await startGrid({ benefactors: 3, managerArgs: ['--gc-grace', '2s'] });
  const env = grid.env();
  const work = tempDir();
  const keep = path.join(work, 'keep');
  const doomed = path.join(work, 'doomed');
  writeRandomFile(keep, 16 * MiB);
  writeRandomFile(doomed, 48 * MiB);
  for (const [f, remote] of [
    [keep, '/keep'],
    [doomed, '/doomed'],
  ] as const) {
    const r = await runCli(['put', f, remote, '--replicas', '2'], env);
    t.is(r.code, 0, r.stderr);
  }
  const stores = [0, 1, 2].map((i) => grid.benefactorStore(i));
  const before = stores.reduce((n, d) => n + folderBytes(d), 0);
  t.true(before >= 2 * 64 * MiB);
  const rm = await runCli(['rm', '/doomed'], env);
  t.is(rm.code, 0, rm.stderr);
  await waitFor(
    'storedBytes and folders to shrink',
    async () => {
      const s = await status(env);
      const on = stores.reduce((n, d) => n + folderBytes(d), 0);
      return s.storedBytes < 17 * MiB && on < before - 2 * 40 * MiB;
    },
    60_000,
    500,
  );
  // No piece of the deleted file's bytes remains in any benefactor file.
  const doomedBytes = readFileSync(doomed);
  const probe = doomedBytes.subarray(20 * MiB, 20 * MiB + 64);
  for (const d of stores) {
    for (const e of readdirSync(d, { recursive: true, withFileTypes: true })) {
      if (!e.isFile()) continue;
      t.false(
        readFileSync(path.join(e.parentPath, e.name)).includes(probe),
        `${e.name} still holds deleted data`,
      );
    }
  }
  const out = path.join(work, 'keep-back');
  const r = await runCli(['get', '/keep', out], env);
  t.is(r.code, 0, r.stderr);
  t.is(await sha256File(out), await sha256File(keep), 'the kept file is intact');
});

test('put --sync-replicas 1 returns after one copy; the manager makes the second in the background', async (t) => {
  const grid = await startGrid({ benefactors: 3 });
  const env = grid.env();
  const work = tempDir();
  const f = path.join(work, 'big');
  // (Copies beyond one pass's queue are planned in later passes: unit test in manager-chunks.)
  writeRandomFile(f, 48 * MiB);
  const sum = await sha256File(f);
  const put = await runCli(['put', f, '/big', '--replicas', '2', '--sync-replicas', '1', '--json'], env);
  t.is(put.code, 0, put.stderr);
  const stats = JSON.parse(put.stdout);
  t.is(stats.syncReplicas, 1);
  t.is(stats.bytesSent, stats.bytesUploaded, 'the client sent every new chunk once');
  const heldBy = (s: { benefactors: { chunks: number }[] }) =>
    s.benefactors.reduce((n, b) => n + b.chunks, 0);
  // The manager's index settles first; benefactors' own chunk counts arrive with their next heartbeat.
  const healed = await waitFor(
    'both replicas made and reported',
    async () => {
      const s = await status(env);
      const settled = s.underReplicatedChunks === 0 && s.repairsInProgress === 0;
      return settled && heldBy(s) >= 2 * s.chunks ? s : undefined;
    },
    120_000,
  );
  t.is(heldBy(healed), 2 * healed.chunks, 'every chunk is on exactly two benefactors');
  // Either copy serves the file: lose one benefactor and read it back.
  await grid.kill(grid.benefactors[0], 'SIGKILL');
  const out = path.join(work, 'out');
  const get = await runCli(['get', '/big', out], env);
  t.is(get.code, 0, get.stderr);
  t.is(await sha256File(out), sum);
  const bad = await runCli(['put', f, '/x', '--replicas', '2', '--sync-replicas', '3'], env);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /^stdchk: --sync-replicas must be "all" or an integer from 1 to --replicas \(2\)/);
});
