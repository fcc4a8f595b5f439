import test from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanupAll, runCli, sha256File, startGrid, statusJson, tempDir } from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import { fileChunks, flipChunkByte } from '../helpers/replicas.ts';
import { encodeHashes } from '../../src/chunking/refs.ts';
import { unary } from '../../src/rpc/index.ts';

// Chunk encryption (docs/security.md, "Chunk encryption"), with real
// processes: put/get and a write-back mount holding the cluster key, three
// benefactors that never get it. A donor's disk holds no plaintext, reads
// are identical, dedup still works across files, and a damaged stored
// chunk is detected and read from another replica.

const MiB = 1024 * 1024;
const MARKER = 'STDCHK-PLAINTEXT-MARKER';

test.after.always(cleanupAll);

/** Text a donor could grep for: MARKER on every line, each line different (no dedup inside). */
function markedFile(file: string, bytes: number, tag: string): void {
  const lines: string[] = [];
  let n = 0;
  for (let size = 0; size < bytes; n++) {
    const line = `${MARKER} ${tag} line ${n} ${'x'.repeat(n % 50)}\n`;
    lines.push(line);
    size += line.length;
  }
  writeFileSync(file, lines.join(''));
}

/** Every file under every benefactor's store that contains `needle`. */
function donorFilesWith(grid: LocalGrid, n: number, needle: string): string[] {
  const hits: string[] = [];
  for (let i = 0; i < n; i++) {
    const store = grid.benefactorStore(i);
    for (const e of readdirSync(store, { withFileTypes: true, recursive: true })) {
      if (!e.isFile()) continue;
      const f = path.join(e.parentPath, e.name);
      if (readFileSync(f).includes(needle)) hits.push(f);
    }
  }
  return hits;
}

async function keygen(work: string, env: Record<string, string>): Promise<string> {
  const key = path.join(work, 'cluster.key');
  const r = await runCli(['keygen', key], env);
  if (r.code !== 0) throw new Error(r.stderr);
  return key;
}

test.serial(
  "chunks leave the client encrypted: no donor's store holds the plaintext, put/get and the write-back mount read back identical, dedup works across files",
  async (t) => {
    // Before the grid: cleanups run in reverse, so the grid and its mount stop before this goes.
    const work = tempDir();
    const grid = await startGrid({ benefactors: 3 });
    const env = grid.env();
    const key = await keygen(work, env);
    const K = ['--encryption-key-file', key];
    const f = path.join(work, 'f');
    markedFile(f, 6 * MiB, 'put');
    const sum = await sha256File(f);

    const put = await runCli(['put', f, '/enc/f', '--parents', '--replicas', '2', ...K], env);
    t.is(put.code, 0, put.stderr);
    t.deepEqual(donorFilesWith(grid, 3, MARKER), [], 'no store file holds the plaintext');

    const back = path.join(work, 'back');
    const get = await runCli(['get', '/enc/f', back, ...K], env);
    t.is(get.code, 0, get.stderr);
    t.is(await sha256File(back), sum, 'read back identical');
    // A client without the key is told so (never handed the stored bytes as the file's).
    const keyless = await runCli(['get', '/enc/f', path.join(work, 'raw')], env);
    t.is(keyless.code, 1);
    t.regex(
      keyless.stderr,
      /^stdchk: chunk [0-9a-f]{64} is encrypted with a cluster key \(key id [0-9a-f]{8}\) and this client has none: give --encryption-key-file/,
    );

    // Dedup: the same content again, under another name, stores no new chunk.
    const before = await statusJson(env);
    t.is((await runCli(['put', f, '/enc/copy', '--replicas', '2', ...K], env)).code, 0);
    const after = await statusJson(env);
    t.is(after.chunks, before.chunks, 'no new chunk for a copy');
    t.is(after.storedBytes, before.storedBytes);
    t.true(after.logicalBytes > before.logicalBytes);

    // The write-back mount (the default) with the key: a file written there is encrypted
    // too, and the same bytes as /enc/f dedup against it.
    const mp = path.join(work, 'mnt');
    // The key where the grid's own mounts (those of `stdchk up` and its workers) find it.
    writeFileSync(grid.encryptionKeyFile, readFileSync(key), { mode: 0o600 });
    await grid.mount(mp, { replicas: 2 });
    const g = path.join(work, 'g');
    markedFile(g, 3 * MiB, 'mount');
    writeFileSync(path.join(mp, 'enc', 'g'), readFileSync(g));
    writeFileSync(path.join(mp, 'enc', 'f2'), readFileSync(f));
    const s = await runSync(path.join(mp, 'enc'));
    t.is(s, 0, 'the folder barrier');
    t.deepEqual(donorFilesWith(grid, 3, MARKER), [], 'nothing the mount wrote is in plaintext either');
    const gBack = path.join(work, 'g-back');
    t.is((await runCli(['get', '/enc/g', gBack, ...K], env)).code, 0);
    t.is(await sha256File(gBack), await sha256File(g));
    const client = grid.client();
    t.teardown(() => client.close());
    t.deepEqual(
      (await fileChunks(client, '/enc/f2')).map((c) => c.hash.toString('hex')),
      (await fileChunks(client, '/enc/f')).map((c) => c.hash.toString('hex')),
      'the mount and put give the same content the same stored chunks',
    );

    // Control: the same bytes without a key are found on the donors' disks (the grep works).
    const plain = path.join(work, 'plain');
    markedFile(plain, 1 * MiB, 'plain');
    t.is((await runCli(['put', plain, '/plain', '--replicas', '1'], env)).code, 0);
    t.true(donorFilesWith(grid, 3, `${MARKER} plain`).length > 0);
    // A client with the key still reads files stored before encryption was turned on.
    const plainBack = path.join(work, 'plain-back');
    t.is((await runCli(['get', '/plain', plainBack, ...K], env)).code, 0);
    t.is(await sha256File(plainBack), await sha256File(plain));
  },
);

/** `sync DIR` (the write-back mount's folder barrier); its exit code. */
async function runSync(dir: string): Promise<number | null> {
  const child = spawn('sync', [dir], { stdio: 'ignore' });
  return new Promise((resolve) => child.on('close', (code) => resolve(code)));
}

test.serial(
  'a flipped bit in a stored encrypted chunk is detected: the read gets the right bytes from the other replica; with one replica it fails (EIO), never wrong bytes',
  async (t) => {
    const work = tempDir();
    const grid = await startGrid({ benefactors: 3 });
    const env = grid.env();
    const client = grid.client();
    t.teardown(() => client.close());
    const key = await keygen(work, env);
    const K = ['--encryption-key-file', key];
    const f = path.join(work, 'f');
    markedFile(f, 4 * MiB, 'r2');
    const sum = await sha256File(f);
    t.is((await runCli(['put', f, '/f', '--replicas', '2', ...K], env)).code, 0);

    // Damage every chunk's first replica (the one a reader asks first).
    const ids = [0, 1, 2].map((i) =>
      readFileSync(path.join(grid.benefactorStore(i), 'benefactor.id'), 'utf8').trim(),
    );
    const chunks = await fileChunks(client, '/f');
    const loc = await unary(client.manager, 'locateChunks', {
      hashes: encodeHashes(chunks.map((c) => c.hash)),
    });
    let flipped = 0;
    chunks.forEach((c, i) => {
      const first = loc.benefactors[loc.locations[i]?.benefactors[0] ?? -1]?.id;
      flipChunkByte(grid.benefactorStore(ids.indexOf(first as string)), c.hash);
      flipped++;
    });
    t.true(flipped > 10);
    const back = path.join(work, 'back');
    const r = await runCli(['get', '/f', back, ...K], env);
    t.is(r.code, 0, r.stderr);
    t.is(await sha256File(back), sum, 'the right bytes, from the other replica');
    const logs = [0, 1, 2].map((i) => readFileSync(path.join(grid.logDir, `benefactor-${i}.log`), 'utf8'));
    t.true(logs.join('').includes('corrupt chunk dropped'), 'the damaged copies were found');

    // One replica: the damage cannot be worked around, and the read says so.
    const g = path.join(work, 'g');
    markedFile(g, 1 * MiB, 'r1');
    t.is((await runCli(['put', g, '/g', '--replicas', '1', ...K], env)).code, 0);
    const gChunks = await fileChunks(client, '/g');
    const gLoc = await unary(client.manager, 'locateChunks', { hashes: encodeHashes([gChunks[0]!.hash]) });
    const holder = gLoc.benefactors[gLoc.locations[0]?.benefactors[0] ?? -1]?.id as string;
    flipChunkByte(grid.benefactorStore(ids.indexOf(holder)), gChunks[0]!.hash);
    const bad = await runCli(['get', '/g', path.join(work, 'g-back'), ...K], env);
    t.not(bad.code, 0);
    t.regex(bad.stderr, /^stdchk: chunk [0-9a-f]{64} is not readable on any replica$/m);
  },
);

test.serial(
  'a manager with --require-encryption refuses writers without the cluster key (one line, nothing stored) and takes those with it',
  async (t) => {
    const work = tempDir();
    const grid = await startGrid({ benefactors: 2, managerArgs: ['--require-encryption'] });
    const env = grid.env();
    const key = await keygen(work, env);
    const f = path.join(work, 'f');
    markedFile(f, 1 * MiB, 'required');
    const keyless = await runCli(['put', f, '/f', '--replicas', '2'], env);
    t.is(keyless.code, 1);
    t.regex(
      keyless.stderr,
      /^stdchk: this cluster stores only encrypted chunks \(manager --require-encryption\): give the writer the cluster key, --encryption-key-file$/m,
    );
    t.deepEqual(donorFilesWith(grid, 2, MARKER), [], 'nothing of it reached a donor');
    const keyed = await runCli(['put', f, '/f', '--replicas', '2', '--encryption-key-file', key], env);
    t.is(keyed.code, 0, keyed.stderr);
    const back = path.join(work, 'back');
    t.is((await runCli(['get', '/f', back, '--encryption-key-file', key], env)).code, 0);
    t.is(await sha256File(back), await sha256File(f));
  },
);
