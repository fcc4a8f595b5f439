import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { StdchkError } from '../src/errors/index.ts';
import { syncFolder } from '../src/fuse-client/barrier.ts';
import { BenchCluster } from './lib/cluster.ts';
import type { BenchMount, ExistingCluster } from './lib/cluster.ts';
import { filesUnder, fsyncTree, run, runTs, tempDir } from './lib/proc.ts';
import { KiB, Steps, finishReport, groupedBarChart, newReport, renderSvg } from './lib/report.ts';
import type { BenchReport, Cell } from './lib/report.ts';
import type { WriteMode } from './write.ts';

export interface SmallBenchOptions {
  /** The tree unpacked with tar (a folder of many small files). */
  tree: string;
  /** Files of the small-file writer, written one after the other by one process. */
  files: number;
  fileBytes: number;
  replicas: number;
  writeModes: WriteMode[];
  existing?: ExistingCluster | undefined;
  dir?: string | undefined;
}

export const SMALL_DEFAULTS: SmallBenchOptions = {
  tree: '/usr/include/linux',
  files: 300,
  fileBytes: 4 * KiB,
  replicas: 2,
  writeModes: ['writeback', 'sync'],
};

export interface SmallRow {
  work: 'tar' | 'files';
  target: 'local-disk' | 'mount';
  mode: WriteMode | null;
  entries: number;
  bytes: number;
  /** Until the writer exited (tar: the last file closed). */
  freezeSeconds: number;
  /** Until durable: local, every file and folder fsynced; the mount, the folder barrier returned. */
  durableSeconds: number;
  /** Seconds over local disk's durable seconds (the baseline: a local folder, fsynced). */
  freezeVsLocal: number | null;
  durableVsLocal: number | null;
}

/**
 * Small files through the mount, the case where a round trip per file
 * dominates: `tar -x` of a source tree, and a program writing N small files
 * one after the other; write-back and sync mounts against a local folder in
 * the same run.
 */
export async function runSmallBench(opts: SmallBenchOptions): Promise<BenchReport> {
  if (!existsSync(opts.tree)) throw new StdchkError('INVALID_ARGUMENT', `--tree ${opts.tree} does not exist`);
  const report = newReport('small', {
    tree: opts.tree,
    files: opts.files,
    fileBytes: opts.fileBytes,
    replicas: opts.replicas,
    writeModes: opts.writeModes,
  });
  const steps = new Steps('small', 1 + 2 * (1 + opts.writeModes.length));
  const dir = tempDir(opts.dir, 'stdchk-bench-small-');
  const rows: SmallRow[] = [];
  const parent = path.dirname(path.resolve(opts.tree));
  const name = path.basename(path.resolve(opts.tree));
  const entries = Number((await run('sh', ['-c', `cd ${parent} && find ${name} | wc -l`])).stdout.trim());
  const treeBytes = Number(
    (await run('sh', ['-c', `cd ${parent} && du -sb ${name} | cut -f1`])).stdout.trim(),
  );
  let cluster: BenchCluster | undefined;
  try {
    steps.next('starting the grid and one mount per write mode');
    cluster = await BenchCluster.open({ dir, existing: opts.existing });
    report.params.cluster = cluster.description;
    const mounts = new Map<WriteMode, BenchMount>();
    for (const mode of opts.writeModes) {
      mounts.set(
        mode,
        await cluster.mount(
          path.join(dir, `mnt-${mode}`),
          { replicas: opts.replicas, name: `mount-${mode}`, writeMode: mode },
          path.join(dir, 'logs'),
        ),
      );
    }
    const base = `bench-small-${Date.now().toString(36)}`;
    const targets: { target: SmallRow['target']; mode: WriteMode | null; root: string }[] = [
      { target: 'local-disk', mode: null, root: path.join(dir, 'local') },
      ...opts.writeModes.map((mode) => ({
        target: 'mount' as const,
        mode,
        root: path.join((mounts.get(mode) as BenchMount).mountpoint, `${base}-${mode}`),
      })),
    ];
    const durable = async (target: SmallRow['target'], folder: string): Promise<void> => {
      if (target === 'local-disk') fsyncTree(folder);
      else await syncFolder(folder);
    };
    for (const work of ['tar', 'files'] as const) {
      let local: SmallRow | undefined;
      for (const t of targets) {
        steps.next(`${work}: ${t.target}${t.mode ? ` (${t.mode})` : ''}`);
        const folder = path.join(t.root, work);
        mkdirSync(folder, { recursive: true });
        const t0 = performance.now();
        let freeze: number;
        if (work === 'tar') {
          const r = await run('sh', ['-c', `tar -C ${parent} -cf - ${name} | tar -C ${folder} -xf -`], {
            timeoutMs: 3_600_000,
          });
          if (r.code !== 0)
            throw new StdchkError('INTERNAL', `tar into ${folder} failed: ${r.stderr.trim()}`);
          freeze = (performance.now() - t0) / 1000;
        } else {
          const r = await runTs(
            'bench/lib/io-proc.ts',
            ['files', folder, String(opts.files), String(opts.fileBytes)],
            { timeoutMs: 3_600_000 },
          );
          if (r.code !== 0) throw new StdchkError('INTERNAL', `the writer failed: ${r.stderr.trim()}`);
          freeze = (JSON.parse(r.stdout) as { seconds: number }).seconds;
        }
        const t1 = performance.now();
        await durable(t.target, folder);
        const durableSeconds = freeze + (performance.now() - t1) / 1000;
        const row: SmallRow = {
          work,
          target: t.target,
          mode: t.mode,
          entries: work === 'tar' ? entries : opts.files,
          bytes: work === 'tar' ? treeBytes : opts.files * opts.fileBytes,
          freezeSeconds: freeze,
          durableSeconds,
          freezeVsLocal: null,
          durableVsLocal: null,
        };
        local ??= row;
        row.freezeVsLocal = freeze / local.durableSeconds;
        row.durableVsLocal = durableSeconds / local.durableSeconds;
        rows.push(row);
        if (t.target === 'local-disk') {
          // Checked: the local copy is what it should be (and the next run starts clean).
          if (work === 'tar' && filesUnder(folder).length === 0)
            throw new StdchkError('INTERNAL', 'tar wrote nothing');
          rmSync(folder, { recursive: true, force: true });
        }
      }
    }
    for (const mode of opts.writeModes) await cluster.remove(`/${base}-${mode}`).catch(() => undefined);
  } finally {
    await cluster?.stop();
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
  }
  report.results.rows = rows;
  const label = (r: SmallRow) => (r.target === 'local-disk' ? 'local disk' : `mount, ${r.mode}`);
  report.tables.push({
    title:
      `small files: tar -x of ${opts.tree} (${entries} entries) and ${opts.files} files of ${opts.fileBytes} bytes written one after the other; ` +
      'seconds until the writer finished (freeze) and until durable (local: fsync of every file and folder; mount: the folder barrier); ' +
      'x local: seconds over local disk durable',
    columns: ['work', 'target', 'entries', 's freeze', 's durable', 'x local freeze', 'x local durable'],
    rows: rows.map((r): Cell[] => [
      r.work === 'tar' ? 'tar -x' : `${opts.files} files`,
      label(r),
      r.entries,
      r.freezeSeconds,
      r.durableSeconds,
      r.freezeVsLocal,
      r.durableVsLocal,
    ]),
  });
  for (const r of rows) {
    if (r.target === 'local-disk') continue;
    report.ratios[`${r.work}_${r.mode}_freeze_vs_local`] = r.freezeVsLocal ?? 0;
    report.ratios[`${r.work}_${r.mode}_durable_vs_local`] = r.durableVsLocal ?? 0;
  }
  report.notes.push(
    'x local are time ratios (lower is better): the mount over a local folder whose files were all fsynced',
    'the small-file writer is one process (open, write, close per file), so process start-up is not counted',
  );
  return finishReport(report);
}

export function smallChart(report: BenchReport): string {
  const rows = (report.results.rows ?? []) as SmallRow[];
  const works = [...new Set(rows.map((r) => r.work))];
  const targets = [
    ...new Set(rows.map((r) => (r.target === 'local-disk' ? 'local disk' : `mount, ${r.mode}`))),
  ];
  const value = (w: string, t: string, f: (r: SmallRow) => number) => {
    const r = rows.find(
      (x) => x.work === w && (x.target === 'local-disk' ? 'local disk' : `mount, ${x.mode}`) === t,
    );
    return r ? f(r) : null;
  };
  return renderSvg([
    groupedBarChart({
      title: 'small files: seconds until the writer finished and until durable (lower is better)',
      unit: 's',
      categories: works.map((w) => (w === 'tar' ? 'tar -x of a tree' : 'small files')),
      series: targets.flatMap((t) => [
        { name: `${t}, freeze`, values: works.map((w) => value(w, t, (r) => r.freezeSeconds)) },
        { name: `${t}, durable`, values: works.map((w) => value(w, t, (r) => r.durableSeconds)) },
      ]),
    }),
  ]);
}
