import test from 'ava';
import type { ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cleanupAll, runCli, tempDir } from '../helpers/grid.ts';

// Every `stdchk bench` at a tiny size, as a user runs it: the JSON report has its documented
// shape and sane values, and --out/--plot write a report and an SVG. No timing assertions
// (the machine is shared): full-size runs are in docs/benchmarks.md. Serial: each starts its
// own grid, mounts and CRIU processes.

test.after.always(cleanupAll);

const env = { STDCHK_BENCH_QUIET: '1' };

interface Report {
  bench: string;
  startedAt: string;
  finishedAt: string;
  seconds: number;
  machine: { cpus: number; loadStart: number };
  params: Record<string, unknown>;
  results: Record<string, any>;
  tables: { title: string; columns: string[]; rows: unknown[][] }[];
  ratios: Record<string, number>;
  targets: { id: string; value: number | null; limit: number; met: boolean | null }[];
  notes: string[];
}

async function bench(t: ExecutionContext, name: string, args: string[]): Promise<Report> {
  const dir = tempDir('stdchk-bench-test-');
  const out = path.join(dir, `${name}.json`);
  const plot = path.join(dir, `${name}.svg`);
  const r = await runCli(['bench', name, ...args, '--json', '--out', out, '--plot', plot], env);
  t.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  t.deepEqual(JSON.parse(readFileSync(out, 'utf8')), report, '--out holds the same report');
  const svg = readFileSync(plot, 'utf8');
  t.true(svg.startsWith('<svg') && svg.trimEnd().endsWith('</svg>'), 'the chart is an SVG document');
  t.is(report.bench, name);
  t.true(Date.parse(report.finishedAt) >= Date.parse(report.startedAt));
  t.true(report.machine.cpus > 0);
  for (const k of ['params', 'results', 'ratios'] as const) t.is(typeof report[k], 'object');
  t.true(
    report.tables.length > 0 &&
      report.tables.every((tb) => tb.rows.every((row) => row.length === tb.columns.length)),
  );
  for (const [k, v] of Object.entries(report.ratios))
    t.true(Number.isFinite(v) && v >= 0, `ratio ${k} = ${v}`);
  return report;
}

test.serial(
  'bench write: local disk and mount rows for each writer, write-back and sync (strict and --sync-replicas 1 at replicas 2) on each chunk transport, freeze and durable, fully replicated in the end',
  async (t) => {
    const r = await bench(t, 'write', [
      '--size',
      '16MiB',
      '--small-size',
      '2MiB',
      '--criu-size',
      '24MiB',
      '--replicas',
      '1,2',
      '--sync-replicas',
      'all,1',
      '--transports',
      'framed,grpc',
    ]);
    const rows = r.results.rows as {
      writer: string;
      target: string;
      mode: string | null;
      replicas: number | null;
      syncReplicas: number | null;
      transport: string | null;
      bytes: number;
      closeSeconds: number;
      durableSeconds: number;
      replicatedSeconds: number | null;
      closeVsLocal: number | null;
      durableVsLocal: number | null;
    }[];
    const configs = (target: string, writer: string) =>
      rows
        .filter((x) => x.writer === writer && x.target === target)
        .map((x) => `${x.mode ?? '-'} r${x.replicas} sync ${x.syncReplicas} ${x.transport}`);
    const modes = [
      'writeback r1 sync 1',
      'writeback r2 sync 2',
      'sync r1 sync 1',
      'sync r2 sync 2',
      'sync r2 sync 1',
    ];
    const each = (list: string[]) => [...list.map((c) => `${c} framed`), ...list.map((c) => `${c} grpc`)];
    for (const writer of ['sequential', 'small-writes', 'criu-dump']) {
      t.deepEqual(configs('local-disk', writer), ['- rnull sync null null'], writer);
      t.deepEqual(configs('mount', writer), each(modes), writer);
    }
    t.deepEqual(configs('client', 'client-library'), each(['- r1 sync 1', '- r2 sync 2', '- r2 sync 1']));
    for (const x of rows) {
      const what = `${x.writer} ${x.target} ${x.mode} r${x.replicas} sync ${x.syncReplicas} ${x.transport}`;
      t.true(x.bytes > 0 && x.closeSeconds > 0, what);
      t.true(x.durableSeconds >= x.closeSeconds, `${what}: durable, not before close()`);
      if (x.target === 'local-disk') continue;
      t.true(
        x.replicatedSeconds !== null && x.replicatedSeconds >= x.durableSeconds,
        `${what}: every chunk reached its replicas, not before it was durable`,
      );
      t.true(x.closeVsLocal !== null && x.closeVsLocal > 0, what);
      t.true(x.durableVsLocal !== null && x.durableVsLocal > 0, what);
    }
    t.true(rows.filter((x) => x.writer === 'sequential').every((x) => x.bytes === 16 * 1024 * 1024));
    t.true(rows.filter((x) => x.writer === 'small-writes').every((x) => x.bytes === 2 * 1024 * 1024));
    t.true(
      rows.filter((x) => x.writer === 'criu-dump').every((x) => x.bytes > 24 * 1024 * 1024 * 0.9),
      'the images hold the process memory',
    );
    t.deepEqual(
      r.targets.map((x) => x.id),
      [
        'write_wb_r2_close_vs_local',
        'write_wb_r2_durable_vs_local',
        'criu_wb_r2_freeze_vs_local',
        'write_r2_close_vs_local',
        'write_r2_sync1_close_vs_local',
      ],
    );
    t.true(r.targets.every((x) => typeof x.met === 'boolean'));
    t.true(Number.isFinite(r.ratios['sequential_mount_r2_s1_framed_replicated_vs_local']));
    t.true(Number.isFinite(r.ratios['sequential_mount_r2_s1_grpc_replicated_vs_local']));
    t.true(Number.isFinite(r.ratios['sequential_mount_wb_r2_framed_durable_vs_local']));
  },
);

test.serial(
  'bench write --encryption off,on: each configuration with and without chunk encryption, its CPU in a column',
  async (t) => {
    const r = await bench(t, 'write', [
      '--size',
      '8MiB',
      '--replicas',
      '1',
      '--write-modes',
      'sync',
      '--small-block',
      '0',
      '--criu-size',
      '0',
      '--transports',
      'framed',
      '--encryption',
      'off,on',
    ]);
    const rows = r.results.rows as {
      target: string;
      writer: string;
      encrypted: boolean | null;
      bytes: number;
    }[];
    t.deepEqual(
      rows.map((x) => `${x.writer} ${x.target} ${x.encrypted}`),
      [
        'sequential local-disk null',
        'sequential mount false',
        'sequential mount true',
        'client-library client false',
        'client-library client true',
      ],
    );
    t.true(rows.every((x) => x.bytes === 8 * 1024 * 1024));
    const cpu = r.tables.find((tb) => tb.title.startsWith('where the CPU goes'));
    const col = cpu?.columns.indexOf('encryption') ?? -1;
    t.true(col >= 0, 'an encryption column');
    t.deepEqual(
      cpu?.rows.map((row) => row[col]),
      ['off', 'on', 'off', 'on'],
    );
    const bad = await runCli(['bench', 'write', '--encryption', 'maybe'], env);
    t.is(bad.code, 2);
    t.regex(bad.stderr, /^stdchk: --encryption takes a list of off, on, not "maybe"$/m);
  },
);

test.serial(
  'bench small: tar -x of a tree and many small files into a local folder and write-back and sync mounts, freeze and durable',
  async (t) => {
    const r = await bench(t, 'small', ['--tree', '/usr/include/linux/netfilter', '--files', '20']);
    const rows = r.results.rows as {
      work: string;
      target: string;
      mode: string | null;
      entries: number;
      freezeSeconds: number;
      durableSeconds: number;
      durableVsLocal: number | null;
    }[];
    t.deepEqual(
      rows.map((x) => `${x.work} ${x.target} ${x.mode}`),
      [
        'tar local-disk null',
        'tar mount writeback',
        'tar mount sync',
        'files local-disk null',
        'files mount writeback',
        'files mount sync',
      ],
    );
    for (const x of rows) {
      t.true(x.entries > 10, `${x.work}: ${x.entries} entries`);
      t.true(x.durableSeconds >= x.freezeSeconds && x.freezeSeconds > 0);
      t.true(x.durableVsLocal !== null && x.durableVsLocal > 0);
    }
  },
);

test.serial(
  'bench dedup: a full first dump, an incremental second one, chunkers compared offline',
  async (t) => {
    const r = await bench(t, 'dedup', [
      '--size',
      '24MiB',
      '--change',
      '10',
      '--dumps',
      '2',
      '--chunkers',
      'fixed:4k,fastcdc:16k,pages:16k',
    ]);
    const mount = r.results.mount as {
      dump: number;
      imageBytes: number;
      newBytes: number;
      mountSeconds: number;
    }[];
    t.is(mount.length, 2);
    const [first, second] = mount as [(typeof mount)[0], (typeof mount)[0]];
    t.true(first.imageBytes > 24 * 1024 * 1024 * 0.9, 'the image holds the process memory');
    t.true(first.newBytes > first.imageBytes * 0.5, 'the first dump is mostly new');
    t.true(
      second.newBytes < second.imageBytes * 0.6,
      'the second dump after 10% changed dedups most of the image',
    );
    const summary = r.results.offlineSummary as { chunker: string; meanNewShare: number }[];
    t.deepEqual(
      summary.map((s) => s.chunker),
      ['fixed:4k', 'fastcdc:16k', 'pages:16k'],
    );
    t.true(summary.every((s) => s.meanNewShare > 0 && s.meanNewShare < 0.6));
    t.deepEqual(
      r.targets.map((x) => x.id),
      ['dedup_c10_new_share', 'dedup_c10_time_vs_local'],
    );
  },
);

test.serial(
  'bench restore: criu restore and a read from local disk, the writing mount and a cold mount',
  async (t) => {
    const r = await bench(t, 'restore', ['--size', '24MiB']);
    const rows = r.results.rows as { operation: string; source: string; bytes: number; seconds: number }[];
    const keys = rows.map((x) => `${x.operation} ${x.source}`).sort();
    const expected = ['criu-restore', 'sequential-read'].flatMap((op) =>
      ['local-cold', 'local-warm', 'mount-cold', 'mount-warm'].map((s) => `${op} ${s}`),
    );
    t.deepEqual(keys, expected.sort());
    t.true(rows.every((x) => x.bytes > 20 * 1024 * 1024 && x.seconds > 0));
    t.is(r.targets[0]?.id, 'restore_cold_vs_local');
    t.true(r.targets[0]?.value !== null);
  },
);

test.serial(
  'bench failover: the job resumes on the other worker from a checkpoint after kill -9',
  async (t) => {
    const r = await bench(t, 'failover', [
      '--intervals',
      '2s',
      '--kind',
      'process',
      '--heartbeat-timeout',
      '3s',
    ]);
    const rows = r.results.rows as {
      fromSeq: number;
      fromWorker: string;
      toWorker: string;
      recoverySeconds: number;
      workLostSeconds: number;
      restartLostSeconds: number;
    }[];
    t.is(rows.length, 1);
    const row = rows[0]!;
    t.true(row.fromSeq >= 2, 'restored from a checkpoint, not restarted');
    t.not(row.toWorker, row.fromWorker);
    t.true(row.recoverySeconds > 0);
    t.true(row.workLostSeconds < row.restartLostSeconds, 'the checkpoint saved work');
  },
);

test.serial('bench metadata: lookups and commits at a small index', async (t) => {
  const r = await bench(t, 'metadata', [
    '--chunks',
    '5000',
    '--batch',
    '64,1024',
    '--in-flight',
    '1,2',
    '--seconds',
    '0.3',
  ]);
  t.is(r.results.chunks, 5000);
  t.is(r.results.restart.chunksAfterRestart, 5000);
  t.is((r.results.lookups as unknown[]).length, 5);
  t.is(r.targets[0]?.id, 'metadata_lookups_per_second');
});

test('bad benchmark flags: one line and exit 2, nothing started', async (t) => {
  for (const args of [
    ['dedup', '--change', '0'],
    ['dedup', '--chunkers', 'fastcdc:15k'],
    ['write', '--replicas', '0'],
    ['write', '--sync-replicas', 'some'],
    ['write', '--replicas', '1', '--sync-replicas', '2'],
    ['write', '--write-modes', 'async'],
    ['small', '--files', '0'],
    ['failover', '--intervals', 'soon'],
    ['metadata', '--chunks', 'many'],
    ['all', '--only', 'speed'],
  ]) {
    const r = await runCli(['bench', ...args], env);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, /^stdchk: .+\n$/, args.join(' '));
  }
});
