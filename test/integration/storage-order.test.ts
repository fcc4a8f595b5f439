import test from 'ava';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanupAll, runCli, sha256File, startGrid, statusJson, tempDir, waitFor } from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import { fileChunks, holdings } from '../helpers/replicas.ts';
import { sha } from '../helpers/faults.ts';
import { isHole } from '../../src/chunking/refs.ts';
import type { ChunkRef } from '../../src/chunking/refs.ts';
import { isStdchkError } from '../../src/errors/index.ts';

// Issue 19, "Committed data lost", items 1 and 2, with real processes: a
// chunk's deletion and a new reference to it must be ordered.
//  - item 2: a delete on its way to a benefactor (held back 6 s there by the
//    test-only STDCHK_FAULT_DELETE_DELAY_MS) races a new upload of the same
//    chunk, answered "existing";
//  - item 1: a writer slower than the upload grace sees its first chunks
//    collected and deleted, then its commit's CONFLICT re-sends its old
//    ReportStored calls.
// Either way the commit must never succeed with chunks that exist nowhere.

const MiB = 1024 * 1024;
const DELETE_DELAY_MS = 6_000;

test.after.always(cleanupAll);

interface LogLine {
  msg: string;
  time: number;
  [k: string]: unknown;
}

/** The JSON lines of a grid process's log whose message starts with `msg`. */
function logLines(grid: LocalGrid, name: string, msg: string): LogLine[] {
  const file = path.join(grid.logDir, `${name}.log`);
  if (!existsSync(file)) return [];
  const out: LogLine[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const j = JSON.parse(line) as LogLine;
      if (j.msg.startsWith(msg)) out.push(j);
    } catch {
      // a line being written
    }
  }
  return out;
}

async function getSha(
  grid: LocalGrid,
  remote: string,
): Promise<{ code: number | null; sha?: string; stderr: string }> {
  const out = path.join(tempDir(), 'got');
  const r = await runCli(['get', remote, out], grid.env());
  return { code: r.code, stderr: r.stderr, ...(r.code === 0 ? { sha: await sha256File(out) } : {}) };
}

async function addresses(grid: LocalGrid): Promise<string[]> {
  return (await statusJson(grid.env())).benefactors.map((b) => b.address);
}

/** How many of the given chunks each benefactor serves (bytes verified). */
async function served(grid: LocalGrid, chunks: ChunkRef[]): Promise<number[]> {
  const client = grid.client();
  try {
    const held = await holdings(client, await addresses(grid), chunks);
    return [...held.values()].map((s) => s.size);
  } finally {
    client.close();
  }
}

test.serial(
  'item 2: a delete on its way to the benefactors does not remove chunks a new write just referenced',
  async (t) => {
    // Only the benefactors started now read the fault variable.
    process.env.STDCHK_FAULT_DELETE_DELAY_MS = String(DELETE_DELAY_MS);
    let grid: LocalGrid;
    try {
      grid = await startGrid({ benefactors: 2, managerArgs: ['--gc-grace', '1s'] });
    } finally {
      delete process.env.STDCHK_FAULT_DELETE_DELAY_MS;
    }
    const client = grid.client();
    t.teardown(() => client.close());
    const data = randomBytes(3 * MiB);

    // A file is written, deleted and collected: its chunks' deletes leave with a heartbeat reply.
    const w1 = await client.openWriter('/old', { replicas: 2 });
    await w1.write(Buffer.from(data)); // the writer hands its buffer to the chunker thread
    await w1.close();
    const chunks = await fileChunks(client, '/old');
    await client.remove('/old');
    const inFlight = await waitFor(
      'the deletes received by both benefactors (held back there)',
      async () => {
        const seen = [0, 1].map((i) =>
          logLines(grid, `benefactor-${i}`, 'fault injection: delete command delayed'),
        );
        return seen.every((l) => l.length > 0) ? Math.max(...seen.map((l) => l[0]!.time)) : undefined;
      },
      30_000,
      100,
    );

    // While they are on their way, the same content is written again: the dedup lookup no longer
    // knows the chunks, the stores are answered "existing", the commit succeeds.
    const w2 = await client.openWriter('/new', { replicas: 2 });
    await w2.write(Buffer.from(data));
    await w2.close();
    const written = Date.now();
    t.true(
      written - inFlight < DELETE_DELAY_MS,
      `the second write finished ${written - inFlight} ms after the deletes arrived, within their ${DELETE_DELAY_MS} ms delay (the race was exercised)`,
    );
    const applied = await waitFor(
      'both benefactors done with the delete',
      async () => {
        const done = [0, 1].map((i) => logLines(grid, `benefactor-${i}`, 'deleted chunks'));
        return done.every((l) => l.length > 0) ? done.map((l) => l[0]!) : undefined;
      },
      DELETE_DELAY_MS + 30_000,
      200,
    );
    t.true(
      applied.every((l) => l.time > written),
      'the deletes were applied after the new commit',
    );
    const refused = applied.reduce((n, l) => n + Number(l.refused ?? 0), 0);
    t.log(
      `${chunks.length} chunks; the second write was committed ${written - inFlight} ms after both ` +
        `benefactors received the deletes; then deleted ${applied.map((l) => l.deleted).join('+')}, refused ${refused}`,
    );

    // The new file reads back, every chunk has its 2 copies, nothing is unavailable.
    const got = await getSha(grid, '/new');
    t.is(got.code, 0, got.stderr);
    t.is(got.sha, sha(data));
    t.deepEqual(
      await served(grid, chunks),
      [chunks.length, chunks.length],
      'both copies of every chunk are still there',
    );
    const s = await statusJson(grid.env());
    t.is(s.unavailableChunks, 0);
    t.is(s.underReplicatedChunks, 0);
  },
);

/**
 * Writes `first` and waits until both benefactors deleted its chunks (the
 * upload grace ran out with no commit), then writes `rest` and closes.
 */
async function slowWrite(
  grid: LocalGrid,
  remote: string,
  first: Buffer,
  rest: Buffer,
  opts: { recover: boolean },
): Promise<{ closed: unknown; early: ChunkRef[] }> {
  const client = grid.client();
  try {
    const all = Buffer.concat([first, rest]);
    const writer = await client.openWriter(remote, {
      replicas: 2,
      // What `stdchk put` does: give a lost chunk's bytes back from the local data.
      ...(opts.recover
        ? { recover: (c: { offset: number; length: number }) => all.subarray(c.offset, c.offset + c.length) }
        : {}),
      recoveryWaitMs: 3_000,
    });
    await writer.write(Buffer.from(first)); // the writer hands its buffer to the chunker thread
    const early = (await writer.cut()).filter((r) => !isHole(r));
    await waitFor(
      'the first chunks collected and deleted on both benefactors',
      async () => (await served(grid, early)).every((n) => n === 0),
      60_000,
      250,
    );
    await writer.write(Buffer.from(rest));
    const closed = await writer.close().then(
      (r) => r.info,
      (e: unknown) => e,
    );
    return { closed, early };
  } finally {
    client.close();
  }
}

test.serial(
  'item 1: a writer slower than the upload grace: its old reports do not resurrect deleted chunks; the commit uploads them again',
  async (t) => {
    const grid = await startGrid({
      benefactors: 2,
      managerArgs: ['--gc-grace', '1s', '--upload-grace', '2s'],
    });
    const first = randomBytes(2 * MiB);
    const rest = randomBytes(1 * MiB);
    const { closed, early } = await slowWrite(grid, '/slow', first, rest, { recover: true });
    t.false(closed instanceof Error, `the commit succeeded: ${String(closed)}`);
    const got = await getSha(grid, '/slow');
    t.is(got.code, 0, `stdchk get: ${got.stderr}`);
    t.is(got.sha, sha(Buffer.concat([first, rest])));
    const s = await statusJson(grid.env());
    t.is(s.unavailableChunks, 0);
    await waitFor(
      '2 copies of everything',
      async () => (await statusJson(grid.env())).underReplicatedChunks === 0,
      30_000,
    );
    const refused = logLines(grid, 'manager', 'stale chunk reports refused');
    t.true(refused.length > 0, 'the manager refused the stale reports');
    t.log(
      `${early.length} chunks deleted before the commit; the manager refused ` +
        `${refused.reduce((n, l) => n + Number(l.chunks), 0)} stale reports; the commit uploaded them again`,
    );
  },
);

test.serial(
  'item 1: without the data at hand the commit fails clearly and nothing is committed',
  async (t) => {
    const grid = await startGrid({
      benefactors: 2,
      managerArgs: ['--gc-grace', '1s', '--upload-grace', '2s'],
    });
    const { closed } = await slowWrite(grid, '/lost', randomBytes(2 * MiB), randomBytes(MiB), {
      recover: false,
    });
    t.true(isStdchkError(closed, 'CONFLICT'), `the commit failed with CONFLICT: ${String(closed)}`);
    t.regex(String((closed as Error).message), /no longer stored on any live benefactor/);
    const r = await runCli(['ls', '/lost'], grid.env());
    t.not(r.code, 0, 'nothing was committed');
  },
);

test.serial(
  'item 1 through the mount: a stream written for longer than the upload grace commits and reads back identical',
  async (t) => {
    const grid = await startGrid({
      benefactors: 2,
      managerArgs: ['--gc-grace', '1s', '--upload-grace', '2s'],
    });
    const work = tempDir('stdchk-order-');
    const m = await grid.mount(path.join(work, 'mnt'), {
      replicas: 2,
      cacheDir: path.join(work, 'cache'),
      cacheSize: '256MiB',
      // Synchronous mode: the file's chunks are uploaded while it is written (what this tests);
      // write-back would upload nothing before close().
      args: ['--write-mode', 'sync'],
    });
    t.teardown(() => grid.unmount(m));
    const first = randomBytes(12 * MiB);
    const rest = randomBytes(2 * MiB);
    const fh = await open(path.join(m.mountpoint, 'stream.img'), 'w');
    let early = 0;
    try {
      for (let off = 0; off < first.length; off += MiB) await fh.write(first.subarray(off, off + MiB));
      // No fsync: the chunks uploaded so far wait for the commit at close, past the upload grace.
      await waitFor(
        'chunks of the open file collected and deleted on both benefactors',
        async () => {
          const d = [0, 1].map((i) =>
            logLines(grid, `benefactor-${i}`, 'deleted chunks').reduce((n, l) => n + Number(l.deleted), 0),
          );
          early = Math.min(...d);
          return d.every((n) => n > 0);
        },
        60_000,
        250,
      );
      await sleep(500);
      await fh.write(rest);
    } finally {
      await fh.close();
    }
    const got = await getSha(grid, '/stream.img');
    t.is(got.code, 0, `stdchk get: ${got.stderr}`);
    t.is(got.sha, sha(Buffer.concat([first, rest])));
    t.is((await statusJson(grid.env())).unavailableChunks, 0);
    t.log(`${early}+ chunks of the open file deleted before close; close committed, read back identical`);
  },
);
