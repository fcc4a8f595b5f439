import test from 'ava';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { Scheduler } from '../../src/scheduler/scheduler.ts';
import type { JobFiles } from '../../src/scheduler/job-files.ts';
import { MemorySchedulerStore } from '../../src/scheduler/store.ts';
import { silentLogger } from '../../src/logging/index.ts';
import { schedulerMetrics } from '../../src/metrics/scheduler.ts';
import { counterFrom, daemonRegistry, gaugeFrom, metricsRoutes } from '../../src/metrics/index.ts';
import { checkHttpListen, startHttpListener } from '../../src/metrics/http.ts';
import type { HttpListener } from '../../src/metrics/http.ts';
import { makeCa, makeNodeCert } from '../../src/certs/index.ts';
import type { TlsMaterial } from '../../src/rpc/credentials.ts';
import { PACKAGE_ROOT } from '../../src/config/package-root.ts';

/** The value of one sample in Prometheus text, e.g. sample(text, 'x_total{result="ok"}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const listeners: HttpListener[] = [];
test.after.always(async () => {
  await Promise.all(listeners.map((l) => l.stop()));
});

class NoFiles implements JobFiles {
  async readLog() {
    return { data: Buffer.alloc(0), size: 0 };
  }
  async removeCheckpoint() {}
  async close() {}
}

test('scheduler metrics follow checkpoints, a worker loss and the failover that follows', async (t) => {
  let now = 1_000_000;
  const registry = new Registry();
  const metrics = schedulerMetrics(registry, () => now);
  const s = await Scheduler.open({
    store: new MemorySchedulerStore(),
    files: new NoFiles(),
    logger: silentLogger,
    heartbeatTimeoutMs: 10_000,
    now: () => now,
    monotonicNow: () => now,
    events: metrics.events,
  });
  metrics.attach(s);
  const reg = (id: string) => ({
    workerId: id,
    incarnation: `${id}-1`,
    host: id,
    slots: 1,
    kinds: ['process'],
  });
  await s.registerWorker(reg('w1'));
  const job = await s.submit(
    JSON.stringify({ name: 'c', kind: 'process', args: ['true'], checkpoint: { interval: '5s', keep: 2 } }),
  );
  await s.reportStarted('w1', job.id, 1, 0, 0.2);
  const report = { workerId: 'w1', jobId: job.id, epoch: 1, error: '' };
  for (const [seconds, bytes, newBytes] of [
    [1.5, 8 << 20, 8 << 20],
    [0.5, 8 << 20, 1 << 20],
  ] as const) {
    const seq = await s.beginCheckpoint('w1', job.id, 1);
    await s.reportCheckpoint({ ...report, seq, ok: true, seconds, bytes, newBytes });
  }
  const failed = await s.beginCheckpoint('w1', job.id, 1);
  await s.reportCheckpoint({
    ...report,
    seq: failed,
    ok: false,
    error: 'dump failed',
    seconds: 0,
    bytes: 0,
    newBytes: 0,
  });

  let text = await registry.metrics();
  t.is(sample(text, 'stdchk_scheduler_checkpoints_total{result="ok"}'), 2);
  t.is(sample(text, 'stdchk_scheduler_checkpoints_total{result="failed"}'), 1);
  t.is(sample(text, 'stdchk_scheduler_checkpoint_seconds_sum'), 2);
  t.is(sample(text, 'stdchk_scheduler_checkpoint_size_bytes_sum'), 16 << 20);
  t.is(sample(text, 'stdchk_scheduler_checkpoint_new_bytes_sum'), 9 << 20);
  t.is(sample(text, 'stdchk_scheduler_jobs{state="running"}'), 1);
  t.is(sample(text, 'stdchk_scheduler_jobs{state="queued"}'), 0);
  t.is(sample(text, 'stdchk_scheduler_workers{state="alive"}'), 1);
  t.is(sample(text, 'stdchk_scheduler_restores_total{kind="restore"}'), 0, 'a first start is no restore');

  // w1 goes silent; w2 keeps heartbeating. After the timeout the job moves to w2, which
  // restores it 3 s after the loss was declared.
  await s.registerWorker(reg('w2'));
  now += 6_000;
  await s.heartbeat('w2', 'w2-1', []);
  now += 5_000;
  await s.heartbeat('w2', 'w2-1', []);
  await s.tick();
  t.is(s.get(job.id).worker, 'w2');
  text = await registry.metrics();
  t.is(sample(text, 'stdchk_scheduler_failovers_total'), 1);
  t.is(sample(text, 'stdchk_scheduler_workers{state="lost"}'), 1);
  t.is(sample(text, 'stdchk_scheduler_worker_failures'), 1);
  t.is(sample(text, 'stdchk_scheduler_jobs{state="restoring"}'), 1);
  now += 3_000;
  await s.reportStarted('w2', job.id, 2, 2, 0.75);
  text = await registry.metrics();
  t.is(sample(text, 'stdchk_scheduler_restores_total{kind="restore"}'), 1);
  t.is(sample(text, 'stdchk_scheduler_restore_seconds_sum{kind="restore"}'), 0.75);
  t.is(sample(text, 'stdchk_scheduler_failover_seconds_count'), 1);
  t.is(sample(text, 'stdchk_scheduler_failover_seconds_sum'), 3, 'from the loss to running again');
  await s.close();
});

test('gauges and counters read at scrape time; every daemon says who it is', async (t) => {
  const registry = daemonRegistry('benefactor', '9.9.9');
  let level = 3;
  let total = 10;
  gaugeFrom(registry, 'stdchk_test_level', 'a level', () => level);
  counterFrom(registry, 'stdchk_test_things_total', 'things', () => [[{ kind: 'a' }, total]], ['kind']);
  let text = await registry.metrics();
  t.is(sample(text, 'stdchk_test_level'), 3);
  t.is(sample(text, 'stdchk_test_things_total{kind="a"}'), 10);
  t.is(sample(text, 'stdchk_build_info{role="benefactor",version="9.9.9"}'), 1);
  t.truthy(sample(text, 'process_cpu_seconds_total') !== undefined, 'process metrics included');
  level = 1;
  total = 12;
  text = await registry.metrics();
  t.is(sample(text, 'stdchk_test_level'), 1);
  t.is(sample(text, 'stdchk_test_things_total{kind="a"}'), 12);
});

test('the listener serves /metrics and /healthz on loopback, read-only', async (t) => {
  const registry = daemonRegistry('mount');
  let healthy = true;
  const l = await startHttpListener({
    listen: '127.0.0.1:0',
    routes: metricsRoutes(registry, () => ({ ok: healthy, detail: healthy ? 'mounted' : 'not mounted' })),
    logger: silentLogger,
    flag: '--metrics-listen',
  });
  listeners.push(l);
  t.is(l.scheme, 'http');
  const base = `http://${l.address}`;
  const m = await fetch(`${base}/metrics`);
  t.is(m.status, 200);
  t.regex(m.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  t.regex(await m.text(), /stdchk_build_info\{role="mount"/);
  let h = await fetch(`${base}/healthz`);
  t.is(h.status, 200);
  t.like(await h.json(), { ok: true, detail: 'mounted' });
  healthy = false;
  h = await fetch(`${base}/healthz`);
  t.is(h.status, 503, 'an unhealthy daemon answers 503, for probes');
  t.like(await h.json(), { ok: false });
  t.is((await fetch(`${base}/other`)).status, 404);
  const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
  t.is(post.status, 405);
  t.is(post.headers.get('allow'), 'GET, HEAD');
});

test('beyond loopback a listener needs the cluster TLS; clients must show a certificate of the cluster CA', async (t) => {
  t.throws(() => checkHttpListen('0.0.0.0:9100', undefined, '--metrics-listen'), {
    message: /--metrics-listen 0\.0\.0\.0:9100 is beyond loopback: it needs the cluster's TLS/,
  });
  t.throws(() => checkHttpListen('9100', undefined, '--metrics-listen'), {
    message: '--metrics-listen must be HOST:PORT, not "9100"',
  });
  t.notThrows(() => checkHttpListen('[::1]:0', undefined, '--http-listen'));
  await t.throwsAsync(
    startHttpListener({ listen: '0.0.0.0:0', routes: {}, logger: silentLogger, flag: '--http-listen' }),
    { message: /beyond loopback/ },
  );

  const ip = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  if (!ip) {
    t.log('this machine has no non-loopback IPv4 address: the TLS half is not run');
    return;
  }
  const ca = await makeCa({ name: 'metrics test CA' });
  const node = await makeNodeCert(ca, { name: 'node', sans: [{ type: 'ip', value: ip }] });
  const tls: TlsMaterial = {
    files: { ca: '', cert: '', key: '' },
    ca: Buffer.from(ca.cert),
    cert: Buffer.from(node.cert),
    key: Buffer.from(node.key),
    name: 'node',
    notAfter: new Date(Date.now() + 86_400_000),
  };
  const registry = daemonRegistry('manager');
  const l = await startHttpListener({
    listen: `${ip}:0`,
    routes: metricsRoutes(registry),
    tls,
    logger: silentLogger,
    flag: '--metrics-listen',
  });
  listeners.push(l);
  t.is(l.scheme, 'https');
  const get = (opts: https.RequestOptions) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.get(`https://${l.address}/metrics`, { ca: ca.cert, ...opts }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
    });
  const client = await makeNodeCert(ca, { name: 'prometheus', sans: [{ type: 'dns', value: 'localhost' }] });
  const ok = await get({ cert: client.cert, key: client.key });
  t.is(ok.status, 200);
  t.regex(ok.body, /stdchk_build_info\{role="manager"/);
  await t.throwsAsync(get({}), undefined, 'no client certificate: refused during the handshake');
  const other = await makeCa({ name: 'another cluster' });
  const foreign = await makeNodeCert(other, {
    name: 'intruder',
    sans: [{ type: 'dns', value: 'localhost' }],
  });
  await t.throwsAsync(get({ cert: foreign.cert, key: foreign.key }), undefined, 'a foreign CA: refused');
});

test('the dashboard: its page, script and JSON; a storage it cannot read is shown as such, not as an error page', async (t) => {
  const { dashboardRoutes } = await import('../../src/dashboard/index.ts');
  const l = await startHttpListener({
    listen: '127.0.0.1:0',
    routes: dashboardRoutes({
      servedBy: 'manager',
      storage: async () => {
        throw new Error('manager unreachable');
      },
    }),
    logger: silentLogger,
    flag: '--http-listen',
  });
  listeners.push(l);
  const base = `http://${l.address}`;
  const page = await fetch(`${base}/`);
  t.is(page.status, 200);
  t.regex(page.headers.get('content-security-policy') ?? '', /script-src 'self';/);
  t.regex(await page.text(), /<script src="dashboard\.js" defer><\/script>/);
  t.is((await fetch(`${base}/dashboard.js`)).headers.get('content-type'), 'text/javascript; charset=utf-8');
  const grid = (await (await fetch(`${base}/api/grid`)).json()) as Record<string, unknown>;
  t.like(grid, {
    servedBy: 'manager',
    scheduler: null,
    storage: { ok: false, error: 'manager unreachable' },
  });
});

/** Every stdchk_ family each daemon registers (names only: nothing is collected). */
async function allFamilies(): Promise<string[]> {
  const { managerMetrics } = await import('../../src/metrics/manager.ts');
  const { benefactorMetrics } = await import('../../src/metrics/benefactor.ts');
  const { mountMetrics } = await import('../../src/metrics/mount.ts');
  const { workerMetrics } = await import('../../src/metrics/worker.ts');
  const registries = ['manager', 'benefactor', 'mount', 'scheduler', 'worker'].map(() => new Registry());
  const [m, b, mo, s, w] = registries as [Registry, Registry, Registry, Registry, Registry];
  managerMetrics(m, {} as Parameters<typeof managerMetrics>[1]);
  benefactorMetrics(b);
  mountMetrics(mo);
  schedulerMetrics(s);
  workerMetrics(w);
  const names = new Set<string>();
  for (const r of registries) for (const metric of r.getMetricsAsArray()) names.add(metric.name);
  return [...names].sort();
}

test('every metric family follows the naming conventions and is documented in the README', async (t) => {
  const families = await allFamilies();
  t.true(families.length > 50, `${families.length} families`);
  const readme = readFileSync(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');
  for (const name of families) {
    t.regex(name, /^stdchk_[a-z]+_[a-z0-9_]+$/);
    t.notRegex(name, /_(ms|milliseconds|kb|mb|kib|mib)(_|$)/, `${name}: base units`);
    t.true(readme.includes('`' + name + '`') || readme.includes('`' + name + '{'), `${name} in the README`);
  }
});

test('the Grafana dashboard queries only families that exist', async (t) => {
  const families = new Set(await allFamilies());
  const dash = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'contrib/grafana/stdchk.json'), 'utf8')) as {
    panels: { targets?: { expr: string }[] }[];
  };
  const exprs = dash.panels.flatMap((p) => p.targets ?? []).map((x) => x.expr);
  t.true(exprs.length > 30);
  const used = new Set<string>();
  for (const e of exprs)
    for (const [name] of e.matchAll(/stdchk_[a-z0-9_]+/g)) used.add(name.replace(/_(bucket|sum|count)$/, ''));
  for (const name of used) t.true(families.has(name), `${name} (used by the Grafana dashboard) exists`);
});
