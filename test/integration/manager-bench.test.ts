import test from 'ava';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { STDCHK_BIN } from '../../src/grid/local-grid.ts';
import { connectManager, unary } from '../../src/rpc/index.ts';
import type { ManagerClient } from '../../src/rpc/index.ts';
import { ChunkIndex } from '../../src/manager/chunk-index.ts';

// Measurements, not assertions of speed: run with STDCHK_BENCH=1
//   STDCHK_BENCH=1 npx ava test/integration/manager-bench.test.ts --verbose
// The manager runs as its own process (bin/stdchk manager); the test is the client.

const enabled = process.env.STDCHK_BENCH === '1';
const bench = enabled ? test.serial : test.skip;
const CHUNKS = Number(process.env.STDCHK_BENCH_CHUNKS ?? 1_000_000);
const BATCH = 1024;
const GiB = 1024 ** 3;
const dirs: string[] = [];
const children: ChildProcess[] = [];

test.after.always(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

async function spawnManager(dir: string, secretFile: string) {
  const addrFile = path.join(dir, 'addr');
  rmSync(addrFile, { force: true });
  const log = openSync(path.join(dir, 'manager.log'), 'a');
  const child = spawn(
    STDCHK_BIN,
    [
      'manager',
      '--data',
      path.join(dir, 'data'),
      '--listen',
      '127.0.0.1:0',
      '--secret-file',
      secretFile,
      '--address-file',
      addrFile,
      '--heartbeat-timeout',
      '60s',
      '--gc-grace',
      '1h',
    ],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  children.push(child);
  const started = Date.now();
  while (!existsSync(addrFile) || readFileSync(addrFile, 'utf8').trim() === '') {
    if (child.exitCode !== null) throw new Error(readFileSync(path.join(dir, 'manager.log'), 'utf8'));
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, address: readFileSync(addrFile, 'utf8').trim(), startMs: Date.now() - started };
}

/** CPU seconds (user + system) the process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100)
}

function beat(client: ManagerClient, id: string) {
  return unary(client, 'heartbeat', {
    id,
    capacityBytes: 1000 * GiB,
    usedBytes: 0,
    freeBytes: 1000 * GiB,
    chunks: 0,
  });
}

function packed(hashes: Buffer, from: number, count: number, length = 16_384): Buffer {
  const out = Buffer.allocUnsafe(count * 36);
  for (let i = 0; i < count; i++) {
    hashes.copy(out, i * 36, (from + i) * 32, (from + i + 1) * 32);
    out.writeUInt32LE(length, i * 36 + 32);
  }
  return out;
}

async function lookupsPerSecond(
  client: ManagerClient,
  batches: Buffer[],
  inFlight: number,
  seconds: number,
  pid: number,
  perCall = BATCH,
) {
  let done = 0;
  const cpuBefore = cpuSeconds(pid);
  const deadline = performance.now() + seconds * 1000;
  const worker = async (w: number) => {
    for (let i = w; performance.now() < deadline; i += inFlight) {
      const reply = await unary(client, 'prepareChunks', { refs: batches[i % batches.length]!, replicas: 2 });
      if (reply.present.length !== perCall) throw new Error('short reply');
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, (_, w) => worker(w)));
  const lookups = done * perCall;
  return {
    perSecond: lookups / ((performance.now() - started) / 1000),
    perManagerCpuSecond: lookups / (cpuSeconds(pid) - cpuBefore),
  };
}

bench(
  `PrepareChunks lookups/s with ${CHUNKS} chunks indexed (separate manager process, loopback gRPC)`,
  async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stdchk-manager-bench-'));
    dirs.push(dir);
    const secretFile = path.join(dir, 'secret');
    writeFileSync(secretFile, randomBytes(32).toString('hex'));
    const secret = Buffer.from(readFileSync(secretFile, 'utf8').trim());
    let m = await spawnManager(dir, secretFile);
    let client = connectManager(m.address, { secret });
    for (const id of ['b1', 'b2']) {
      await unary(client, 'registerBenefactor', {
        id,
        host: id,
        address: `127.0.0.1:${id === 'b1' ? 1 : 2}`,
        capacityBytes: 1000 * GiB,
        freeBytes: 1000 * GiB,
      });
    }
    const rssBefore = rssBytes(m.child.pid!);
    const hashes = randomBytes(CHUNKS * 32);
    const loadStart = performance.now();
    for (let from = 0; from < CHUNKS; from += 65_536) {
      const refs = packed(hashes, from, Math.min(65_536, CHUNKS - from));
      await unary(client, 'reportStored', {
        replicas: [
          { benefactorId: 'b1', refs },
          { benefactorId: 'b2', refs },
        ],
      });
    }
    const loadSeconds = (performance.now() - loadStart) / 1000;
    // Referenced by committed files, as checkpoint chunks are.
    const commitStart = performance.now();
    for (let from = 0, i = 0; from < CHUNKS; from += 65_536, i++) {
      const count = Math.min(65_536, CHUNKS - from);
      await unary(client, 'commitVersion', {
        path: `/f${i}`,
        refs: packed(hashes, from, count),
        size: count * 16_384,
        replicas: 2,
      });
    }
    const commitSeconds = (performance.now() - commitStart) / 1000;
    await new Promise((r) => setTimeout(r, 2000));
    const rssAfter = rssBytes(m.child.pid!);
    const status = await unary(client, 'status', {});
    t.is(status.chunks, CHUNKS);
    t.log(
      `ReportStored of ${CHUNKS} chunks x2 replicas: ${loadSeconds.toFixed(1)} s; ` +
        `committing them as files of 65536 refs: ${commitSeconds.toFixed(1)} s`,
    );
    t.log(
      `manager RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> ${(rssAfter / 2 ** 20).toFixed(0)} MiB: ` +
        `${((rssAfter - rssBefore) / CHUNKS).toFixed(0)} bytes per chunk (RSS, includes heap slack)`,
    );

    const present: Buffer[] = [];
    for (let i = 0; i < 512; i++) {
      const out = Buffer.allocUnsafe(BATCH * 36);
      for (let j = 0; j < BATCH; j++) {
        const k = Math.floor(Math.random() * CHUNKS);
        hashes.copy(out, j * 36, k * 32, k * 32 + 32);
        out.writeUInt32LE(16_384, j * 36 + 32);
      }
      present.push(out);
    }
    const fresh = Array.from({ length: 64 }, () => packed(randomBytes(BATCH * 32), 0, BATCH));
    const keepAlive = setInterval(() => {
      void beat(client, 'b1').catch(() => undefined);
      void beat(client, 'b2').catch(() => undefined);
    }, 1000);
    try {
      for (const inFlight of [1, 4, 16]) {
        const r = await lookupsPerSecond(client, present, inFlight, 4, m.child.pid!);
        t.log(
          `all present, ${inFlight} in flight: ${(r.perSecond / 1e6).toFixed(2)} M lookups/s ` +
            `(${(r.perSecond / BATCH).toFixed(0)} calls/s); ${(r.perManagerCpuSecond / 1e6).toFixed(2)} M lookups per manager CPU-second`,
        );
      }
      // The same lookups in bigger calls: the per-call gRPC cost is paid less often.
      const big = Array.from({ length: 64 }, (_, i) => Buffer.concat(present.slice(i * 8, i * 8 + 8)));
      const rb = await lookupsPerSecond(client, big, 4, 4, m.child.pid!, 8 * BATCH);
      t.log(
        `all present, 8192 per call, 4 in flight: ${(rb.perSecond / 1e6).toFixed(2)} M lookups/s; ` +
          `${(rb.perManagerCpuSecond / 1e6).toFixed(2)} M per manager CPU-second`,
      );
      const r = await lookupsPerSecond(client, fresh, 16, 4, m.child.pid!);
      t.log(
        `all new (placement on every call), 16 in flight: ${(r.perSecond / 1e6).toFixed(2)} M lookups/s; ` +
          `${(r.perManagerCpuSecond / 1e6).toFixed(2)} M per manager CPU-second`,
      );
    } finally {
      clearInterval(keepAlive);
    }

    // Restart: how long loading the index from LevelDB takes.
    client.close();
    m.child.kill('SIGTERM');
    await new Promise((r) => m.child.once('exit', r));
    m = await spawnManager(dir, secretFile);
    client = connectManager(m.address, { secret });
    const loaded = readFileSync(path.join(dir, 'manager.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"metadata loaded"'))
      .map((l) => JSON.parse(l) as { ms: number; chunks: number; indexBytes: number; heapUsedBytes: number })
      .at(-1);
    t.is(loaded?.chunks, CHUNKS);
    t.log(
      `restart: ${CHUNKS} chunks loaded in ${loaded?.ms} ms (serving after ${m.startMs} ms incl. process start); ` +
        `index arrays ${((loaded?.indexBytes ?? 0) / CHUNKS).toFixed(1)} bytes/chunk, ` +
        `JS heap ${((loaded?.heapUsedBytes ?? 0) / 2 ** 20).toFixed(0)} MiB, RSS ${(rssBytes(m.child.pid!) / 2 ** 20).toFixed(0)} MiB`,
    );
    t.log(
      `load average: ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} on ${os.cpus().length} CPUs`,
    );
    t.is((await unary(client, 'status', {})).chunks, CHUNKS);
    client.close();
  },
);

bench(`chunk index alone: memory per chunk at ${CHUNKS} chunks`, (t) => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const hashes = randomBytes(CHUNKS * 32);
  gc();
  const before = process.memoryUsage();
  const index = new ChunkIndex();
  const started = performance.now();
  for (let i = 0; i < CHUNKS; i++) {
    const id = index.insert(hashes, i * 32, 16_384, 2, 0);
    index.setCounts(id, 1, 2, 0);
    index.addHolder(id, 1);
    index.addHolder(id, 2);
  }
  const insertMs = performance.now() - started;
  gc();
  const after = process.memoryUsage();
  const probe = performance.now();
  let found = 0;
  for (let i = 0; i < CHUNKS; i++) if (index.find(hashes, i * 32) >= 0) found++;
  const findNs = ((performance.now() - probe) * 1e6) / CHUNKS;
  t.is(found, CHUNKS);
  const measured = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
  t.log(
    `arrays: ${(index.memoryBytes() / CHUNKS).toFixed(1)} bytes/chunk; heap+arrayBuffers delta: ${(measured / CHUNKS).toFixed(1)} bytes/chunk`,
  );
  t.log(
    `insert ${((insertMs * 1e6) / CHUNKS).toFixed(0)} ns/chunk, find ${findNs.toFixed(0)} ns/lookup (in process)`,
  );
});
