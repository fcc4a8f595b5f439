import test from 'ava';
import { hashChunk } from '../../src/hashing/index.ts';
import path from 'node:path';
import { readFileSync, readdirSync } from 'node:fs';
import {
  cleanupAll,
  statusJson,
  runCli,
  sha256File,
  startGrid,
  tempDir,
  waitFor,
  writeRandomFile,
} from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import {
  copiesHistogram,
  fileChunks,
  findRecord,
  flipChunkByte,
  holdings,
  rawRead,
} from '../helpers/replicas.ts';
import type { ChunkRef } from '../../src/chunking/refs.ts';
import { encodeHashes } from '../../src/chunking/refs.ts';
import { hex } from '../../src/hashing/index.ts';
import { unary } from '../../src/rpc/index.ts';
import { readSecretFile } from '../../src/config/secret.ts';
import { PACKS_DIR } from '../../src/benefactor/pack-format.ts';
import type { StorageClient } from '../../src/client/storage-client.ts';

// Issue 6, fault 6 ("corruption at rest"), with real processes: bytes of
// chunks are flipped inside a benefactor's pack files. The damage is found by
// a read (test 1) and by the benefactor's periodic scrub (test 2); a bad chunk
// is never served, the client still gets the right bytes from the other
// replica, and the manager restores the replica count from a good copy.

const MiB = 1024 * 1024;

test.after.always(cleanupAll);

const status = statusJson;
type StatusJson = Awaited<ReturnType<typeof statusJson>>;
type BenefactorJson = StatusJson['benefactors'][number];

const idOf = (grid: LocalGrid, i: number) =>
  readFileSync(path.join(grid.benefactorStore(i), 'benefactor.id'), 'utf8').trim();

async function addressOf(env: Record<string, string>, id: string): Promise<string> {
  return (await status(env)).benefactors.find((b) => b.id === id)?.address as string;
}

/** Waits until the manager reports `corrupt` copies found on `id` and every chunk back on r good copies. */
async function waitRepaired(
  env: Record<string, string>,
  client: StorageClient,
  id: string,
  corrupt: number,
  chunks: ChunkRef[],
): Promise<StatusJson> {
  let why = '';
  return waitFor(
    'the corrupt copies reported and repaired',
    async () => {
      const s = await status(env);
      const b = s.benefactors.find((x) => x.id === id);
      why = JSON.stringify({ corrupt: b?.corruptChunks, u: s.underReplicatedChunks, r: s.repairsInProgress });
      if (!b || b.corruptChunks < corrupt || s.underReplicatedChunks !== 0 || s.repairsInProgress !== 0)
        return;
      const held = await holdings(
        client,
        s.benefactors.filter((x) => x.alive).map((x) => x.address),
        chunks,
      );
      const hist = copiesHistogram(held, chunks);
      why = `good copies ${JSON.stringify(hist)}`;
      return hist[2] === chunks.length ? s : undefined;
    },
    90_000,
    500,
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}; last: ${why}`);
  });
}

test('a chunk flipped on disk is detected by a read: the client gets the right bytes, the bad copy is never served, and it is repaired', async (t) => {
  const grid = await startGrid({ benefactors: 3 });
  const env = grid.env();
  const client = grid.client();
  t.teardown(() => client.close());
  const secret = readSecretFile(grid.secretFile);
  const work = tempDir();
  const f = path.join(work, 'f');
  writeRandomFile(f, 24 * MiB);
  const sum = await sha256File(f);
  t.is((await runCli(['put', f, '/f', '--replicas', '2'], env)).code, 0);

  // Chunks whose first replica (the one a reader asks first) is benefactor 0.
  const xId = idOf(grid, 0);
  const xAddress = await addressOf(env, xId);
  const chunks = await fileChunks(client, '/f');
  const loc = await unary(client.manager, 'locateChunks', {
    hashes: encodeHashes(chunks.map((c) => c.hash)),
  });
  const victims = chunks
    .filter((_, i) => loc.benefactors[loc.locations[i]?.benefactors[0] ?? -1]?.id === xId)
    .slice(0, 4);
  t.is(victims.length, 4, 'benefactor 0 is the first replica of some chunks');
  for (const v of victims) flipChunkByte(grid.benefactorStore(0), v.hash);
  t.log(
    `flipped one byte in each of ${victims.length} chunks on benefactor ${xId.slice(0, 8)} while it runs`,
  );

  // The read goes to benefactor 0 first, finds the damage, and is served by the other replica.
  const back = path.join(work, 'back');
  const r = await runCli(['get', '/f', back], env);
  t.is(r.code, 0, r.stderr);
  t.is(await sha256File(back), sum, 'the client read the right bytes');
  const served = await rawRead(
    xAddress,
    victims.map((v) => v.hash),
    secret,
  );
  for (const v of victims) {
    // Missing, or already repaired with a good copy (the repair may win the race): never the bad bytes.
    const got = served.get(hex(v.hash));
    t.true(
      got === 'missing' || (got !== undefined && hashChunk(got).equals(v.hash)),
      'the bad copy is not served',
    );
  }
  const log = readFileSync(path.join(grid.logDir, 'benefactor-0.log'), 'utf8');
  t.is(log.split('\n').filter((l) => l.includes('corrupt chunk dropped')).length, victims.length);

  const s = await waitRepaired(env, client, xId, victims.length, chunks);
  t.is(s.corruptChunks, victims.length);
  t.is(s.health, 'ok');
  const again = path.join(work, 'again');
  t.is((await runCli(['get', '/f', again], env)).code, 0);
  t.is(await sha256File(again), sum);
});

test('the periodic scrub finds chunks nobody reads, flipped while the benefactor was stopped or running, and they are repaired', async (t) => {
  const grid = await startGrid({
    benefactors: 3,
    benefactorArgs: ['--scrub-interval', '3s', '--scrub-rate', '256MiB'],
  });
  const env = grid.env();
  const client = grid.client();
  t.teardown(() => client.close());
  const work = tempDir();
  const f = path.join(work, 'f');
  writeRandomFile(f, 40 * MiB);
  const sum = await sha256File(f);
  t.is((await runCli(['put', f, '/f', '--replicas', '2'], env)).code, 0);
  const chunks = await fileChunks(client, '/f');
  const xId = idOf(grid, 0);
  const store = grid.benefactorStore(0);
  const held = (await holdings(client, [await addressOf(env, xId)], chunks)).values().next()
    .value as Set<string>;
  const onX = chunks.filter((c) => held.has(hex(c.hash)));
  const packs = readdirSync(path.join(store, PACKS_DIR)).sort();
  t.true(packs.length >= 2, 'several packs');
  const newest = path.join(store, PACKS_DIR, packs[packs.length - 1] as string);
  // In a sealed pack: not checked when the store opens, only by reads and the scrub.
  const whileStopped = onX.find((c) => findRecord(store, c.hash)?.file !== newest) as ChunkRef;
  const whileRunning = onX.filter((c) => c !== whileStopped)[7] as ChunkRef;
  t.truthy(whileStopped && whileRunning);

  await grid.kill(grid.benefactors[0], 'SIGTERM');
  flipChunkByte(store, whileStopped.hash);
  grid.startBenefactor(0);
  await grid.waitForAlive(3);
  flipChunkByte(store, whileRunning.hash);
  t.log(
    `flipped ${hex(whileStopped.hash).slice(0, 12)} while stopped, ${hex(whileRunning.hash).slice(0, 12)} while running`,
  );

  const s = await waitRepaired(env, client, xId, 2, chunks);
  const x = s.benefactors.find((b) => b.id === xId) as BenefactorJson;
  t.true(x.scrub.passes >= 1 && x.scrub.lastCompletedMs > 0, 'a scrub pass completed');
  t.true(x.scrub.verifiedBytes > 0);
  t.is(x.corruptChunks, 2);
  const log = readFileSync(path.join(grid.logDir, 'benefactor-0.log'), 'utf8');
  t.regex(log, /scrub pass completed/);
  t.is(log.split('\n').filter((l) => l.includes('corrupt chunk dropped')).length, 2, 'found by the scrub');

  const human = await runCli(['status'], env);
  t.is(human.code, 0, human.stderr);
  t.regex(human.stdout, /^health: ok$/m);
  t.regex(human.stdout, /integrity: 2 corrupt copies found/);
  t.regex(human.stdout, /CORRUPT +SCRUBBED/);

  const back = path.join(work, 'back');
  t.is((await runCli(['get', '/f', back], env)).code, 0);
  t.is(await sha256File(back), sum, 'the file reads back identical');
});
