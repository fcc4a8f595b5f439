/**
 * Chunking throughput: `node --import=tsx bench/chunking.ts [--mib 256] [--runs 3] [--json]`.
 * For each algorithm, on random data: cut points only, cut + BLAKE3 on this thread
 * (ChunkStream, 1 MiB pushes), and WorkerChunker (1 MiB pushes transferred, 8 in flight;
 * then two chunkers at once). Best of --runs, in MB/s (10^6 bytes per second).
 */
import { randomFillSync } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { ChunkStream } from '../src/chunking/chunker.ts';
import { chunkLengths } from '../src/chunking/fastcdc.ts';
import { parseChunkerSpec } from '../src/chunking/params.ts';
import type { ChunkerParams } from '../src/chunking/params.ts';
import { WorkerChunker } from '../src/chunking/worker-chunker.ts';
import { hashChunk } from '../src/hashing/index.ts';

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '256' },
    runs: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const MiB = 1024 * 1024;
const size = Number(values.mib) * MiB;
const runs = Number(values.runs);
const PIECE = MiB;
const IN_FLIGHT = 8;

const loadAtStart = os.loadavg()[0]!;
const data = randomFillSync(Buffer.allocUnsafe(size));

/** Best throughput of `runs` runs of fn (which processes `bytes`), in MB/s. */
async function best(bytes: number, fn: () => unknown): Promise<number> {
  let top = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    const s = (performance.now() - t0) / 1000;
    top = Math.max(top, bytes / s / 1e6);
  }
  return top;
}

function streamAll(params: ChunkerParams): number {
  const s = new ChunkStream(params);
  let n = 0;
  for (let off = 0; off < data.length; off += PIECE) n += s.push(data.subarray(off, off + PIECE)).length;
  return n + s.finish().length;
}

/** Pieces that own their memory, so pushes transfer instead of copying (made outside the timing). */
function ownedPieces(): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += PIECE) out.push(Buffer.from(data.subarray(off, off + PIECE)));
  return out;
}

async function throughWorker(w: WorkerChunker, pieces: Buffer[]): Promise<number> {
  let n = 0;
  const window = new Set<Promise<void>>();
  for (const p of pieces) {
    const done: Promise<void> = w.push(p).then((c) => {
      n += c.length;
      window.delete(done);
    });
    window.add(done);
    if (window.size >= IN_FLIGHT) await Promise.race(window);
  }
  await Promise.all(window);
  return n + (await w.finish()).length;
}

async function workerRun(params: ChunkerParams, workers: number): Promise<number> {
  const chunkers = await Promise.all(Array.from({ length: workers }, () => WorkerChunker.create(params)));
  try {
    let top = 0;
    for (let i = 0; i < runs; i++) {
      const pieces = chunkers.map(() => ownedPieces());
      const t0 = performance.now();
      await Promise.all(chunkers.map((w, k) => throughWorker(w, pieces[k]!)));
      top = Math.max(top, (workers * size) / ((performance.now() - t0) / 1000) / 1e6);
    }
    return top;
  } finally {
    await Promise.all(chunkers.map((w) => w.close()));
  }
}

interface Row {
  chunker: string;
  chunks: number;
  meanKiB: number;
  cutOnly: number;
  cutAndHash: number;
  worker: number;
  twoWorkers: number;
}

const rows: Row[] = [];
for (const spec of ['fastcdc:16k', 'pages:16k', 'fixed:64k']) {
  const params = parseChunkerSpec(spec);
  chunkLengths(data.subarray(0, 32 * MiB), params); // JIT warm-up
  const chunks = chunkLengths(data, params).length;
  rows.push({
    chunker: spec,
    chunks,
    meanKiB: size / chunks / 1024,
    cutOnly: await best(size, () => chunkLengths(data, params)),
    cutAndHash: await best(size, () => streamAll(params)),
    worker: await workerRun(params, 1),
    twoWorkers: await workerRun(params, 2),
  });
}
const blake3 = await best(size, () => {
  for (let off = 0; off < data.length; off += 16 * 1024) hashChunk(data.subarray(off, off + 16 * 1024));
});

if (values.json) {
  process.stdout.write(
    `${JSON.stringify({ mib: size / MiB, runs, cpus: os.cpus().length, loadAtStart, rows, blake3_16k: blake3 })}\n`,
  );
} else {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(
    `chunking ${size / MiB} MiB of random data, best of ${runs}, MB/s (${cpu}, ${os.cpus().length} CPUs, ` +
      `Node ${process.version}, load average ${loadAtStart.toFixed(1)} at start)\n\n`,
  );
  const head = ['chunker', 'chunks', 'mean KiB', 'cut only', 'cut+BLAKE3', 'worker', '2 workers (sum)'];
  const body = rows.map((r) => [
    r.chunker,
    String(r.chunks),
    r.meanKiB.toFixed(1),
    r.cutOnly.toFixed(0),
    r.cutAndHash.toFixed(0),
    r.worker.toFixed(0),
    r.twoWorkers.toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  for (const line of [head, ...body]) {
    process.stdout.write(
      `${line.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}\n`,
    );
  }
  process.stdout.write(`\nBLAKE3 alone on 16 KiB pieces: ${blake3.toFixed(0)} MB/s\n`);
}
