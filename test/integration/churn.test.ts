import test from 'ava';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanupAll, runCli, startGrid, tempDir, waitFor } from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import { noHang, sha, writeThroughMount } from '../helpers/faults.ts';
import type { MountWrite } from '../helpers/faults.ts';
import { mountSource } from '../../src/grid/local-grid.ts';
import { errorMessage } from '../../src/errors/index.ts';
import { syncFolder } from '../../src/fuse-client/barrier.ts';

// Issue 6, fault 1: churn under load. Checkpoints are written continuously at
// replicas 2 through a real FUSE mount (two writers) and the client library
// (one writer) while a fault injector kill -9s a random benefactor of four and
// restarts it on the same folder a few seconds later, never leaving fewer than
// two running. Afterwards every committed file must read back identical and
// the cluster must heal (underReplicatedChunks back to 0).
// STDCHK_CHURN_SECONDS sets how long the churn lasts (default 60); the file then takes
// about 2 min.

const MiB = 1024 * 1024;
const SECONDS = Number(process.env.STDCHK_CHURN_SECONDS ?? 60);
const BENEFACTORS = 4;
const MIN_RUNNING = 2;
/**
 * The writers' checkpoint sizes and intervals: a checkpoint starts at most every interval
 * (at once if the previous one took longer). At most ~11 MiB/s in all, so the checks after
 * the churn take about as long as the churn, however fast the machine.
 */
const MOUNT_WRITERS = [
  { size: 6 * MiB, intervalMs: 1_500 },
  { size: 4 * MiB, intervalMs: 1_000 },
];
const PUT = { size: 3 * MiB, intervalMs: 1_000 };

test.after.always(cleanupAll);

interface Write {
  name: string;
  sha: string;
  bytes: number;
  startedAt: number;
  endedAt: number;
  /** Fewest benefactor processes running (and registered) at any time during the write. */
  minRunning: number;
  result: MountWrite | { ok: false; code: string; failedAt: 'put'; message: string };
}

/** The next checkpoint of a "process": the previous image with ~10% rewritten in 64 KiB blocks. */
function nextImage(prev: Buffer | undefined, size: number): Buffer {
  if (!prev) return randomBytes(size);
  const next = Buffer.from(prev);
  const blocks = Math.ceil(size / (64 * 1024) / 10);
  for (let k = 0; k < blocks; k++) {
    const at = randomInt(0, Math.max(1, size - 64 * 1024));
    randomBytes(64 * 1024).copy(next, at);
  }
  return next;
}

test.serial(
  `churn: ${SECONDS} s of checkpoint writes at replicas 2 while benefactors are killed -9 and restarted: nothing committed is lost, no writer sees an error, the cluster heals`,
  async (t) => {
    t.timeout((SECONDS + 420) * 1000);
    const work = tempDir('stdchk-churn-');
    const grid: LocalGrid = await startGrid({
      benefactors: BENEFACTORS,
      managerArgs: ['--heartbeat-timeout', '5s'],
    });
    const env = grid.env();
    const writeMount = await grid.mount(path.join(work, 'm-write'), {
      replicas: 2,
      cacheDir: path.join(work, 'cache'),
      cacheSize: '1GiB',
    });
    // Reads go through a second mount without a cache: the bytes come from the benefactors.
    const readMount = await grid.mount(path.join(work, 'm-read'), { replicas: 2 });
    t.teardown(async () => {
      for (const m of [writeMount, readMount]) if (mountSource(m.mountpoint)) await grid.unmount(m);
    });
    const client = grid.client();
    t.teardown(() => client.close());
    const idOf = (i: number) =>
      readFileSync(path.join(grid.benefactorStore(i), 'benefactor.id'), 'utf8').trim();
    const ids = Array.from({ length: BENEFACTORS }, (_, i) => idOf(i));

    // --- the fault injector ----------------------------------------------------------------
    /** Benefactors killed and not yet back (restarted and registered again). */
    const down = new Set<number>();
    let running = BENEFACTORS;
    const trackers = new Set<Write>();
    const setRunning = (n: number) => {
      running = n;
      for (const w of trackers) w.minRunning = Math.min(w.minRunning, n);
    };
    let stop = false;
    let kills = 0;
    let restarts = 0;
    const timeline: string[] = [];
    const t0 = Date.now();
    const stamp = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
    const injector = async () => {
      let nextKill = Date.now() + 4_000;
      const restartAt = new Map<number, number>();
      const starting = new Set<number>();
      /** Address a killed benefactor had: it is back once registered at its new one (a new port). */
      const oldAddress = new Map<number, string>();
      while (!stop) {
        await sleep(250);
        const now = Date.now();
        for (const [i, at] of restartAt) {
          if (now < at) continue;
          restartAt.delete(i);
          grid.startBenefactor(i);
          starting.add(i);
          restarts++;
          timeline.push(`${stamp()} restart ${i}`);
        }
        if (starting.size) {
          const s = await client.status().catch(() => undefined);
          for (const i of [...starting]) {
            if (s?.benefactors.some((b) => b.id === ids[i] && b.alive && b.address !== oldAddress.get(i))) {
              starting.delete(i);
              down.delete(i);
              setRunning(BENEFACTORS - down.size);
              timeline.push(`${stamp()} ${i} back`);
            }
          }
        }
        if (now >= nextKill && BENEFACTORS - down.size - 1 >= MIN_RUNNING) {
          const candidates = [...Array(BENEFACTORS).keys()].filter((i) => !down.has(i));
          const i = candidates[randomInt(candidates.length)] as number;
          const before = await client.status().catch(() => undefined);
          oldAddress.set(i, before?.benefactors.find((b) => b.id === ids[i])?.address ?? '');
          down.add(i);
          setRunning(BENEFACTORS - down.size); // counted down before the signal: never overstated
          await grid.kill(grid.benefactors[i], 'SIGKILL');
          kills++;
          timeline.push(`${stamp()} kill -9 ${i}`);
          restartAt.set(i, now + randomInt(4_000, 12_000));
          nextKill = now + randomInt(3_000, 8_000);
        }
      }
      // Bring everything back for the checks.
      for (const i of restartAt.keys()) {
        grid.startBenefactor(i);
        restarts++;
      }
    };

    // --- the writers -------------------------------------------------------------------------
    const writes: Write[] = [];
    const track = async (w: Write, run: () => Promise<Write['result']>) => {
      trackers.add(w);
      try {
        w.result = await run();
      } finally {
        w.endedAt = Date.now();
        trackers.delete(w);
        writes.push(w);
      }
    };
    /**
     * Waits out the rest of a checkpoint interval begun at `startedAt` (a write that took
     * longer is followed at once): bounds the bytes written, and so the time the checks
     * take, whatever the speed of the machine, and is how checkpoints come in practice.
     */
    const nextCheckpoint = async (startedAt: number, intervalMs: number) => {
      // Not past the end of the churn: the writers stop with it.
      const wait = Math.min(startedAt + intervalMs, t0 + SECONDS * 1000) - Date.now();
      if (wait > 0) await sleep(wait);
    };
    const mountWriter = async (i: number, size: number, intervalMs: number) => {
      await mkdir(path.join(writeMount.mountpoint, `w${i}`));
      let image: Buffer | undefined;
      for (let n = 0; !stop; n++) {
        image = nextImage(image, size);
        const data = image;
        const name = `w${i}/ckpt-${n}.img`;
        const w: Write = {
          name,
          sha: sha(data),
          bytes: data.length,
          startedAt: Date.now(),
          endedAt: 0,
          minRunning: running,
          result: { ok: true },
        };
        await track(w, () =>
          noHang(writeThroughMount(path.join(writeMount.mountpoint, name), data), 300_000, name),
        );
        await nextCheckpoint(w.startedAt, intervalMs);
      }
    };
    const putWriter = async () => {
      const local = path.join(work, 'put-src');
      await client.mkdir('/put');
      let image: Buffer | undefined;
      for (let n = 0; !stop; n++) {
        image = nextImage(image, PUT.size);
        writeFileSync(local, image);
        const name = `put/ckpt-${n}.img`;
        const w: Write = {
          name,
          sha: sha(image),
          bytes: image.length,
          startedAt: Date.now(),
          endedAt: 0,
          minRunning: running,
          result: { ok: true },
        };
        await track(w, async () => {
          try {
            await noHang(client.putFile(local, `/${name}`, { replicas: 2 }), 300_000, name);
            return { ok: true };
          } catch (e) {
            return { ok: false, code: 'put', failedAt: 'put', message: errorMessage(e) };
          }
        });
        await nextCheckpoint(w.startedAt, PUT.intervalMs);
      }
    };

    const tasks = [
      injector(),
      ...MOUNT_WRITERS.map((m, i) => mountWriter(i, m.size, m.intervalMs)),
      putWriter(),
    ];
    await sleep(SECONDS * 1000);
    stop = true;
    await Promise.all(tasks);
    const churnSeconds = (Date.now() - t0) / 1000;
    await grid.waitForAlive(BENEFACTORS, 60_000);
    // The mount writes back: what its writers closed is committed once the barrier returns.
    const barrier = await noHang(
      syncFolder(writeMount.mountpoint).then(() => 'ok', errorMessage),
      300_000,
      'the barrier',
    );
    t.is(barrier, 'ok', 'everything the mount writers closed is committed');

    // --- the checks --------------------------------------------------------------------------
    const committed = writes.filter((w) => w.result.ok);
    const failed = writes.filter((w) => !w.result.ok);
    t.log(`timeline: ${timeline.join('; ')}`);
    t.log(
      `${churnSeconds.toFixed(0)} s of churn: ${kills} kill -9, ${restarts} restarts; ${writes.length} files written ` +
        `(${(writes.reduce((n, w) => n + w.bytes, 0) / MiB).toFixed(0)} MiB), ${committed.length} committed, ${failed.length} failed`,
    );
    t.true(kills >= Math.min(3, Math.floor(SECONDS / 15)), `the injector killed ${kills} benefactors`);
    for (const w of failed) {
      t.log(`${w.name} failed (at least ${w.minRunning} benefactors running): ${JSON.stringify(w.result)}`);
    }
    t.deepEqual(
      failed.filter((w) => w.minRunning >= MIN_RUNNING).map((w) => w.name),
      [],
      'no writer saw an error while at least 2 benefactors were running',
    );
    t.true(committed.length > 10, `${committed.length} files committed`);

    // The cluster heals: every chunk back on its replica count.
    const healStart = Date.now();
    await waitFor(
      'underReplicatedChunks back to 0',
      async () => {
        const s = await client.status();
        return s.underReplicatedChunks === 0 && s.benefactors.filter((b) => b.alive).length === BENEFACTORS;
      },
      180_000,
      500,
    );
    const healSeconds = (Date.now() - healStart) / 1000;

    // Every committed file reads back identical: through the mount without a cache, through
    // the client library for all, and through the `stdchk get` command for a few.
    let verified = 0;
    let lost = 0;
    for (const w of committed) {
      const got = await readFile(path.join(readMount.mountpoint, w.name)).catch(() => Buffer.alloc(0));
      const out = path.join(work, 'get-out');
      const viaClient = await client
        .getFile(`/${w.name}`, out)
        .then(() => sha(readFileSync(out)))
        .catch((e: unknown) => errorMessage(e));
      const ok = sha(got) === w.sha && viaClient === w.sha;
      t.true(ok, `${w.name} reads back identical`);
      if (ok) verified += w.bytes;
      else lost++;
    }
    const sample = [committed[0], committed[Math.floor(committed.length / 2)], committed.at(-1)];
    for (const w of sample) {
      if (!w) continue;
      const out = path.join(work, 'cli-out');
      const r = await runCli(['get', `/${w.name}`, out], env);
      t.is(r.code, 0, r.stderr);
      t.is(sha(readFileSync(out)), w.sha, `stdchk get ${w.name}`);
    }
    t.is(lost, 0);
    t.log(
      `healed (underReplicatedChunks 0) ${healSeconds.toFixed(1)} s after the churn; verified ${committed.length} files, ` +
        `${(verified / MiB).toFixed(0)} MiB, through the mount and the client (and ${sample.length} through stdchk get); lost: ${lost}`,
    );
  },
);
