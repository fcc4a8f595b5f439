import test from 'ava';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanupAll, runCli, startGrid, tempDir, waitFor } from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import { clusterStatus, noHang, sha, writeThroughMount } from '../helpers/faults.ts';
import type { MountWrite } from '../helpers/faults.ts';
import { mountSource } from '../../src/grid/local-grid.ts';
import { unary } from '../../src/rpc/index.ts';
import { encodeHashes, isHole } from '../../src/chunking/refs.ts';
import { isStdchkError } from '../../src/errors/index.ts';
import { syncFolder } from '../../src/fuse-client/barrier.ts';

// Issue 6, fault 4: kill -9 of the manager while two mounts and a client
// write, restarted on the same --data; and the known gap: a deduplicated
// chunk lost between the dedup lookup and the commit.

const MiB = 1024 * 1024;

test.after.always(cleanupAll);

interface Attempt {
  name: string;
  sha: string;
  bytes: number;
  startedAt: number;
  endedAt: number;
  result: MountWrite;
}

test.serial(
  'manager kill -9 during writes: in-flight writes complete or fail with EIO at close, committed versions are intact, no half-committed version is ever visible',
  async (t) => {
    t.timeout(10 * 60_000);
    const work = tempDir('stdchk-mgr-restart-');
    const grid: LocalGrid = await startGrid({ benefactors: 3, managerArgs: ['--heartbeat-timeout', '5s'] });
    const env = grid.env();
    const writeMount = await grid.mount(path.join(work, 'm1'), {
      replicas: 2,
      cacheDir: path.join(work, 'cache1'),
      cacheSize: '512MiB',
    });
    const readMount = await grid.mount(path.join(work, 'm2'), { replicas: 2 });
    t.teardown(async () => {
      for (const m of [writeMount, readMount]) if (mountSource(m.mountpoint)) await grid.unmount(m);
    });
    const client = grid.client();
    t.teardown(() => client.close());

    const WRITERS = 2;
    /** Every content ever written to w<i>/latest (committed or not): what a reader may see. */
    const written: Set<string>[] = [];
    const attempts: Attempt[][] = [];
    const lastCommitted: (string | undefined)[] = [];
    const failedAfterLastCommit: Set<string>[] = [];
    for (let i = 0; i < WRITERS; i++) {
      await mkdir(path.join(writeMount.mountpoint, `w${i}`));
      written.push(new Set());
      attempts.push([]);
      lastCommitted.push(undefined);
      failedAfterLastCommit.push(new Set());
    }
    let stop = false;

    // Writers through the mount: each checkpoint is a new file cp-N, then the same bytes
    // replace w<i>/latest (all deduplicated: the overwrite costs only the commit).
    const writer = async (i: number) => {
      for (let n = 0; !stop; n++) {
        const data = randomBytes(randomInt(MiB, 6 * MiB));
        const sum = sha(data);
        written[i]!.add(sum);
        for (const name of [`w${i}/cp-${n}`, `w${i}/latest`]) {
          const startedAt = Date.now();
          const result = await noHang(
            writeThroughMount(path.join(writeMount.mountpoint, name), data),
            180_000,
            `writing ${name}`,
          );
          attempts[i]!.push({ name, sha: sum, bytes: data.length, startedAt, endedAt: Date.now(), result });
          if (name.endsWith('latest')) {
            if (result.ok) {
              lastCommitted[i] = sum;
              failedAfterLastCommit[i]!.clear();
            } else failedAfterLastCommit[i]!.add(sum);
          }
        }
      }
    };

    // A client-library writer (what `stdchk put` runs) in this process.
    const puts: Attempt[] = [];
    const putter = async () => {
      const local = path.join(work, 'put-src');
      for (let n = 0; !stop; n++) {
        const data = randomBytes(randomInt(MiB, 4 * MiB));
        writeFileSync(local, data);
        const startedAt = Date.now();
        let result: MountWrite = { ok: true };
        try {
          await noHang(client.putFile(local, `/put-${n}`, { replicas: 2 }), 180_000, `put-${n}`);
        } catch (e) {
          result = { ok: false, code: isStdchkError(e) ? e.code : String(e), failedAt: 'close' };
        }
        puts.push({
          name: `put-${n}`,
          sha: sha(data),
          bytes: data.length,
          startedAt,
          endedAt: Date.now(),
          result,
        });
      }
    };

    // Readers through the other mount and the client library: a whole version or nothing.
    const seen = { reads: 0, errors: 0, wrong: [] as string[] };
    const reader = async () => {
      while (!stop) {
        for (let i = 0; i < WRITERS; i++) {
          const file = path.join(readMount.mountpoint, `w${i}`, 'latest');
          for (const read of [
            () => readFile(file),
            async () => {
              const out = path.join(work, `read-${i}`);
              await client.getFile(`/w${i}/latest`, out);
              return readFileSync(out);
            },
          ]) {
            try {
              const got = await read();
              seen.reads++;
              if (!written[i]!.has(sha(got)))
                seen.wrong.push(`w${i}/latest: ${got.length} bytes, not a version`);
            } catch (e) {
              const code = (e as NodeJS.ErrnoException).code;
              if (code !== 'ENOENT' && !isStdchkError(e, 'NOT_FOUND')) seen.errors++;
            }
          }
        }
        await sleep(100);
      }
    };

    const running = [writer(0), writer(1), putter(), reader()];
    const kills: { at: number; downMs: number }[] = [];
    for (let k = 0; k < 2; k++) {
      await sleep(8_000);
      const at = Date.now();
      await grid.kill(grid.manager, 'SIGKILL');
      await sleep(3_000);
      await grid.startManager();
      kills.push({ at, downMs: Date.now() - at });
    }
    await sleep(8_000);
    stop = true;
    await Promise.all(running);
    // The mount writes back: what its writers closed is committed once the barrier returns.
    t.is(
      await noHang(
        syncFolder(writeMount.mountpoint).then(() => 'ok', String),
        300_000,
        'the barrier',
      ),
      'ok',
    );

    const all = [...attempts.flat(), ...puts];
    const inFlight = all.filter((a) => kills.some((k) => a.startedAt < k.at && a.endedAt > k.at));
    const failed = all.filter((a) => !a.result.ok);
    t.log(
      `${kills.length} manager kills (down ${kills.map((k) => (k.downMs / 1000).toFixed(1)).join(', ')} s); ` +
        `${all.length} writes (${(all.reduce((n, a) => n + a.bytes, 0) / MiB).toFixed(0)} MiB), ` +
        `${inFlight.length} in flight at a kill, ${inFlight.filter((a) => a.result.ok).length} of them completed; ` +
        `${failed.length} failed; ${seen.reads} reads, ${seen.errors} read errors`,
    );
    t.true(inFlight.length > 0, 'some writes were in flight when the manager died');
    for (const a of failed) {
      t.deepEqual(
        { code: a.result.code, failedAt: a.result.failedAt },
        a.name.startsWith('put-')
          ? { code: a.result.code, failedAt: 'close' }
          : { code: 'EIO', failedAt: 'close' },
        `${a.name} failed at ${a.result.failedAt} with ${a.result.code}: only close() may fail, with EIO`,
      );
    }
    t.deepEqual(seen.wrong, [], 'readers only ever saw whole committed versions');

    // Every committed version is intact, through the mount and through `stdchk get`.
    let verified = 0;
    let files = 0;
    let lost = 0;
    for (const a of attempts.flat()) {
      if (!a.result.ok || a.name.endsWith('latest')) continue;
      const got = await readFile(path.join(readMount.mountpoint, a.name));
      t.is(sha(got), a.sha, `${a.name} reads back identical`);
      if (sha(got) === a.sha) verified += got.length;
      else lost++;
      files++;
    }
    for (const p of puts.filter((a) => a.result.ok)) {
      const out = path.join(work, 'get-out');
      await client.getFile(`/${p.name}`, out);
      const got = sha(readFileSync(out));
      t.is(got, p.sha, `${p.name} reads back identical`);
      if (got === p.sha) verified += p.bytes;
      else lost++;
      files++;
    }
    const sample = attempts[0]!.find((a) => a.result.ok && a.name.includes('cp-'));
    if (sample) {
      const out = path.join(work, 'cli-get');
      const r = await runCli(['get', `/${sample.name}`, out], env);
      t.is(r.code, 0, r.stderr);
      t.is(sha(readFileSync(out)), sample.sha, 'stdchk get reads the same bytes');
    }
    // latest is the last committed version, or one whose close failed after it (its commit may have landed).
    for (let i = 0; i < WRITERS; i++) {
      const got = sha(await readFile(path.join(readMount.mountpoint, `w${i}`, 'latest')));
      t.true(
        got === lastCommitted[i] || failedAfterLastCommit[i]!.has(got),
        `w${i}/latest holds its last committed version`,
      );
    }
    t.log(
      `verified ${files} committed files, ${(verified / MiB).toFixed(0)} MiB (and both latest); lost: ${lost}`,
    );
  },
);

test.serial(
  'a deduplicated chunk lost before the commit is uploaded again from data the writer still has; without that data the commit fails cleanly',
  async (t) => {
    t.timeout(5 * 60_000);
    const grid = await startGrid({ benefactors: 4, managerArgs: ['--heartbeat-timeout', '3s'] });
    const client = grid.client();
    t.teardown(() => client.close());
    const storeOf = new Map<string, number>(); // benefactor id -> grid index
    for (let i = 0; i < 4; i++) {
      storeOf.set(readFileSync(path.join(grid.benefactorStore(i), 'benefactor.id'), 'utf8').trim(), i);
    }

    /** Stores `data` at `remote` and returns the grid indexes of the benefactors holding its chunks. */
    const storeAndLocate = async (remote: string, data: Buffer): Promise<number[]> => {
      const w = await client.openWriter(remote, { replicas: 2 });
      await w.write(Buffer.from(data)); // the writer hands its buffer to the chunker thread
      await w.close();
      const reader = await client.openReader(remote);
      const hashes = reader.refs.filter((r) => !isHole(r)).map((r) => r.hash);
      await reader.close();
      const loc = await unary(client.manager, 'locateChunks', { hashes: encodeHashes(hashes) });
      const holders = new Set<number>();
      for (const l of loc.locations)
        for (const b of l.benefactors) holders.add(storeOf.get(loc.benefactors[b]!.id)!);
      return [...holders];
    };

    /**
     * Writes `shared` (already stored: deduplicated) plus fresh bytes to `remote`, waits until
     * every chunk is stored, kills the holders of the shared chunks, waits until the manager
     * declares them lost, then commits.
     */
    const writeWhileLosing = async (remote: string, shared: Buffer, holders: number[], recover: boolean) => {
      const data = Buffer.concat([shared, randomBytes(MiB)]);
      const w = await client.openWriter(remote, {
        replicas: 2,
        recoveryWaitMs: 5_000,
        ...(recover ? { recover: (c) => data.subarray(c.offset, c.offset + c.length) } : {}),
      });
      await w.write(Buffer.from(data));
      await w.cut();
      t.true(w.stats.bytesUploaded < data.length, 'the shared part was deduplicated, not uploaded');
      for (const i of holders) await grid.kill(grid.benefactors[i], 'SIGKILL');
      await waitFor(
        'the holders declared lost',
        async () =>
          (await clusterStatus(grid.env())).benefactors.filter((b) => !b.alive).length === holders.length,
        30_000,
      );
      return { data, close: () => w.close() };
    };

    // A small file: one batch, so its chunks sit on exactly two benefactors.
    const a = randomBytes(512 * 1024);
    const holders = await storeAndLocate('/a', a);
    t.is(holders.length, 2);
    const b = await writeWhileLosing('/b', a, holders, true);
    const { stats } = await b.close();
    t.true(stats.bytesUploaded >= a.length, 'the lost chunks were uploaded again');
    const out = path.join(tempDir(), 'b');
    await client.getFile('/b', out);
    t.is(sha(readFileSync(out)), sha(b.data), '/b reads back identical with both original holders down');

    // The holders return; /a is whole again.
    for (const i of holders) grid.startBenefactor(i);
    await grid.waitForAlive(4);
    await client.getFile('/a', out);
    t.is(sha(readFileSync(out)), sha(a));

    // Without the data, the commit fails cleanly (nothing committed), after waiting a bounded time.
    const a2 = randomBytes(512 * 1024);
    const holders2 = await storeAndLocate('/a2', a2);
    const c = await writeWhileLosing('/c', a2, holders2, false);
    const err = await t.throwsAsync(c.close());
    t.true(isStdchkError(err, 'CONFLICT'), String(err));
    t.regex(err?.message ?? '', /no longer stored on any live benefactor.*no longer holds their data/);
    await t.throwsAsync(client.stat('/c'), undefined, 'nothing was committed');
  },
);
