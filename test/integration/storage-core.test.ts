import test from 'ava';
import type { ExecutionContext } from 'ava';
import path from 'node:path';
import { writeFileSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import {
  cleanupAll,
  runCli,
  sha256File,
  startGrid,
  tempDir,
  waitFor,
  writeRandomFile,
} from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';

// Acceptance 2, 3, 4 and 6 of the storage core, on one grid of real processes:
// a manager and 3 benefactors on loopback, driven through the `stdchk` CLI.

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

let grid: LocalGrid;
let work: string;
let env: Record<string, string>;
const committed = new Map<string, string>(); // remote path -> sha256

test.before(async () => {
  grid = await startGrid({ benefactors: 3 });
  work = tempDir();
  env = grid.env();
});

test.after.always(cleanupAll);

async function putJson(local: string, remote: string, replicas = 2) {
  const r = await runCli(['put', local, remote, '--replicas', String(replicas), '--json'], env);
  if (r.code !== 0) throw new Error(`put failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as {
    bytes: number;
    bytesUploaded: number;
    chunks: number;
    chunksUploaded: number;
    seconds: number;
  };
}

async function assertReadsBack(t: ExecutionContext, remote: string, expected: string) {
  const out = path.join(work, `back-${Math.random().toString(36).slice(2)}`);
  const r = await runCli(['get', remote, out], env);
  t.is(r.code, 0, r.stderr);
  t.is(await sha256File(out), expected, `${remote} differs after a round trip`);
}

test.serial('a 1 GiB random file put with --replicas 2 reads back byte-identical', async (t) => {
  const local = path.join(work, 'big.bin');
  writeRandomFile(local, GiB);
  const sum = await sha256File(local);
  const s = await putJson(local, '/big.bin');
  t.is(s.bytes, GiB);
  t.true(s.bytesUploaded >= GiB * 0.99, 'fresh random data is uploaded');
  t.true(s.chunks > 1000, 'content-defined chunks are small');
  committed.set('/big.bin', sum);
  await assertReadsBack(t, '/big.bin', sum);

  const status = JSON.parse((await runCli(['status', '--json'], env)).stdout);
  t.is(status.underReplicatedChunks, 0);
  t.true(status.storedBytes >= GiB && status.storedBytes < GiB * 1.01, 'storedBytes counts each chunk once');
  const used = status.benefactors.reduce((n: number, b: { usedBytes: number }) => n + b.usedBytes, 0);
  t.true(used >= 2 * GiB, `two replicas on disk (used ${used})`);
});

test.serial(
  'the same file under another name uploads under 1%; 1 MiB inserted at the start under 5%',
  async (t) => {
    const local = path.join(work, 'big.bin');
    const again = await putJson(local, '/again.bin');
    t.true(again.bytesUploaded < 0.01 * again.bytes, `uploaded ${again.bytesUploaded} of ${again.bytes}`);
    committed.set('/again.bin', committed.get('/big.bin') as string);

    const shifted = path.join(work, 'shifted.bin');
    writeFileSync(shifted, randomBytes(MiB));
    writeFileSync(shifted, readFileSync(local), { flag: 'a' });
    const s = await putJson(shifted, '/shifted.bin');
    t.true(s.bytesUploaded < 0.05 * s.bytes, `uploaded ${s.bytesUploaded} of ${s.bytes}`);
    const sum = await sha256File(shifted);
    committed.set('/shifted.bin', sum);
    await assertReadsBack(t, '/shifted.bin', sum);
  },
);

test.serial(
  'kill -9 of a benefactor in the middle of a put at --replicas 2: the put succeeds and reads back',
  async (t) => {
    const local = path.join(work, 'during-kill.bin');
    writeRandomFile(local, 512 * MiB);
    const sum = await sha256File(local);
    const put = runCli(['put', local, '/during-kill.bin', '--replicas', '2', '--json'], env);
    // Kill once the upload is well under way.
    await waitFor(
      'upload to start',
      async () => {
        const st = JSON.parse((await runCli(['status', '--json'], env)).stdout);
        return st.storedBytes > 1.2 * GiB;
      },
      60_000,
      100,
    );
    await grid.kill(grid.benefactors[1], 'SIGKILL');
    const r = await put;
    t.is(r.code, 0, r.stderr);
    committed.set('/during-kill.bin', sum);
    await assertReadsBack(t, '/during-kill.bin', sum);
    grid.startBenefactor(1);
    await grid.waitForAlive(3);
  },
);

test.serial(
  'kill -9 of the manager and a restart on the same --data: every committed file is listed and identical',
  async (t) => {
    await grid.kill(grid.manager, 'SIGKILL');
    await grid.startManager();
    await grid.waitForAlive(3);
    const ls = await runCli(['ls', '/', '--json'], env);
    t.is(ls.code, 0, ls.stderr);
    const names = (JSON.parse(ls.stdout) as { path: string }[]).map((e) => e.path).sort();
    t.deepEqual(names, [...committed.keys()].sort());
    for (const [remote, sum] of committed) await assertReadsBack(t, remote, sum);
  },
);
