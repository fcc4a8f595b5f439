import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { StdchkError } from '../src/errors/index.ts';
import { BenchCluster } from './lib/cluster.ts';
import type { BenchMount, ExistingCluster } from './lib/cluster.ts';
import {
  StatefulProcess,
  criuCheck,
  criuDump,
  criuRestore,
  dropFromPageCache,
  filesUnder,
  folderBytes,
  fsyncTree,
  killHard,
  runTs,
  tempDir,
  until,
  waitGone,
} from './lib/proc.ts';
import {
  MiB,
  Steps,
  addTarget,
  finishReport,
  groupedBarChart,
  mbps,
  newReport,
  ratio,
  renderSvg,
} from './lib/report.ts';
import type { BenchReport, Cell } from './lib/report.ts';
import { RESTORE_DEFAULTS } from './defaults.ts';

export interface RestoreBenchOptions {
  /** Memory of the dumped process (the image is about this size). */
  memoryBytes: number;
  replicas: number;
  /** read() size of the plain sequential reader. */
  readBlockBytes: number;
  existing?: ExistingCluster | undefined;
  dir?: string | undefined;
}

export { RESTORE_DEFAULTS };

export type RestoreSource = 'local-warm' | 'local-cold' | 'mount-warm' | 'mount-cold';

export interface RestoreRow {
  operation: 'criu-restore' | 'sequential-read';
  source: RestoreSource;
  bytes: number;
  seconds: number;
  MBps: number;
  /** seconds / the same operation's seconds from local disk at the same temperature. */
  vsLocal: number | null;
}

const SOURCE_LABEL: Record<RestoreSource, string> = {
  'local-warm': 'local disk, page cache warm',
  'local-cold': 'local disk, dropped from the page cache',
  'mount-warm': 'mount that wrote it (chunk cache warm)',
  'mount-cold': 'another mount, empty chunk cache',
};

export async function runRestoreBench(opts: RestoreBenchOptions): Promise<BenchReport> {
  const report = newReport('restore', {
    memoryBytes: opts.memoryBytes,
    replicas: opts.replicas,
    readBlockBytes: opts.readBlockBytes,
  });
  await criuCheck();
  const steps = new Steps('restore', 3 + 8);
  const dir = tempDir(opts.dir, 'stdchk-bench-restore-');
  const work = path.join(dir, 'criu-work');
  mkdirSync(work, { recursive: true });
  const mib = Math.max(1, Math.round(opts.memoryBytes / MiB));
  const rows: RestoreRow[] = [];
  let cluster: BenchCluster | undefined;
  let restoredPid: number | undefined;
  try {
    steps.next('starting the grid and the writing mount');
    cluster = await BenchCluster.open({ dir, existing: opts.existing });
    report.params.cluster = cluster.description;
    const c = cluster;
    const logs = path.join(dir, 'logs');
    const writer = await c.mount(
      path.join(dir, 'mnt-writer'),
      { replicas: opts.replicas, cacheDir: path.join(dir, 'cache-writer'), name: 'mount-writer' },
      logs,
    );
    const rel = `/bench/restore-${Date.now().toString(36)}/images`;
    await c.client().mkdir(path.dirname(rel), { parents: true });

    steps.next(`dumping a ${mib} MiB process into a local folder and into the mount`);
    const p = await StatefulProcess.start(work, 'restore', mib);
    const local = path.join(dir, 'local-images');
    try {
      await criuDump(p.pid, local, { leaveRunning: true, workDir: work });
      fsyncTree(local);
      await criuDump(p.pid, path.join(writer.mountpoint, rel), { workDir: work });
    } finally {
      p.kill();
    }
    await waitGone(p.pid);
    const localFiles = filesUnder(local);
    const bytes = folderBytes(local);
    const mountBytes = folderBytes(path.join(writer.mountpoint, rel));
    report.results.imageBytes = bytes;
    report.results.mountImageBytes = mountBytes;

    const read = async (files: string[]): Promise<{ bytes: number; seconds: number }> => {
      const r = await runTs('bench/lib/io-proc.ts', ['read', String(opts.readBlockBytes), ...files], {
        timeoutMs: 3_600_000,
      });
      if (r.code !== 0) throw new StdchkError('INTERNAL', `the reader failed: ${r.stderr.trim()}`);
      return JSON.parse(r.stdout) as { bytes: number; seconds: number };
    };
    /** Restores, checks the process runs on from where it was, kills it again (its pid must be free for the next restore). */
    const restore = async (from: string): Promise<number> => {
      const before = p.lines();
      const seconds = await criuRestore(from, { workDir: work });
      restoredPid = p.pid;
      await until('the restored process to count on', 30_000, () => p.lines() > before + 2);
      killHard(p.pid);
      await waitGone(p.pid);
      restoredPid = undefined;
      return seconds;
    };
    const add = (operation: RestoreRow['operation'], source: RestoreSource, b: number, seconds: number) =>
      rows.push({ operation, source, bytes: b, seconds, MBps: mbps(b, seconds), vsLocal: null });

    steps.next('local disk, warm: sequential read');
    add('sequential-read', 'local-warm', bytes, (await read(localFiles)).seconds);
    steps.next('local disk, warm: criu restore');
    add('criu-restore', 'local-warm', bytes, await restore(local));
    steps.next('local disk, cold: sequential read');
    await dropFromPageCache(localFiles);
    add('sequential-read', 'local-cold', bytes, (await read(localFiles)).seconds);
    steps.next('local disk, cold: criu restore');
    await dropFromPageCache(localFiles);
    add('criu-restore', 'local-cold', bytes, await restore(local));

    const mountFiles = (m: BenchMount) => filesUnder(path.join(m.mountpoint, rel));
    steps.next('the writing mount (warm chunk cache): sequential read');
    add('sequential-read', 'mount-warm', mountBytes, (await read(mountFiles(writer))).seconds);
    steps.next('the writing mount (warm chunk cache): criu restore');
    add('criu-restore', 'mount-warm', mountBytes, await restore(path.join(writer.mountpoint, rel)));

    // Cold: a new mount with an empty cache folder, and the benefactors' pack files out of the page cache.
    const coldMount = async (name: string) => {
      await dropFromPageCache(c.benefactorFiles());
      return c.mount(
        path.join(dir, `mnt-${name}`),
        { cacheDir: path.join(dir, `cache-${name}`), name: `mount-${name}` },
        logs,
      );
    };
    steps.next('another mount, cold cache: sequential read');
    const cold1 = await coldMount('cold-read');
    add('sequential-read', 'mount-cold', mountBytes, (await read(mountFiles(cold1))).seconds);
    await c.unmount(cold1);
    steps.next('another mount, cold cache: criu restore');
    const cold2 = await coldMount('cold-restore');
    add('criu-restore', 'mount-cold', mountBytes, await restore(path.join(cold2.mountpoint, rel)));
    await c.unmount(cold2);
    await c.remove(path.dirname(rel));
  } finally {
    if (restoredPid !== undefined) killHard(restoredPid);
    await cluster?.stop();
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    else rmSync(path.join(dir, 'local-images'), { recursive: true, force: true });
  }

  for (const r of rows) {
    if (!r.source.startsWith('mount')) continue;
    const base = rows.find(
      (x) =>
        x.operation === r.operation && x.source === (r.source === 'mount-warm' ? 'local-warm' : 'local-cold'),
    );
    r.vsLocal = ratio(r.seconds, base?.seconds);
    if (r.vsLocal !== null) report.ratios[`${r.operation}_${r.source}_vs_local`] = r.vsLocal;
  }
  report.results.rows = rows;
  report.tables.push({
    title: `restore of a ${mib} MiB process's CRIU images and a plain sequential read of them (${opts.readBlockBytes / MiB} MiB reads); x local = seconds / local disk at the same temperature`,
    columns: ['operation', 'from', 'MiB', 'seconds', 'MB/s', 'x local'],
    rows: rows.map((r): Cell[] => [
      r.operation,
      SOURCE_LABEL[r.source],
      r.bytes / MiB,
      r.seconds,
      r.MBps,
      r.source.startsWith('local') ? 1 : r.vsLocal,
    ]),
  });
  addTarget(report, {
    id: 'restore_cold_vs_local',
    goal: 'criu restore through another mount with a cold cache / criu restore from local disk (cold page cache)',
    value: rows.find((r) => r.operation === 'criu-restore' && r.source === 'mount-cold')?.vsLocal,
    limit: 1.5,
    direction: 'at-most',
  });
  report.notes.push(
    "cold = a fresh mount with an empty chunk cache, with the benefactors' pack files (local grid) or the local images dropped from the page cache (per file, posix_fadvise DONTNEED)",
    'each restore is checked: the restored process counts on from where it was dumped, then is killed before the next one',
  );
  return finishReport(report);
}

export function restoreChart(report: BenchReport): string {
  const rows = (report.results.rows ?? []) as RestoreRow[];
  const sources: RestoreSource[] = ['local-warm', 'mount-warm', 'local-cold', 'mount-cold'];
  return renderSvg([
    groupedBarChart({
      title: 'restore and sequential read of CRIU images (seconds, lower is better)',
      unit: 's',
      categories: ['criu restore', 'sequential read'],
      series: sources.map((s) => ({
        name: SOURCE_LABEL[s],
        values: (['criu-restore', 'sequential-read'] as const).map(
          (op) => rows.find((r) => r.operation === op && r.source === s)?.seconds ?? null,
        ),
      })),
    }),
  ]);
}
