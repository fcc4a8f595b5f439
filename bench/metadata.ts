import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { LocalGrid } from '../src/grid/local-grid.ts';
import { ensureSecretFile } from '../src/config/secret.ts';
import { connectManager, unary } from '../src/rpc/index.ts';
import type { ManagerClient } from '../src/rpc/index.ts';
import { ChunkIndex } from '../src/manager/chunk-index.ts';
import { StdchkError } from '../src/errors/index.ts';
import { cpuSeconds, folderBytes, rssBytes, tempDir } from './lib/proc.ts';
import { GiB, Steps, addTarget, barChart, finishReport, newReport, ratio, renderSvg } from './lib/report.ts';
import type { BenchReport, Cell } from './lib/report.ts';
import { METADATA_DEFAULTS } from './defaults.ts';

export interface MetadataBenchOptions {
  /** Chunks in the manager's index while it is measured. */
  chunks: number;
  /** Hashes per PrepareChunks call, one measurement per size. */
  batches: number[];
  /** Calls in flight, one measurement per count (for each batch size). */
  inFlight: number[];
  /** Seconds each rate is measured for. */
  seconds: number;
  /** Chunk references per file in the small-commit measurement. */
  commitRefs: number;
  dir?: string | undefined;
}

export { METADATA_DEFAULTS };

export interface LookupRow {
  kind: 'present' | 'new';
  perCall: number;
  inFlight: number;
  lookupsPerSecond: number;
  callsPerSecond: number;
  /** Lookups per CPU-second the manager process used meanwhile. */
  lookupsPerManagerCpuSecond: number;
}

export interface CommitRow {
  refsPerFile: number;
  inFlight: number;
  commitsPerSecond: number;
  refsPerSecond: number;
}

const CHUNK_LEN = 16_384;
const LOAD_BATCH = 65_536;

function packed(hashes: Buffer, from: number, count: number, length = CHUNK_LEN): Buffer {
  const out = Buffer.allocUnsafe(count * 36);
  for (let i = 0; i < count; i++) {
    hashes.copy(out, i * 36, (from + i) * 32, (from + i + 1) * 32);
    out.writeUInt32LE(length, i * 36 + 32);
  }
  return out;
}

/** `count` random refs among the first `chunks` hashes. */
function randomRefs(hashes: Buffer, chunks: number, count: number): Buffer {
  const out = Buffer.allocUnsafe(count * 36);
  for (let j = 0; j < count; j++) {
    const k = Math.floor(Math.random() * chunks);
    hashes.copy(out, j * 36, k * 32, k * 32 + 32);
    out.writeUInt32LE(CHUNK_LEN, j * 36 + 32);
  }
  return out;
}

async function rate(
  seconds: number,
  inFlight: number,
  pid: number,
  call: (i: number) => Promise<number>,
): Promise<{ perSecond: number; calls: number; perCpuSecond: number }> {
  let items = 0;
  let calls = 0;
  const cpu0 = cpuSeconds(pid);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const lane = async (w: number) => {
    for (let i = w; performance.now() < deadline; i += inFlight) {
      // Not `items += await call(i)`: that reads `items` before the await and loses the other lanes' counts.
      const n = await call(i);
      items += n;
      calls++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, (_, w) => lane(w)));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(pid) - cpu0;
  return { perSecond: items / elapsed, calls: calls / elapsed, perCpuSecond: cpu > 0 ? items / cpu : 0 };
}

/** The chunk index alone, in this process: the floor under what the manager does per lookup. */
function inProcessIndex(chunks: number): {
  findsPerSecond: number;
  bytesPerChunk: number;
  arrayBytesPerChunk: number;
} {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const hashes = randomBytes(chunks * 32);
  gc();
  const before = process.memoryUsage();
  const index = new ChunkIndex();
  for (let i = 0; i < chunks; i++) {
    const id = index.insert(hashes, i * 32, CHUNK_LEN, 2, 0);
    index.setCounts(id, 1, 2, 0);
    index.addHolder(id, 1);
    index.addHolder(id, 2);
  }
  gc();
  const after = process.memoryUsage();
  const probe = performance.now();
  let found = 0;
  for (let i = 0; i < chunks; i++) if (index.find(hashes, i * 32) >= 0) found++;
  const seconds = (performance.now() - probe) / 1000;
  if (found !== chunks) throw new StdchkError('INTERNAL', `the chunk index found ${found} of ${chunks}`);
  const measured = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
  return {
    findsPerSecond: chunks / seconds,
    bytesPerChunk: measured / chunks,
    arrayBytesPerChunk: index.memoryBytes() / chunks,
  };
}

export async function runMetadataBench(opts: MetadataBenchOptions): Promise<BenchReport> {
  const report = newReport('metadata', {
    chunks: opts.chunks,
    batches: opts.batches,
    inFlight: opts.inFlight,
    seconds: opts.seconds,
    commitRefs: opts.commitRefs,
    chunkBytes: CHUNK_LEN,
    manager:
      'a real `stdchk manager` process (LevelDB on disk), loopback gRPC; two registered benefactors that only heartbeat',
  });
  const lookupRuns = opts.batches.length * opts.inFlight.length + 1;
  const steps = new Steps('metadata', 5 + lookupRuns + 2 * 1);
  const dir = tempDir(opts.dir, 'stdchk-bench-metadata-');
  const grid = new LocalGrid({
    dir: path.join(dir, 'grid'),
    benefactors: 0,
    managerArgs: ['--heartbeat-timeout', '120s', '--gc-grace', '1h'],
  });
  const lookups: LookupRow[] = [];
  const commits: CommitRow[] = [];
  let client: ManagerClient | undefined;
  let keepAlive: NodeJS.Timeout | undefined;
  try {
    steps.next(`in-process baseline: the chunk index alone with ${opts.chunks} chunks`);
    const local = inProcessIndex(opts.chunks);
    report.results.inProcess = local;

    steps.next('starting the manager');
    mkdirSync(grid.logDir, { recursive: true });
    ensureSecretFile(grid.secretFile);
    await grid.startManager();
    const pid = grid.manager!.child.pid!;
    client = connectManager(grid.managerAddress, grid.credentials());
    const cl = client;
    for (const id of ['b1', 'b2']) {
      await unary(cl, 'registerBenefactor', {
        id,
        host: id,
        address: `127.0.0.1:${id === 'b1' ? 1 : 2}`,
        capacityBytes: 1000 * GiB,
        freeBytes: 1000 * GiB,
      });
    }
    const beat = (id: string) =>
      unary(cl, 'heartbeat', {
        id,
        capacityBytes: 1000 * GiB,
        usedBytes: 0,
        freeBytes: 1000 * GiB,
        chunks: 0,
      });
    keepAlive = setInterval(() => {
      void beat('b1').catch(() => undefined);
      void beat('b2').catch(() => undefined);
    }, 1000);
    const rssBefore = rssBytes(pid);
    const diskBefore = folderBytes(path.join(grid.dir, 'manager'));

    steps.next(`indexing ${opts.chunks} chunks on 2 replicas (ReportStored, ${LOAD_BATCH} per call)`);
    const hashes = randomBytes(opts.chunks * 32);
    const t0 = performance.now();
    for (let from = 0; from < opts.chunks; from += LOAD_BATCH) {
      const refs = packed(hashes, from, Math.min(LOAD_BATCH, opts.chunks - from));
      await unary(
        cl,
        'reportStored',
        {
          replicas: [
            { benefactorId: 'b1', refs },
            { benefactorId: 'b2', refs },
          ],
        },
        { timeoutMs: 300_000 },
      );
    }
    const loadSeconds = (performance.now() - t0) / 1000;

    steps.next(`committing them as files of ${LOAD_BATCH} references (as checkpoint images reference them)`);
    const t1 = performance.now();
    let files = 0;
    for (let from = 0; from < opts.chunks; from += LOAD_BATCH, files++) {
      const count = Math.min(LOAD_BATCH, opts.chunks - from);
      await unary(
        cl,
        'commitVersion',
        { path: `/f${files}`, refs: packed(hashes, from, count), size: count * CHUNK_LEN, replicas: 2 },
        { timeoutMs: 300_000 },
      );
    }
    const commitSeconds = (performance.now() - t1) / 1000;
    await new Promise((r) => setTimeout(r, 1500));
    const status = await unary(cl, 'status', {});
    if (status.chunks !== opts.chunks)
      throw new StdchkError('INTERNAL', `the manager indexes ${status.chunks} chunks, not ${opts.chunks}`);
    const rssAfter = rssBytes(pid);
    const diskAfter = folderBytes(path.join(grid.dir, 'manager'));

    const present = Array.from({ length: 64 }, () => new Map<number, Buffer>());
    const presentBatch = (perCall: number, i: number): Buffer => {
      const m = present[i % 64]!;
      let b = m.get(perCall);
      if (!b) m.set(perCall, (b = randomRefs(hashes, opts.chunks, perCall)));
      return b;
    };
    for (const perCall of opts.batches) {
      for (const inFlight of opts.inFlight) {
        steps.next(`dedup lookups, all present: ${perCall} per call, ${inFlight} in flight`);
        for (let i = 0; i < 64; i++) presentBatch(perCall, i);
        const r = await rate(opts.seconds, inFlight, pid, async (i) => {
          const reply = await unary(cl, 'prepareChunks', { refs: presentBatch(perCall, i), replicas: 2 });
          if (reply.present.length !== perCall)
            throw new StdchkError('INTERNAL', 'short PrepareChunks reply');
          return perCall;
        });
        lookups.push({
          kind: 'present',
          perCall,
          inFlight,
          lookupsPerSecond: r.perSecond,
          callsPerSecond: r.calls,
          lookupsPerManagerCpuSecond: r.perCpuSecond,
        });
      }
    }
    {
      const perCall = 1024;
      const inFlight = Math.max(...opts.inFlight);
      steps.next(
        `dedup lookups, all new (placement on every call): ${perCall} per call, ${inFlight} in flight`,
      );
      const fresh = Array.from({ length: 32 }, () => packed(randomBytes(perCall * 32), 0, perCall));
      const r = await rate(opts.seconds, inFlight, pid, async (i) => {
        await unary(cl, 'prepareChunks', { refs: fresh[i % fresh.length]!, replicas: 2 });
        return perCall;
      });
      lookups.push({
        kind: 'new',
        perCall,
        inFlight,
        lookupsPerSecond: r.perSecond,
        callsPerSecond: r.calls,
        lookupsPerManagerCpuSecond: r.perCpuSecond,
      });
    }
    let n = 0;
    for (const inFlight of [...new Set([1, Math.max(...opts.inFlight)])]) {
      steps.next(`commits of new files of ${opts.commitRefs} existing chunks, ${inFlight} in flight`);
      const r = await rate(opts.seconds, inFlight, pid, async () => {
        const k = n++;
        await unary(cl, 'commitVersion', {
          path: `/s${k}`,
          refs: randomRefs(hashes, opts.chunks, opts.commitRefs),
          size: opts.commitRefs * CHUNK_LEN,
          replicas: 2,
        });
        return 1;
      });
      commits.push({
        refsPerFile: opts.commitRefs,
        inFlight,
        commitsPerSecond: r.perSecond,
        refsPerSecond: r.perSecond * opts.commitRefs,
      });
    }

    steps.next('restarting the manager: loading the index from LevelDB');
    clearInterval(keepAlive);
    keepAlive = undefined;
    cl.close();
    client = undefined;
    const m = grid.manager!;
    m.child.kill('SIGTERM');
    await m.exited;
    const restartT0 = performance.now();
    await grid.startManager();
    const restartSeconds = (performance.now() - restartT0) / 1000;
    const logFile = path.join(grid.logDir, 'manager.log');
    const loaded = (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '')
      .split('\n')
      .filter((l) => l.includes('"metadata loaded"'))
      .map((l) => JSON.parse(l) as { ms: number; chunks: number; indexBytes: number; heapUsedBytes: number })
      .at(-1);
    const pid2 = grid.manager!.child.pid!;
    client = connectManager(grid.managerAddress, grid.credentials());
    const status2 = await unary(client, 'status', {});

    report.results = {
      chunks: opts.chunks,
      inProcess: local,
      load: {
        reportStoredSeconds: loadSeconds,
        chunksPerSecond: opts.chunks / loadSeconds,
        commitSeconds,
        refsCommittedPerSecond: opts.chunks / commitSeconds,
        files,
      },
      memory: {
        rssBeforeBytes: rssBefore,
        rssAfterBytes: rssAfter,
        rssBytesPerChunk: (rssAfter - rssBefore) / opts.chunks,
        indexArrayBytesPerChunk: loaded ? loaded.indexBytes / opts.chunks : null,
        heapUsedBytesAfterRestart: loaded?.heapUsedBytes ?? null,
        rssAfterRestartBytes: rssBytes(pid2),
      },
      disk: {
        bytes: diskAfter,
        bytesPerChunk: (diskAfter - diskBefore) / opts.chunks,
      },
      restart: {
        loadMs: loaded?.ms ?? null,
        chunksLoaded: loaded?.chunks ?? null,
        servingAfterSeconds: restartSeconds,
        chunksAfterRestart: status2.chunks,
      },
      lookups,
      commits,
    };
  } finally {
    if (keepAlive) clearInterval(keepAlive);
    client?.close();
    await grid.stop();
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
  }

  const res = report.results as {
    inProcess: { findsPerSecond: number; bytesPerChunk: number; arrayBytesPerChunk: number };
    load: { chunksPerSecond: number; refsCommittedPerSecond: number };
    memory: { rssBytesPerChunk: number; indexArrayBytesPerChunk: number | null };
    disk: { bytesPerChunk: number };
    restart: { loadMs: number | null; servingAfterSeconds: number };
  };
  report.tables.push({
    title: `dedup lookups (PrepareChunks) at the manager with ${opts.chunks} chunks indexed; baseline: the same index in this process, no gRPC`,
    columns: [
      'lookups',
      'per call',
      'in flight',
      'lookups/s',
      'calls/s',
      'per manager CPU-s',
      'x in-process',
    ],
    rows: [
      ['in-process ChunkIndex.find', 1, 1, res.inProcess.findsPerSecond, null, null, 1],
      ...lookups.map((l): Cell[] => [
        l.kind === 'present' ? 'all present' : 'all new (placement)',
        l.perCall,
        l.inFlight,
        l.lookupsPerSecond,
        l.callsPerSecond,
        l.lookupsPerManagerCpuSecond,
        ratio(l.lookupsPerSecond, res.inProcess.findsPerSecond),
      ]),
    ],
  });
  report.tables.push({
    title: 'commits (CommitVersion) and index growth',
    columns: ['operation', 'in flight', 'per second', 'chunk refs/s'],
    rows: [
      ['ReportStored of new chunks (2 replicas)', 1, null, res.load.chunksPerSecond],
      [`commit of files of ${LOAD_BATCH} refs`, 1, null, res.load.refsCommittedPerSecond],
      ...commits.map((c): Cell[] => [
        `commit of a new file of ${c.refsPerFile} refs`,
        c.inFlight,
        c.commitsPerSecond,
        c.refsPerSecond,
      ]),
    ],
  });
  report.tables.push({
    title: 'manager memory and disk per indexed chunk',
    columns: ['measure', 'bytes per chunk'],
    rows: [
      ['RSS growth while indexing (includes heap slack)', res.memory.rssBytesPerChunk],
      ['index arrays (after restart)', res.memory.indexArrayBytesPerChunk],
      ['in-process ChunkIndex: heap + array buffers', res.inProcess.bytesPerChunk],
      ['LevelDB folder growth (chunk records + the files referencing them)', res.disk.bytesPerChunk],
    ],
  });
  report.tables.push({
    title: 'restart',
    columns: ['measure', 'value'],
    rows: [
      ['index loaded from LevelDB, ms', res.restart.loadMs],
      ['serving again after, s (process start included)', res.restart.servingAfterSeconds],
    ],
  });
  const target = lookups.find(
    (l) => l.kind === 'present' && l.perCall === 1024 && l.inFlight === Math.max(...opts.inFlight),
  );
  const best = lookups
    .filter((l) => l.kind === 'present')
    .reduce((a, l) => Math.max(a, l.lookupsPerSecond), 0);
  if (target)
    report.ratios.lookups_1024_vs_in_process = target.lookupsPerSecond / res.inProcess.findsPerSecond;
  report.ratios.best_lookups_vs_in_process = best / res.inProcess.findsPerSecond;
  const writerLike = lookups.find((l) => l.kind === 'present' && l.perCall === 64);
  if (writerLike) report.ratios.lookups_64_per_call_vs_target = writerLike.lookupsPerSecond / 50_000;
  addTarget(report, {
    id: 'metadata_lookups_per_second',
    goal: `dedup lookups per second at the manager, batched (1024 per call, ${Math.max(...opts.inFlight)} in flight, ${opts.chunks} chunks indexed)`,
    value: target?.lookupsPerSecond ?? (best || null),
    limit: 50_000,
    direction: 'at-least',
  });
  report.notes.push(
    'a writer sends one PrepareChunks per ~1 MiB batch (~64 hashes of 16 KiB chunks), several in flight: the 64-per-call rows are its view',
  );
  return finishReport(report);
}

export function metadataChart(report: BenchReport): string {
  const rows = ((report.results.lookups ?? []) as LookupRow[]).map((l) => ({
    label: `${l.kind === 'present' ? 'present' : 'new'}, ${l.perCall}/call, ${l.inFlight} in flight`,
    value: l.lookupsPerSecond / 1e3,
    group: l.kind,
  }));
  return renderSvg([
    barChart(
      `manager dedup lookups, thousands per second (${Number(report.params.chunks) / 1e6} M chunks indexed; target 50)`,
      'k/s',
      [{ label: 'target', value: 50, group: 'target' }, ...rows],
    ),
  ]);
}
