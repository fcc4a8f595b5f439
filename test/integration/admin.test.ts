import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cleanupAll,
  runCli,
  sha256File,
  startGrid,
  statusJson,
  tempDir,
  waitFor,
  writeRandomFile,
} from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';

// The operator's commands against real grids (manager and benefactors as processes on
// loopback, LevelDB, pack stores on disk): info, fsck after copies are destroyed on a
// benefactor's disk behind stdchk's back, and admin dump / load into a fresh manager.

test.after.always(cleanupAll);

const MiB = 1024 * 1024;
const HELPERS = path.join(path.dirname(fileURLToPath(import.meta.url)), '../helpers');

interface InfoJson {
  path: string;
  version: number;
  size: number;
  versions: {
    version: number;
    current: boolean;
    size: number;
    chunks: {
      hash: string;
      length: number;
      zero: boolean;
      target: number;
      holders: string[];
      liveHolders: string[];
    }[];
  }[];
}

interface FsckJson {
  clean: boolean;
  problems: number;
  repaired: number;
  index: { references: number; missingChunks: number; refcountErrors: number; unavailableChunks: number };
  benefactors: { id: string; recorded: number; verified: number; badCount: number; dropped: number }[];
}

async function put(grid: LocalGrid, local: string, remote: string): Promise<void> {
  const r = await runCli(['put', local, remote, '--parents'], grid.env());
  if (r.code !== 0) throw new Error(`put ${remote}: ${r.stderr}`);
}

async function cli<T>(
  grid: LocalGrid,
  args: string[],
): Promise<{ code: number | null; json: T; stderr: string }> {
  const r = await runCli([...args, '--json'], grid.env());
  let json: T;
  try {
    json = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdchk ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  }
  return { code: r.code, json, stderr: r.stderr };
}

/** Every referenced chunk on its full replica count. */
async function fullyReplicated(grid: LocalGrid): Promise<void> {
  await waitFor(
    'every chunk on its replica count',
    async () => {
      const s = await statusJson(grid.env());
      return s.underReplicatedChunks === 0 && s.unavailableChunks === 0;
    },
    120_000,
  );
}

/** The store folder of a benefactor id. */
function storeOf(grid: LocalGrid, id: string, count: number): string {
  for (let i = 0; i < count; i++) {
    const idFile = path.join(grid.benefactorStore(i), 'benefactor.id');
    if (existsSync(idFile) && readFileSync(idFile, 'utf8').trim() === id) return grid.benefactorStore(i);
  }
  throw new Error(`no store for benefactor ${id}`);
}

/** Destroys every chunk of a benefactor's pack files behind its back (they stay open in it: truncated, not unlinked). */
function destroyPacks(store: string): number {
  const packs = readdirSync(path.join(store, 'packs')).filter((f) => f.endsWith('.pack'));
  for (const f of packs) truncateSync(path.join(store, 'packs', f), 0);
  return packs.length;
}

test("info shows a file's versions, chunks and the benefactors holding each", async (t) => {
  const grid = await startGrid({ benefactors: 3 });
  const dir = tempDir();
  const local = path.join(dir, 'big.bin');
  writeRandomFile(local, 3 * MiB + 123);
  await put(grid, local, '/info/big.bin');
  await fullyReplicated(grid);
  const ids = (await statusJson(grid.env())).benefactors.map((b) => b.id);

  const r = await cli<InfoJson>(grid, ['info', '/info/big.bin']);
  t.is(r.code, 0, r.stderr);
  t.is(r.json.path, '/info/big.bin');
  t.is(r.json.version, 1);
  t.is(r.json.versions.length, 1);
  const v = r.json.versions[0]!;
  t.true(v.current);
  t.is(v.size, 3 * MiB + 123);
  t.is(
    v.chunks.reduce((n, c) => n + c.length, 0),
    3 * MiB + 123,
    'the chunks add up to the file',
  );
  t.true(v.chunks.length > 1);
  for (const c of v.chunks) {
    t.regex(c.hash, /^[0-9a-f]{64}$/);
    t.is(c.holders.length, 2, 'replicas 2: two holders');
    t.deepEqual([...c.liveHolders].sort(), [...c.holders].sort());
    for (const h of c.holders) t.true(ids.includes(h), `${h} is a registered benefactor`);
  }

  const human = await runCli(['info', '/info/big.bin'], grid.env());
  t.is(human.code, 0);
  t.regex(human.stdout, /version 1 \(current\)/);
  const missing = await runCli(['info', '/info/none'], grid.env());
  t.not(missing.code, 0);
  t.regex(missing.stderr, /^stdchk: .*\/info\/none.*\n$/);
});

test("fsck finds copies destroyed on a benefactor's disk behind its back; --repair has them copied again", async (t) => {
  const grid = await startGrid({ benefactors: 3 });
  const dir = tempDir();
  const files: [string, string][] = [];
  for (const [name, size] of [
    ['a.bin', 2 * MiB + 5],
    ['b.bin', 700_000],
  ] as const) {
    const local = path.join(dir, name);
    writeRandomFile(local, size);
    await put(grid, local, `/fsck/${name}`);
    files.push([local, `/fsck/${name}`]);
  }
  await fullyReplicated(grid);
  const clean = await cli<FsckJson>(grid, ['fsck']);
  t.is(clean.code, 0, clean.stderr);
  t.true(clean.json.clean);
  t.true(clean.json.index.references > 0);
  t.true(clean.json.benefactors.every((b) => b.verified === b.recorded && b.badCount === 0));

  // Behind stdchk's back: every chunk on the benefactor holding the most copies is gone.
  const victim = [...clean.json.benefactors].sort((a, b) => b.recorded - a.recorded)[0]!;
  t.true(destroyPacks(storeOf(grid, victim.id, 3)) > 0);

  const repaired = await cli<FsckJson>(grid, ['fsck', '--repair']);
  t.is(repaired.code, 1, `exit 1: problems found, all repaired (${repaired.stderr})`);
  const v = repaired.json.benefactors.find((b) => b.id === victim.id)!;
  t.is(v.badCount, victim.recorded, 'every copy on the damaged benefactor is found bad');
  t.is(v.dropped, v.badCount);
  t.true(repaired.json.benefactors.filter((b) => b.id !== victim.id).every((b) => b.badCount === 0));

  // The manager copies them again from the good holders; fsck is then clean.
  await fullyReplicated(grid);
  await waitFor(
    'fsck clean again',
    async () => (await cli<FsckJson>(grid, ['fsck'])).code === 0,
    120_000,
    1_000,
  );
  for (const [local, remote] of files) {
    const copy = path.join(dir, `copy-${path.basename(remote)}`);
    const g = await runCli(['get', remote, copy], grid.env());
    t.is(g.code, 0, g.stderr);
    t.is(await sha256File(copy), await sha256File(local));
  }

  // Without --repair: reported, exit 4, nothing dropped by fsck.
  const second = (await cli<FsckJson>(grid, ['fsck'])).json.benefactors.find((b) => b.id !== victim.id)!;
  destroyPacks(storeOf(grid, second.id, 3));
  const report = await cli<FsckJson>(grid, ['fsck']);
  t.is(report.code, 4, report.stderr);
  const s = report.json.benefactors.find((b) => b.id === second.id)!;
  t.is(s.badCount, second.recorded);
  t.is(s.dropped, 0);
  t.is(report.json.repaired, 0);
});

test('admin dump while the manager serves, load into a fresh manager: every file reads back byte-identical', async (t) => {
  const grid = await startGrid({ benefactors: 3 });
  const dir = tempDir();
  const files: [string, string][] = [];
  const add = async (name: string, remote: string, size: number) => {
    const local = path.join(dir, name);
    writeRandomFile(local, size);
    await put(grid, local, remote);
    files.push([local, remote]);
  };
  await add('one.bin', '/d/one.bin', 3 * MiB + 1);
  await add('two.bin', '/d/sub/two.bin', 100_000);
  await add('empty.bin', '/d/empty.bin', 0);
  // The same content twice: deduplicated chunks referenced by two files.
  writeFileSync(path.join(dir, 'copy.bin'), readFileSync(path.join(dir, 'one.bin')));
  await put(grid, path.join(dir, 'copy.bin'), '/d/copy.bin');
  files.push([path.join(dir, 'copy.bin'), '/d/copy.bin']);
  t.is((await runCli(['mkdir', '/d/empty-folder'], grid.env())).code, 0);
  await fullyReplicated(grid);

  // Dump while a put is running against the same manager.
  const busy = path.join(dir, 'busy.bin');
  writeRandomFile(busy, 8 * MiB);
  const running = runCli(['put', busy, '/d/busy.bin'], grid.env());
  const dumpFile = path.join(dir, 'metadata.dump');
  const dump = await cli<{ file: string; records: number; bytes: number }>(grid, ['admin', 'dump', dumpFile]);
  t.is(dump.code, 0, dump.stderr);
  t.true(dump.json.records > 5);
  t.is((await running).code, 0);
  const before = await statusJson(grid.env());

  // Wipe the manager; load the dump into a fresh data folder; start a manager on it.
  const m = grid.manager!;
  m.child.kill('SIGTERM');
  await m.exited;
  const data = path.join(grid.dir, 'manager');
  rmSync(data, { recursive: true, force: true });
  const refused = await runCli(['admin', 'load', path.join(dir, 'nonexistent.dump'), '--data', data]);
  t.is(refused.code, 2, refused.stderr);
  t.false(existsSync(data), 'a failed load leaves no data folder behind');
  const loaded = await cli<{ records: number }>(grid, ['admin', 'load', dumpFile, '--data', data]);
  t.is(loaded.code, 0, loaded.stderr);
  t.is(loaded.json.records, dump.json.records);
  const again = await runCli(['admin', 'load', dumpFile, '--data', data]);
  t.is(again.code, 2, 'a data folder in use is never overwritten');
  t.regex(again.stderr, /not empty/);
  await grid.startManager();
  await waitFor(
    'benefactors back',
    async () => (await statusJson(grid.env())).benefactorsAlive === 3,
    60_000,
  );

  for (const [local, remote] of files) {
    const copy = path.join(dir, `back-${path.basename(remote)}`);
    const g = await runCli(['get', remote, copy], grid.env());
    t.is(g.code, 0, g.stderr);
    t.is(await sha256File(copy), await sha256File(local), `${remote} reads back identical`);
  }
  const ls = await runCli(['ls', '/d/empty-folder'], grid.env());
  t.is(ls.code, 0, ls.stderr);
  const after = await statusJson(grid.env());
  t.true(after.files >= before.files - 1, 'the namespace is back (the busy put may fall after the dump)');
});

interface GcJson {
  chunks: number;
  bytes: number;
  releasedChunks: number;
  abandonedChunks: number;
  inProgressChunks: number;
  unknownWriterChunks: number;
  dryRun: boolean;
}

/** A writer process in the middle of a put (test/helpers/partial-upload.ts). */
function partialUpload(grid: LocalGrid, file: string, remote: string, mode: 'exit' | 'hold') {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(HELPERS, 'partial-upload.ts'), file, remote, mode],
    { env: { ...process.env, ...grid.env() }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const line = async (key: string) =>
    waitFor(
      `the writer to print ${key}`,
      async () => {
        if (child.exitCode !== null && !out.includes(key)) throw new Error(`writer exited: ${err}`);
        const l = out.split('\n').find((s) => s.includes(key));
        return l ? (JSON.parse(l) as Record<string, number | boolean>) : undefined;
      },
      120_000,
    );
  return { child, exited, line };
}

test('gc collects deleted versions and failed uploads now, never an upload in progress', async (t) => {
  const grid = await startGrid({ benefactors: 3 });
  const dir = tempDir();
  const chunksOf = async (remote: string) =>
    new Set(
      (await cli<InfoJson>(grid, ['info', remote])).json.versions[0]!.chunks.filter((c) => !c.zero).map(
        (c) => c.hash,
      ),
    ).size;

  // A file put and deleted: its chunks are released (normally kept for the grace).
  const gone = path.join(dir, 'gone.bin');
  writeRandomFile(gone, 2 * MiB);
  await put(grid, gone, '/gc/gone.bin');
  const released = await chunksOf('/gc/gone.bin');
  t.is((await runCli(['rm', '/gc/gone.bin'], grid.env())).code, 0);
  // A file that stays.
  const kept = path.join(dir, 'kept.bin');
  writeRandomFile(kept, MiB);
  await put(grid, kept, '/gc/kept.bin');

  // A put that failed half-way: its chunks are uploaded, its writer is gone.
  const failedFile = path.join(dir, 'failed.bin');
  writeRandomFile(failedFile, 3 * MiB);
  const failed = partialUpload(grid, failedFile, '/gc/failed.bin', 'exit');
  const abandoned = (await failed.line('chunks')).chunks as number;
  t.is(await failed.exited, 0);
  // A put in progress: uploaded, not committed yet, its writer still connected.
  const busyFile = path.join(dir, 'busy.bin');
  writeRandomFile(busyFile, 3 * MiB);
  const busy = partialUpload(grid, busyFile, '/gc/busy.bin', 'hold');
  const inProgress = (await busy.line('chunks')).chunks as number;
  t.true(released > 0 && abandoned > 0 && inProgress > 0);

  const indexed = (await statusJson(grid.env())).chunks;
  // The failed writer's connection closes as its process exits: wait until the manager saw it.
  const dry = await waitFor(
    'gc --dry-run to see the failed upload',
    async () => {
      const r = await cli<GcJson>(grid, ['gc', '--dry-run']);
      return r.json.abandonedChunks === abandoned ? r : undefined;
    },
    30_000,
  );
  t.is(dry.code, 0, dry.stderr);
  t.like(dry.json, {
    dryRun: true,
    releasedChunks: released,
    abandonedChunks: abandoned,
    inProgressChunks: inProgress,
    unknownWriterChunks: 0,
    chunks: released + abandoned,
  });
  t.is((await statusJson(grid.env())).chunks, indexed, 'a dry run collects nothing');

  const gc = await cli<GcJson>(grid, ['gc']);
  t.is(gc.code, 0, gc.stderr);
  t.like(gc.json, { dryRun: false, chunks: released + abandoned, inProgressChunks: inProgress });
  t.is((await statusJson(grid.env())).chunks, indexed - released - abandoned);

  // The upload in progress commits, and reads back.
  busy.child.stdin.write('commit\n');
  t.true((await busy.line('committed')).committed as boolean);
  t.is(await busy.exited, 0);
  for (const [local, remote] of [
    [busyFile, '/gc/busy.bin'],
    [kept, '/gc/kept.bin'],
  ] as const) {
    const copy = path.join(dir, `copy-${path.basename(remote)}`);
    const g = await runCli(['get', remote, copy], grid.env());
    t.is(g.code, 0, g.stderr);
    t.is(await sha256File(copy), await sha256File(local));
  }
  t.like((await cli<GcJson>(grid, ['gc'])).json, { chunks: 0, inProgressChunks: 0 });
  // The benefactors delete the collected copies: each chunk left is on 2 of them.
  await waitFor(
    'benefactors to delete the collected copies',
    async () => {
      const s = await statusJson(grid.env());
      return s.benefactors.reduce((n, b) => n + b.chunks, 0) === 2 * s.chunks;
    },
    60_000,
  );
});

test('benefactor drain moves its chunks while it serves (the only copies included), then retires it', async (t) => {
  const grid = await startGrid({ benefactors: 3 });
  const dir = tempDir();
  const files: [string, string, string][] = [
    ['r2.bin', '/drain/r2.bin', '2'],
    ['r1.bin', '/drain/r1.bin', '1'],
  ];
  for (const [name, remote, replicas] of files) {
    writeRandomFile(path.join(dir, name), 2 * MiB + 7);
    const r = await runCli(
      ['put', path.join(dir, name), remote, '--parents', '--replicas', replicas],
      grid.env(),
    );
    t.is(r.code, 0, r.stderr);
  }
  await fullyReplicated(grid);
  // The victim holds some chunks of the replicas-1 file: their only copy, so every one of
  // them must be read from it while it drains.
  const single = await cli<InfoJson>(grid, ['info', '/drain/r1.bin']);
  const counts = new Map<string, number>();
  for (const c of single.json.versions[0]!.chunks)
    for (const h of c.holders) counts.set(h, (counts.get(h) ?? 0) + 1);
  const victim = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  t.true(counts.get(victim)! > 0);

  const started = await cli<{ id: string; drain: string; drainChunksTotal: number; drainChunksLeft: number }>(
    grid,
    ['benefactor', 'drain', victim],
  );
  t.is(started.code, 0, started.stderr);
  t.is(started.json.drain, 'draining');
  t.true(started.json.drainChunksTotal > 0 && started.json.drainChunksLeft > 0);
  const during = (await statusJson(grid.env())).benefactors.find((b) => b.id === victim)!;
  t.true(['draining', 'retired'].includes(during.drain), 'status shows the drain');

  const waited = await cli<{ drain: string; drainChunksLeft: number }>(grid, [
    'benefactor',
    'drain',
    victim,
    '--wait',
  ]);
  t.is(waited.code, 0, waited.stderr);
  t.like(waited.json, { drain: 'retired', drainChunksLeft: 0 });

  // Retired: no chunk recorded there, its copies deleted, the cluster healthy without it.
  for (const [, remote] of files) {
    const info = await cli<InfoJson>(grid, ['info', remote]);
    for (const c of info.json.versions[0]!.chunks)
      t.false(c.holders.includes(victim), `${remote} has nothing on ${victim}`);
  }
  await waitFor(
    'the retired benefactor to delete its copies',
    async () => (await statusJson(grid.env())).benefactors.find((b) => b.id === victim)!.chunks === 0,
    60_000,
  );
  const st = await statusJson(grid.env());
  t.is(st.health, 'ok');
  t.is(st.benefactors.find((b) => b.id === victim)!.drain, 'retired');
  for (const [name, remote] of files) {
    const copy = path.join(dir, `back-${name}`);
    const g = await runCli(['get', remote, copy], grid.env());
    t.is(g.code, 0, g.stderr);
    t.is(await sha256File(copy), await sha256File(path.join(dir, name)));
  }
  // New data never goes to it.
  writeRandomFile(path.join(dir, 'new.bin'), MiB);
  t.is(
    (await runCli(['put', path.join(dir, 'new.bin'), '/drain/new.bin', '--replicas', '2'], grid.env())).code,
    0,
  );
  const fresh = await cli<InfoJson>(grid, ['info', '/drain/new.bin']);
  for (const c of fresh.json.versions[0]!.chunks) t.false(c.holders.includes(victim));
  const unknown = await runCli(['benefactor', 'drain', 'no-such-benefactor'], grid.env());
  t.not(unknown.code, 0);
  t.regex(unknown.stderr, /no benefactor no-such-benefactor/);
});
