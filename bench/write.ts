import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StorageClient } from '../src/client/storage-client.ts';
import { StdchkError } from '../src/errors/index.ts';
import { BenchCluster } from './lib/cluster.ts';
import type { BenchMount, ExistingCluster } from './lib/cluster.ts';
import { FreshData } from './lib/data.ts';
import { StatefulProcess, criuCheck, criuDump, folderBytes, fsyncTree, runTs, tempDir } from './lib/proc.ts';
import {
  GiB,
  KiB,
  MiB,
  Steps,
  addTarget,
  finishReport,
  groupedBarChart,
  mbps,
  newReport,
  progressBar,
  ratio,
  renderSvg,
} from './lib/report.ts';
import type { BenchReport, Cell } from './lib/report.ts';

export interface WriteBenchOptions {
  /** Bytes per file for the large sequential writes (and the client rows). */
  sizeBytes: number;
  replicas: number[];
  /** Size of each write() of the large sequential writer. */
  blockBytes: number;
  /** Size of each write() of the small-write rows (4 KiB); 0: skip them. */
  smallBlockBytes: number;
  /** Bytes per file of the small-write rows. */
  smallSizeBytes: number;
  /** Memory of the process `criu dump` writes out; 0: skip the CRIU rows. */
  criuBytes: number;
  /** Also measure the client library in this process (`stdchk put`'s path). */
  clientRows: boolean;
  existing?: ExistingCluster | undefined;
  dir?: string | undefined;
}

export const WRITE_DEFAULTS: WriteBenchOptions = {
  sizeBytes: 2 * GiB,
  replicas: [1, 2],
  blockBytes: MiB,
  smallBlockBytes: 4 * KiB,
  smallSizeBytes: 2 * GiB,
  criuBytes: 512 * MiB,
  clientRows: true,
};

/** One measured write. Seconds are from the writer's open() (or criu's start). */
export interface WriteRow {
  writer: 'sequential' | 'small-writes' | 'criu-dump' | 'client-library';
  target: 'local-disk' | 'mount' | 'client';
  replicas: number | null;
  writeBytes: number;
  bytes: number;
  /** Until close() returned (for CRIU: until criu exited; for local disk: write + fsync + close). */
  closeSeconds: number;
  /** Until the manager reported every chunk on `replicas` live benefactors (null for local disk). */
  replicatedSeconds: number | null;
  /** Local CRIU dumps: the fsync of the image files after criu exited (criu itself does not fsync). */
  fsyncSeconds?: number;
  closeMBps: number;
  replicatedMBps: number | null;
  /** MB/s until close over the same writer's local-disk MB/s in this run. */
  closeVsLocal: number | null;
  replicatedVsLocal: number | null;
}

interface IoResult {
  bytes: number;
  t0EpochMs: number;
  writeSeconds: number;
  fsyncSeconds: number;
  closeSeconds: number;
  seconds: number;
}

async function ioWrite(file: string, size: number, block: number): Promise<IoResult> {
  const r = await runTs('bench/lib/io-proc.ts', ['write', file, String(size), String(block)], {
    timeoutMs: 3_600_000,
  });
  if (r.code !== 0) throw new StdchkError('INTERNAL', `the writer failed on ${file}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as IoResult;
}

/**
 * Polls the manager while `work` runs until every file in `files()` is committed with
 * `expectBytes` in total and all its chunks on `r` live benefactors; returns when that was
 * first seen (epoch ms), or null if `work` ended and it still was not (then one last check).
 */
async function watchReplication(
  cluster: BenchCluster,
  files: () => Promise<string[]>,
  expectBytes: number,
  r: number,
  work: Promise<unknown>,
): Promise<number | null> {
  let done = false;
  void work.then(
    () => (done = true),
    () => (done = true),
  );
  const client = cluster.client();
  const check = async (): Promise<boolean> => {
    const list = await files();
    if (!list.length) return false;
    let total = 0;
    for (const f of list) {
      const info = await client.stat(f);
      if (info.version === 0) return false;
      total += info.size;
    }
    if (total < expectBytes) return false;
    for (const f of list) if ((await cluster.minReplicas(f)) < r) return false;
    return true;
  };
  for (;;) {
    const finished = done;
    const ok = await check().catch(() => false);
    if (ok) return Date.now();
    if (finished) break;
    await sleep(50);
  }
  // The writer has ended: keep checking a while (a relaxed mode replicates after close()).
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return Date.now();
    await sleep(100);
  }
  return null;
}

/** The in-process client library (what `stdchk put` does), kept from the first version of this benchmark. */
async function writeStdchk(client: StorageClient, remote: string, replicas: number, opts: WriteBenchOptions) {
  const data = new FreshData();
  const bar = progressBar(`stdchk put r=${replicas}`, opts.sizeBytes);
  const t0 = performance.now();
  const w = await client.openWriter(remote, { replicas });
  for (let done = 0; done < opts.sizeBytes; done += opts.blockBytes) {
    await w.write(data.next(Math.min(opts.blockBytes, opts.sizeBytes - done)));
    bar.update(done);
  }
  const { stats } = await w.close();
  bar.stop();
  return { seconds: (performance.now() - t0) / 1000, stats };
}

function row(
  base: Omit<WriteRow, 'closeMBps' | 'replicatedMBps' | 'closeVsLocal' | 'replicatedVsLocal'>,
  localMBps: number | null,
): WriteRow {
  const closeMBps = mbps(base.bytes, base.closeSeconds);
  const replicatedMBps = base.replicatedSeconds === null ? null : mbps(base.bytes, base.replicatedSeconds);
  return {
    ...base,
    closeMBps,
    replicatedMBps,
    closeVsLocal: ratio(closeMBps, localMBps),
    replicatedVsLocal: ratio(replicatedMBps, localMBps),
  };
}

export async function runWriteBench(opts: WriteBenchOptions): Promise<BenchReport> {
  const report = newReport('write', {
    sizeBytes: opts.sizeBytes,
    replicas: opts.replicas,
    blockBytes: opts.blockBytes,
    smallBlockBytes: opts.smallBlockBytes,
    smallSizeBytes: opts.smallSizeBytes,
    criuBytes: opts.criuBytes,
    clientRows: opts.clientRows,
  });
  const kinds = 1 + (opts.smallBlockBytes > 0 ? 1 : 0) + (opts.criuBytes > 0 ? 1 : 0);
  const R = opts.replicas.length;
  const steps = new Steps('write', 1 + kinds * (1 + R) + (opts.clientRows ? R : 0));
  if (opts.criuBytes > 0) await criuCheck();
  const dir = tempDir(opts.dir, 'stdchk-bench-write-');
  const localDir = path.join(dir, 'local');
  mkdirSync(localDir, { recursive: true });
  const rows: WriteRow[] = [];
  let cluster: BenchCluster | undefined;
  try {
    steps.next('starting the grid and one mount per replica count');
    cluster = await BenchCluster.open({ dir, existing: opts.existing });
    report.params.cluster = cluster.description;
    const c = cluster;
    const mounts = new Map<number, BenchMount>();
    for (const r of opts.replicas) {
      mounts.set(
        r,
        await c.mount(
          path.join(dir, `mnt-r${r}`),
          { replicas: r, cacheDir: path.join(dir, `cache-r${r}`), name: `mount-r${r}` },
          path.join(dir, 'logs'),
        ),
      );
    }
    const base = `/bench/write-${Date.now().toString(36)}`;
    await c.client().mkdir(base, { parents: true });

    const sequentialKind = async (writer: WriteRow['writer'], size: number, block: number, label: string) => {
      steps.next(`local disk: ${label}`);
      const localFile = path.join(localDir, `${writer}.bin`);
      const local = await ioWrite(localFile, size, block);
      rmSync(localFile, { force: true });
      const localMBps = mbps(size, local.seconds);
      rows.push(
        row(
          {
            writer,
            target: 'local-disk',
            replicas: null,
            writeBytes: block,
            bytes: size,
            closeSeconds: local.seconds,
            replicatedSeconds: null,
          },
          localMBps,
        ),
      );
      for (const r of opts.replicas) {
        steps.next(`mount, replicas ${r}: ${label}`);
        const m = mounts.get(r) as BenchMount;
        const rel = `${base}/${writer}-r${r}.bin`;
        const writing = ioWrite(path.join(m.mountpoint, rel), size, block);
        const replicatedAt = await watchReplication(c, async () => [rel], size, r, writing);
        const res = await writing;
        rows.push(
          row(
            {
              writer,
              target: 'mount',
              replicas: r,
              writeBytes: block,
              bytes: size,
              closeSeconds: res.seconds,
              replicatedSeconds: replicatedAt === null ? null : (replicatedAt - res.t0EpochMs) / 1000,
            },
            localMBps,
          ),
        );
        await c.remove(rel);
      }
    };

    await sequentialKind(
      'sequential',
      opts.sizeBytes,
      opts.blockBytes,
      `${fmtSize(opts.sizeBytes)} in ${fmtSize(opts.blockBytes)} writes + fsync`,
    );
    if (opts.smallBlockBytes > 0) {
      await sequentialKind(
        'small-writes',
        opts.smallSizeBytes,
        opts.smallBlockBytes,
        `${fmtSize(opts.smallSizeBytes)} in ${fmtSize(opts.smallBlockBytes)} writes + fsync`,
      );
    }

    if (opts.criuBytes > 0) {
      const mib = Math.max(1, Math.round(opts.criuBytes / MiB));
      const work = path.join(dir, 'criu-work');
      mkdirSync(work, { recursive: true });
      // A fresh process (fresh random memory) per dump, so no dump dedups against another.
      steps.next(`local disk: criu dump of a ${mib} MiB process`);
      const p0 = await StatefulProcess.start(work, 'local', mib);
      const localImages = path.join(localDir, 'criu');
      const t0 = performance.now();
      let dumpSeconds: number;
      try {
        dumpSeconds = await criuDump(p0.pid, localImages, { workDir: work });
      } finally {
        p0.kill();
      }
      const fsyncSeconds = fsyncTree(localImages);
      const durable = (performance.now() - t0) / 1000;
      const imageBytes = folderBytes(localImages);
      rmSync(localImages, { recursive: true, force: true });
      const localMBps = mbps(imageBytes, durable);
      rows.push(
        row(
          {
            writer: 'criu-dump',
            target: 'local-disk',
            replicas: null,
            writeBytes: 0,
            bytes: imageBytes,
            closeSeconds: durable,
            replicatedSeconds: null,
            fsyncSeconds,
          },
          localMBps,
        ),
      );
      report.results.criuLocalWithoutFsync = { seconds: dumpSeconds, MBps: mbps(imageBytes, dumpSeconds) };
      for (const r of opts.replicas) {
        steps.next(`mount, replicas ${r}: criu dump of a ${mib} MiB process`);
        const m = mounts.get(r) as BenchMount;
        const rel = `${base}/criu-r${r}`;
        const p = await StatefulProcess.start(work, `r${r}`, mib);
        const started = Date.now();
        let seconds = 0;
        let bytes = 0;
        try {
          seconds = await criuDump(p.pid, path.join(m.mountpoint, rel), { workDir: work });
          bytes = folderBytes(path.join(m.mountpoint, rel));
          // Checked once criu is done (before, a check could see only the files written so far).
          const replicatedAt = await watchReplication(
            c,
            async () => (await c.client().list(rel)).filter((e) => e.type === 'FILE').map((e) => e.path),
            bytes,
            r,
            Promise.resolve(),
          );
          rows.push(
            row(
              {
                writer: 'criu-dump',
                target: 'mount',
                replicas: r,
                writeBytes: 0,
                bytes,
                closeSeconds: seconds,
                replicatedSeconds: replicatedAt === null ? null : (replicatedAt - started) / 1000,
              },
              localMBps,
            ),
          );
        } finally {
          p.kill();
        }
        await c.remove(rel);
      }
    }

    if (opts.clientRows) {
      const localMBps =
        rows.find((x) => x.writer === 'sequential' && x.target === 'local-disk')?.closeMBps ?? null;
      for (const r of opts.replicas) {
        steps.next(`client library in this process (stdchk put's path), replicas ${r}`);
        const remote = `${base}/client-r${r}.bin`;
        const res = await writeStdchk(c.client(), remote, r, opts);
        rows.push(
          row(
            {
              writer: 'client-library',
              target: 'client',
              replicas: r,
              writeBytes: opts.blockBytes,
              bytes: opts.sizeBytes,
              closeSeconds: res.seconds,
              // close() returns once every chunk is on r replicas.
              replicatedSeconds: res.seconds,
            },
            localMBps,
          ),
        );
        await c.remove(remote);
      }
    }
    await c.remove(base);
  } finally {
    await cluster?.stop();
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    else rmSync(localDir, { recursive: true, force: true });
  }

  report.results.rows = rows;
  const label: Record<WriteRow['writer'], string> = {
    sequential: `${fmtSize(opts.blockBytes)} writes`,
    'small-writes': `${fmtSize(opts.smallBlockBytes)} writes`,
    'criu-dump': 'criu dump',
    'client-library': 'client library',
  };
  report.tables.push({
    title:
      'write bandwidth of fresh data (MB/s = 10^6 bytes/s), until close() returns and until every chunk is on all replicas; ' +
      'baseline: the same writer into a local folder, with fsync',
    columns: [
      'writer',
      'target',
      'MiB',
      's to close',
      'MB/s to close',
      's to r replicas',
      'MB/s to r replicas',
      'x local',
    ],
    rows: rows.map((x): Cell[] => [
      label[x.writer],
      x.target === 'local-disk'
        ? 'local disk + fsync'
        : `${x.target === 'mount' ? 'mount' : 'client'}, replicas ${x.replicas}`,
      x.bytes / MiB,
      x.closeSeconds,
      x.closeMBps,
      x.replicatedSeconds,
      x.replicatedMBps,
      x.target === 'local-disk' ? 1 : x.closeVsLocal,
    ]),
  });
  for (const x of rows) {
    if (x.target === 'local-disk' || x.closeVsLocal === null) continue;
    const key = `${x.writer}_${x.target}_r${x.replicas}`;
    report.ratios[`${key}_close_vs_local`] = x.closeVsLocal;
    if (x.replicatedVsLocal !== null) report.ratios[`${key}_replicated_vs_local`] = x.replicatedVsLocal;
  }
  const r2 = rows.find((x) => x.writer === 'sequential' && x.target === 'mount' && x.replicas === 2);
  addTarget(report, {
    id: 'write_r2_close_vs_local',
    goal: 'fresh data through the mount at replicas 2: MB/s until close() >= 0.6x local disk (same writer, fsync)',
    value: r2?.closeVsLocal,
    limit: 0.6,
    direction: 'at-least',
  });
  report.notes.push(
    'the mount rows are a separate process writing through a kernel FUSE mount (write(), fsync(), close()); ' +
      'close()/fsync() return after the commit, i.e. with every chunk on r replicas, so "to r replicas" adds only the manager check',
    'local CRIU dumps are timed until their images are fsynced (criu itself does not fsync); results.criuLocalWithoutFsync has the time without',
  );
  return finishReport(report);
}

export function writeChart(report: BenchReport): string {
  const rows = (report.results.rows ?? []) as WriteRow[];
  const writers = [...new Set(rows.map((r) => r.writer))];
  const replicas = [...new Set(rows.filter((r) => r.replicas !== null).map((r) => r.replicas as number))];
  const pick = (w: string, f: (r: WriteRow) => boolean, v: (r: WriteRow) => number | null) => {
    const r = rows.find((x) => x.writer === w && f(x));
    return r ? v(r) : null;
  };
  const series = [
    {
      name: 'local disk + fsync',
      values: writers.map((w) =>
        pick(
          w,
          (r) => r.target === 'local-disk',
          (r) => r.closeMBps,
        ),
      ),
    },
    ...replicas.flatMap((n) => [
      {
        name: `replicas ${n}, to close()`,
        values: writers.map((w) =>
          pick(
            w,
            (r) => r.target !== 'local-disk' && r.replicas === n,
            (r) => r.closeMBps,
          ),
        ),
      },
      {
        name: `replicas ${n}, to all replicas`,
        values: writers.map((w) =>
          pick(
            w,
            (r) => r.target !== 'local-disk' && r.replicas === n,
            (r) => r.replicatedMBps,
          ),
        ),
      },
    ]),
  ];
  return renderSvg([
    groupedBarChart({
      title: `write bandwidth of fresh data, MB/s (${report.machine.cpus} cores)`,
      unit: 'MB/s',
      categories: writers.map((w) =>
        w === 'sequential'
          ? 'large writes (mount)'
          : w === 'small-writes'
            ? '4 KiB writes (mount)'
            : w === 'criu-dump'
              ? 'criu dump (mount)'
              : 'client library',
      ),
      series,
    }),
  ]);
}

function fmtSize(n: number): string {
  if (n >= GiB && n % GiB === 0) return `${n / GiB} GiB`;
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= KiB && n % KiB === 0) return `${n / KiB} KiB`;
  return `${n} B`;
}
