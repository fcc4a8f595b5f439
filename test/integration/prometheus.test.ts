import test from 'ava';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanupAll, startGrid, tempDir, waitFor, writeRandomFile } from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import { PrometheusServer, prometheusBinary } from '../helpers/prometheus.ts';
import { PACKAGE_ROOT } from '../../src/config/package-root.ts';
import type { Target } from '../helpers/prometheus.ts';

// A real Prometheus (Debian package) scrapes a one-machine grid: a manager, three benefactors and a
// mount, each with --metrics-listen. The tests query Prometheus's HTTP API, as a dashboard or an
// alert rule would, and run in order on one grid: data first, then a benefactor is killed.

const MiB = 1024 * 1024;
const SIZE = 8 * MiB;

test.after.always(async () => {
  await prom?.stop();
  await cleanupAll();
});

const bin = prometheusBinary();
let prom: PrometheusServer | undefined;
let grid: LocalGrid;
let mountpoint: string;
let work: string;

test.before(async () => {
  if (!bin) return;
  work = tempDir();
  grid = await startGrid({ benefactors: 3, metrics: true, managerArgs: ['--heartbeat-timeout', '3s'] });
  mountpoint = path.join(grid.dir, 'mnt');
  await grid.mount(mountpoint, { replicas: 2 });
  const daemons: [string, string][] = [
    ['manager', 'manager'],
    ['benefactor-0', 'benefactor'],
    ['benefactor-1', 'benefactor'],
    ['benefactor-2', 'benefactor'],
    ['mount-0', 'mount'],
  ];
  const targets: Target[] = [];
  for (const [daemon, role] of daemons)
    targets.push({ daemon, role, address: await grid.metricsAddress(daemon) });
  prom = await PrometheusServer.start(bin, work, targets);
});

/** Waits until the query's single value satisfies `ok` (Prometheus scrapes every second). */
async function until(
  p: PrometheusServer,
  promql: string,
  ok: (v: number) => boolean,
  what: string,
): Promise<number> {
  let last: number | undefined;
  try {
    return await waitFor(
      what,
      async () => {
        last = await p.value(promql);
        return last !== undefined && ok(last) ? { v: last } : undefined;
      },
      30_000,
    ).then((r) => r.v);
  } catch (e) {
    throw new Error(`${(e as Error).message}; last value of ${promql}: ${last}`);
  }
}

test.serial(
  'Prometheus scrapes every daemon; stored bytes grow after a write and dedup keeps them there',
  async (t) => {
    if (!prom) {
      t.log('prometheus is not installed (scripts/setup.sh installs it): not run');
      t.pass();
      return;
    }
    const p = prom;
    await until(p, 'count(up{job="stdchk"} == 1)', (v) => v === 5, 'all five daemons up');
    const roles = await p.query('stdchk_build_info');
    t.deepEqual(roles.map((r) => r.metric.role).sort(), [
      'benefactor',
      'benefactor',
      'benefactor',
      'manager',
      'mount',
    ]);
    t.is(await until(p, 'stdchk_manager_benefactors{state="alive"}', (v) => v === 3, '3 alive'), 3);
    t.is(await p.value('stdchk_manager_stored_bytes'), 0, 'nothing stored yet');
    t.is(await p.value('sum(stdchk_benefactor_capacity_bytes)'), 3 * 8 * 1024 * MiB);

    // A file written through the mount (FUSE) in one large write, as a checkpoint dump would.
    const file = path.join(work, 'data.bin');
    writeRandomFile(file, SIZE);
    writeFileSync(path.join(mountpoint, 'data.bin'), readFileSync(file));
    const stored = await until(p, 'stdchk_manager_stored_bytes', (v) => v >= SIZE, 'stored bytes to grow');
    t.true(stored >= SIZE && stored < SIZE * 1.01, `stored ${stored} for ${SIZE} random bytes`);
    t.is(await until(p, 'stdchk_manager_files', (v) => v === 1, 'one file'), 1);
    t.is(await p.value('stdchk_manager_logical_bytes'), SIZE);
    // Two replicas of every chunk on the benefactors' disks.
    await until(
      p,
      'sum(stdchk_benefactor_written_bytes_total)',
      (v) => v >= 2 * SIZE,
      'benefactors wrote 2 replicas',
    );
    t.true((await p.value('sum(stdchk_benefactor_used_bytes)'))! >= 2 * SIZE);
    t.true((await p.value('sum(stdchk_benefactor_fsync_seconds_count)'))! > 0, 'fsync latency observed');
    // The mount's view: bytes, write sizes, FUSE operation latency by operation.
    await until(p, 'stdchk_mount_written_bytes_total', (v) => v === SIZE, 'the mount counted the bytes');
    t.true((await p.value('stdchk_fuse_operation_seconds_count{op="write"}'))! >= SIZE / (128 * 1024));
    // release follows close(2) asynchronously (the kernel does not wait for it).
    await until(p, 'stdchk_fuse_operation_seconds_count{op="release"}', (v) => v === 1, 'one release');
    // One large write(2) reaches the file system as 128 KiB requests (big_writes, max_write).
    const small = await p.value('stdchk_mount_write_size_bytes_bucket{le="65536"}');
    const all = await p.value('stdchk_mount_write_size_bytes_count');
    t.true(
      all !== undefined && small !== undefined && small <= all / 10,
      `${small} of ${all} writes of 64 KiB or less`,
    );
    // RPC latency by method, on the manager and the benefactors.
    const methods = (await p.query('sum by (method) (stdchk_rpc_server_seconds_count{role="manager"})')).map(
      (r) => r.metric.method,
    );
    // The write-back mount commits in batches (CommitVersions).
    for (const m of ['Manager/PrepareChunks', 'Manager/CommitVersions', 'Manager/Heartbeat'])
      t.true(methods.includes(m), `${m} in ${methods.join(', ')}`);
    t.true((await p.value('stdchk_manager_dedup_lookups_total{result="miss"}'))! > 0);
    t.is(await p.value('stdchk_manager_under_replicated_chunks'), 0);

    // The same bytes again under another name: dedup finds every chunk, nothing more is stored.
    const hitsBefore = (await p.value('stdchk_manager_dedup_lookups_total{result="hit"}'))!;
    copyFileSync(file, path.join(mountpoint, 'copy.bin'));
    await until(p, 'stdchk_manager_files', (v) => v === 2, 'two files');
    await until(p, 'stdchk_manager_logical_bytes', (v) => v === 2 * SIZE, 'logical bytes doubled');
    await until(p, 'stdchk_manager_dedup_lookups_total{result="hit"}', (v) => v > hitsBefore, 'dedup hits');
    t.is(await p.value('stdchk_manager_stored_bytes'), stored, 'stored bytes unchanged by a duplicate');
    // Read back through the mount (the read counter and, since the data is not cached, fetches).
    t.deepEqual(readFileSync(path.join(mountpoint, 'copy.bin')), readFileSync(file));
    await until(p, 'stdchk_mount_read_bytes_total', (v) => v >= SIZE, 'the mount counted the reads');
  },
);

test.serial(
  'every query of the Grafana dashboard (contrib/grafana) is valid PromQL and most have data',
  async (t) => {
    if (!prom) {
      t.log('prometheus is not installed (scripts/setup.sh installs it): not run');
      t.pass();
      return;
    }
    const dash = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'contrib/grafana/stdchk.json'), 'utf8')) as {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    let withData = 0;
    let total = 0;
    for (const panel of dash.panels) {
      for (const { expr } of panel.targets ?? []) {
        const q = expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '5m');
        const r = await prom.query(q); // throws on a query Prometheus refuses
        total++;
        if (r.length > 0) withData++;
      }
    }
    // Scheduler and worker panels have no data here (no scheduler in this grid).
    t.log(`${withData} of ${total} queries have data on a storage-only grid`);
    t.true(withData >= total / 2);
  },
);

test.serial('a benefactor killed with -9: its `up` goes to 0 and the manager counts it lost', async (t) => {
  if (!prom) {
    t.log('prometheus is not installed (scripts/setup.sh installs it): not run');
    t.pass();
    return;
  }
  const p = prom;
  await grid.kill(grid.benefactors[1]);
  await until(p, 'up{daemon="benefactor-1"}', (v) => v === 0, 'benefactor-1 down');
  t.is(await p.value('count(up{job="stdchk"} == 1)'), 4, 'the others are still up');
  // After the manager's heartbeat timeout (3 s here).
  await until(p, 'stdchk_manager_benefactors{state="lost"}', (v) => v === 1, 'benefactor lost');
  t.is(await p.value('stdchk_manager_benefactors{state="alive"}'), 2);
  // Its chunks are copied again from the survivors: under-replicated falls back to 0.
  await until(p, 'stdchk_manager_repairs_queued_total', (v) => v > 0, 'repairs queued');
  await until(p, 'stdchk_manager_under_replicated_chunks', (v) => v === 0, 'replication restored');
});

test.serial('the mount answers /healthz: 200 while mounted, 503 once its mount is gone', async (t) => {
  if (!prom) {
    t.log('prometheus is not installed (scripts/setup.sh installs it): not run');
    t.pass();
    return;
  }
  const url = `http://${await grid.metricsAddress('mount-0')}/healthz`;
  const ok = await fetch(url);
  t.is(ok.status, 200);
  t.like(await ok.json(), { ok: true, detail: 'mounted', mountpoint });
  // Someone unmounts it behind the daemon's back: a probe must see it.
  execFileSync('umount', ['-l', mountpoint]);
  const gone = await fetch(url);
  t.is(gone.status, 503);
  t.like(await gone.json(), { ok: false, detail: `not mounted at ${mountpoint}` });
});
