import { closeSync, mkdirSync, openSync, readSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ChunkStream } from '../src/chunking/chunker.ts';
import { parseChunkerSpec } from '../src/chunking/params.ts';
import { BenchCluster } from './lib/cluster.ts';
import type { ExistingCluster } from './lib/cluster.ts';
import {
  StatefulProcess,
  criuCheck,
  criuDump,
  filesUnder,
  folderBytes,
  fsyncTree,
  tempDir,
} from './lib/proc.ts';
import {
  KiB,
  MiB,
  Steps,
  addTarget,
  finishReport,
  groupedBarChart,
  newReport,
  ratio,
  renderSvg,
} from './lib/report.ts';
import type { BenchReport, Cell } from './lib/report.ts';
import { DEFAULT_OFFLINE_CHUNKERS, DEDUP_DEFAULTS } from './defaults.ts';

export interface DedupBenchOptions {
  /** Memory of the dumped process. */
  memoryBytes: number;
  /** Percent of its memory rewritten between two dumps; one series of dumps per value. */
  changes: number[];
  /** Dumps per series (the first is full, the others incremental). */
  dumps: number;
  /** Memory is rewritten in blocks of this size at random places. */
  blockBytes: number;
  /** Chunkers compared offline on the local dumps. */
  chunkers: string[];
  /** Chunkers the mount runs with (`stdchk mount --chunker`); one full set of series per chunker. */
  mountChunkers: string[];
  replicas: number;
  existing?: ExistingCluster | undefined;
  dir?: string | undefined;
}

export { DEFAULT_OFFLINE_CHUNKERS };

export { DEDUP_DEFAULTS };

/** One `criu dump` through the mount, with the same dump into a local folder just before it. */
export interface DedupMountRow {
  chunker: string;
  changePercent: number;
  dump: number;
  imageBytes: number;
  /** Growth of the manager's stored bytes (unique chunks, each once) during this dump. */
  newBytes: number;
  newShare: number;
  localSeconds: number;
  /** The local dump plus the fsync of its images (as durable as close() on the mount). */
  localDurableSeconds: number;
  mountSeconds: number;
  /** mountSeconds / localDurableSeconds. */
  vsLocal: number | null;
  vsLocalWithoutFsync: number | null;
}

/** One local dump chunked offline with one chunker; new bytes against every earlier dump of its series. */
export interface DedupOfflineRow {
  chunker: string;
  changePercent: number;
  dump: number;
  imageBytes: number;
  newBytes: number;
  newShare: number;
  zeroBytes: number;
  chunks: number;
  meanChunkBytes: number;
}

export interface DedupSummaryRow {
  chunker: string;
  changePercent: number;
  /** Mean new share of the incremental dumps (all but the first). */
  meanNewShare: number;
  meanChunkBytes: number;
}

/** Chunks every file of each dump (in order) and counts the bytes of chunks not seen before in the series. */
export function offlineDedup(dumps: string[], spec: string): Omit<DedupOfflineRow, 'changePercent'>[] {
  const params = parseChunkerSpec(spec);
  const seen = new Set<string>();
  const out: Omit<DedupOfflineRow, 'changePercent'>[] = [];
  dumps.forEach((dir, dump) => {
    let imageBytes = 0;
    let newBytes = 0;
    let zeroBytes = 0;
    let chunks = 0;
    const count = (c: { hash: Buffer; length: number; zero: boolean }) => {
      chunks++;
      imageBytes += c.length;
      if (c.zero) {
        zeroBytes += c.length;
        return;
      }
      const key = c.hash.toString('base64');
      if (!seen.has(key)) {
        seen.add(key);
        newBytes += c.length;
      }
    };
    for (const file of filesUnder(dir)) {
      const s = new ChunkStream(params);
      const fd = openSync(file, 'r');
      try {
        for (;;) {
          const buf = Buffer.allocUnsafe(4 * MiB);
          const n = readSync(fd, buf, 0, buf.length, null);
          if (n === 0) break;
          for (const c of s.push(buf.subarray(0, n))) count(c);
        }
      } finally {
        closeSync(fd);
      }
      for (const c of s.finish()) count(c);
    }
    out.push({
      chunker: spec,
      dump,
      imageBytes,
      newBytes,
      newShare: imageBytes ? newBytes / imageBytes : 0,
      zeroBytes,
      chunks,
      meanChunkBytes: chunks ? imageBytes / chunks : 0,
    });
  });
  return out;
}

export async function runDedupBench(opts: DedupBenchOptions): Promise<BenchReport> {
  for (const s of [...opts.chunkers, ...opts.mountChunkers]) parseChunkerSpec(s); // fail before starting anything
  const report = newReport('dedup', {
    memoryBytes: opts.memoryBytes,
    changes: opts.changes,
    dumps: opts.dumps,
    blockBytes: opts.blockBytes,
    chunkers: opts.chunkers,
    mountChunkers: opts.mountChunkers,
    replicas: opts.replicas,
  });
  await criuCheck();
  const series = opts.mountChunkers.length * opts.changes.length;
  const steps = new Steps('dedup', 1 + series * opts.dumps + opts.changes.length);
  const dir = tempDir(opts.dir, 'stdchk-bench-dedup-');
  const work = path.join(dir, 'criu-work');
  mkdirSync(work, { recursive: true });
  const mib = Math.max(1, Math.round(opts.memoryBytes / MiB));
  const mountRows: DedupMountRow[] = [];
  const offlineRows: DedupOfflineRow[] = [];
  let cluster: BenchCluster | undefined;
  try {
    steps.next('starting the grid');
    cluster = await BenchCluster.open({ dir, existing: opts.existing });
    report.params.cluster = cluster.description;
    const c = cluster;
    const base = `/bench/dedup-${Date.now().toString(36)}`;
    await c.client().mkdir(base, { parents: true });
    for (const [k, chunker] of opts.mountChunkers.entries()) {
      const m = await c.mount(
        path.join(dir, `mnt-${k}`),
        { replicas: opts.replicas, cacheDir: path.join(dir, `cache-${k}`), chunker, name: `mount-${k}` },
        path.join(dir, 'logs'),
      );
      for (const change of opts.changes) {
        // A fresh process per series: its random memory shares nothing with other series.
        const p = await StatefulProcess.start(work, `k${k}-c${change}`, mib);
        const localDumps: string[] = [];
        try {
          for (let i = 0; i < opts.dumps; i++) {
            steps.next(`chunker ${chunker}, ${change}% changed: dump ${i + 1} of ${opts.dumps}`);
            if (i > 0) await p.mutate(change / 100, opts.blockBytes);
            const local = path.join(dir, 'local', `k${k}-c${change}`, String(i));
            const localSeconds = await criuDump(p.pid, local, { leaveRunning: true, workDir: work });
            const fsyncSeconds = fsyncTree(local);
            localDumps.push(local);
            const rel = `${base}/${k}/c${change}/${i}`;
            const s0 = await c.storedBytes();
            const mountSeconds = await criuDump(p.pid, path.join(m.mountpoint, rel), {
              leaveRunning: true,
              workDir: work,
            });
            const newBytes = (await c.storedBytes()) - s0;
            const imageBytes = folderBytes(path.join(m.mountpoint, rel));
            const durable = localSeconds + fsyncSeconds;
            mountRows.push({
              chunker,
              changePercent: change,
              dump: i,
              imageBytes,
              newBytes,
              newShare: imageBytes ? newBytes / imageBytes : 0,
              localSeconds,
              localDurableSeconds: durable,
              mountSeconds,
              vsLocal: ratio(mountSeconds, durable),
              vsLocalWithoutFsync: ratio(mountSeconds, localSeconds),
            });
            steps.say(
              `  image ${(imageBytes / MiB).toFixed(0)} MiB, new ${(newBytes / MiB).toFixed(1)} MiB ` +
                `(${((100 * newBytes) / Math.max(1, imageBytes)).toFixed(1)}%), mount ${mountSeconds.toFixed(1)} s vs local ${durable.toFixed(1)} s`,
            );
          }
        } finally {
          p.kill();
        }
        if (k === 0) {
          steps.next(`offline: ${opts.chunkers.length} chunkers on the ${change}% series' local dumps`);
          for (const spec of opts.chunkers) {
            for (const r of offlineDedup(localDumps, spec)) offlineRows.push({ ...r, changePercent: change });
          }
        }
        rmSync(path.join(dir, 'local', `k${k}-c${change}`), { recursive: true, force: true });
      }
      await c.unmount(m);
    }
    await c.remove(base);
  } finally {
    await cluster?.stop();
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    else rmSync(path.join(dir, 'local'), { recursive: true, force: true });
  }

  const summary: DedupSummaryRow[] = [];
  for (const spec of opts.chunkers) {
    for (const change of opts.changes) {
      const rows = offlineRows.filter((r) => r.chunker === spec && r.changePercent === change);
      const inc = rows.filter((r) => r.dump > 0);
      summary.push({
        chunker: spec,
        changePercent: change,
        meanNewShare: inc.length ? inc.reduce((a, r) => a + r.newShare, 0) / inc.length : 0,
        meanChunkBytes:
          rows.reduce((a, r) => a + r.imageBytes, 0) /
          Math.max(
            1,
            rows.reduce((a, r) => a + r.chunks, 0),
          ),
      });
    }
  }
  report.results = { mount: mountRows, offline: offlineRows, offlineSummary: summary };

  report.tables.push({
    title: `criu dump of a ${mib} MiB process through the mount (replicas ${opts.replicas}) vs into a local folder; new = growth of the manager's stored bytes`,
    columns: [
      'chunker',
      'changed',
      'dump',
      'image MiB',
      'new MiB',
      'new %',
      'local s',
      'local+fsync s',
      'mount s',
      'x local+fsync',
    ],
    rows: mountRows.map((r): Cell[] => [
      r.chunker,
      `${r.changePercent}%`,
      r.dump + 1,
      r.imageBytes / MiB,
      r.newBytes / MiB,
      100 * r.newShare,
      r.localSeconds,
      r.localDurableSeconds,
      r.mountSeconds,
      r.vsLocal,
    ]),
  });
  report.tables.push({
    title:
      'offline: the same local dumps chunked by each chunker; mean share of each incremental dump that is new (%), mean chunk size',
    columns: ['chunker', ...opts.changes.map((c) => `${c}% changed`), 'mean chunk KiB', 'chunks per GiB'],
    rows: opts.chunkers.map((spec): Cell[] => {
      const rows = summary.filter((s) => s.chunker === spec);
      const mean = rows[0]?.meanChunkBytes ?? 0;
      return [
        spec,
        ...opts.changes.map((c) => 100 * (rows.find((s) => s.changePercent === c)?.meanNewShare ?? 0)),
        mean / KiB,
        mean ? Math.round((1024 * MiB) / mean) : null,
      ];
    }),
  });

  const floor = summary.filter((s) => s.chunker === 'fixed:4k');
  for (const s of summary) {
    const f = floor.find((x) => x.changePercent === s.changePercent);
    if (f && f.meanNewShare > 0 && s.chunker !== 'fixed:4k') {
      report.ratios[`offline_${s.chunker}_c${s.changePercent}_new_vs_page_floor`] =
        s.meanNewShare / f.meanNewShare;
    }
  }
  for (const change of opts.changes) {
    for (const chunker of opts.mountChunkers) {
      const inc = mountRows.filter((r) => r.changePercent === change && r.chunker === chunker && r.dump > 0);
      if (!inc.length) continue;
      const mean = (f: (r: DedupMountRow) => number | null) =>
        inc.reduce((a, r) => a + (f(r) ?? 0), 0) / inc.length;
      report.ratios[`mount_${chunker}_c${change}_new_share`] = mean((r) => r.newShare);
      report.ratios[`mount_${chunker}_c${change}_time_vs_local`] = mean((r) => r.vsLocal);
    }
  }
  const ten = mountRows.filter(
    (r) => r.changePercent === 10 && r.dump > 0 && r.chunker === opts.mountChunkers[0],
  );
  const mean = (f: (r: DedupMountRow) => number | null) =>
    ten.length ? ten.reduce((a, r) => a + (f(r) ?? 0), 0) / ten.length : null;
  addTarget(report, {
    id: 'dedup_c10_new_share',
    goal: `a dump after 10% of memory changed: new bytes stored / image (${opts.mountChunkers[0]}, through the mount)`,
    value: mean((r) => r.newShare),
    limit: 0.15,
    direction: 'at-most',
  });
  addTarget(report, {
    id: 'dedup_c10_time_vs_local',
    goal: 'a dump after 10% changed: time into the mount / into a local folder (+ fsync of the images)',
    value: mean((r) => r.vsLocal),
    limit: 1,
    direction: 'at-most',
  });
  report.notes.push(
    '"page floor" = fixed:4k: a chunk per 4 KiB page, the least any chunker can store for page-granular changes',
    `memory is rewritten in ${opts.blockBytes / KiB} KiB blocks at random places; every dump is full (no dirty-page tracking on this kernel)`,
  );
  return finishReport(report);
}

export function dedupChart(report: BenchReport): string {
  const summary = (report.results.offlineSummary ?? []) as DedupSummaryRow[];
  const rows = (report.results.mount ?? []) as DedupMountRow[];
  const chunkers = [...new Set(summary.map((s) => s.chunker))];
  const changes = [...new Set(summary.map((s) => s.changePercent))];
  const charts = [
    groupedBarChart({
      title: 'share of an incremental criu dump that is new, by chunker (offline, %)',
      unit: '%',
      categories: chunkers,
      series: changes.map((c) => ({
        name: `${c}% of memory changed`,
        values: chunkers.map((k) => {
          const s = summary.find((x) => x.chunker === k && x.changePercent === c);
          return s ? 100 * s.meanNewShare : null;
        }),
      })),
    }),
  ];
  if (rows.length) {
    const cats = rows.map((r) => `${r.chunker} ${r.changePercent}% #${r.dump + 1}`);
    charts.push(
      groupedBarChart({
        title: 'criu dump time: mount vs local folder (s)',
        unit: 's',
        categories: cats,
        series: [
          { name: 'local', values: rows.map((r) => r.localSeconds) },
          { name: 'local + fsync', values: rows.map((r) => r.localDurableSeconds) },
          { name: 'mount', values: rows.map((r) => r.mountSeconds) },
        ],
      }),
    );
  }
  return renderSvg(charts);
}
