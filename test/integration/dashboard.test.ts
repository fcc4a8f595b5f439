import test from 'ava';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import type { Browser, Page } from 'puppeteer-core';
import { cleanupAll, startGrid, tempDir, waitFor } from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import { busyboxTarball, runcContainers } from '../helpers/jobs.ts';
import { connectScheduler, unary } from '../../src/rpc/index.ts';
import type { SchedulerClient } from '../../src/rpc/index.ts';
import { PACKAGE_ROOT } from '../../src/config/package-root.ts';

// The dashboard as a person sees it: headless Chromium (the Debian package, driven by
// puppeteer-core; no browser download) opens the page of a one-machine grid running a
// container job: benefactor rows, the job's state, worker and checkpoints. Then a benefactor
// is killed (the page shows it lost within seconds) and the job's worker (the page shows the
// job restored on the other worker, on its timeline). No console errors throughout. The
// screenshot goes to $STDCHK_ARTIFACTS_DIR (default: the system temp folder); the README's
// docs/dashboard.png is one such screenshot (STDCHK_ARTIFACTS_DIR=docs).

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const IMAGE = 'images/busybox.tar';

let grid: LocalGrid;
let browser: Browser | undefined;
let client: SchedulerClient | undefined;

test.after.always(async () => {
  await browser?.close().catch(() => undefined);
  client?.close();
  await cleanupAll();
});

/** Console messages, page errors and failed requests: a person would see none of them. */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  return problems;
}

/** The text of the cells of one row, by the row's selector. */
function rowText(page: Page, selector: string): Promise<string[]> {
  return page.$$eval(`${selector} td`, (tds) => tds.map((td) => td.textContent ?? ''));
}

test('the dashboard shows benefactors, the job and its checkpoints, and follows a lost benefactor and a failover', async (t) => {
  if (!CHROMIUM) {
    t.log('chromium is not installed (scripts/setup.sh installs it): not run');
    t.pass();
    return;
  }
  if (process.getuid?.() !== 0) {
    t.log('needs root (FUSE mounts, runc)');
    t.pass();
    return;
  }
  t.timeout(240_000);
  const work = tempDir();
  grid = await startGrid({
    benefactors: 3,
    metrics: true,
    dashboard: 'scheduler',
    managerArgs: ['--heartbeat-timeout', '3s'],
  });
  await grid.startScheduler(['--heartbeat-timeout', '4s']);
  const workers = [await grid.startWorker(0), await grid.startWorker(1)];
  await grid.waitForWorkers(workers.map((w) => w.id));
  const first = workers[0]!.mount.mountpoint;
  mkdirSync(path.join(first, 'images'), { recursive: true });
  copyFileSync(busyboxTarball(work), path.join(first, IMAGE));
  await waitFor(
    'the image in every mount',
    async () => workers.every((w) => existsSync(path.join(w.mount.mountpoint, IMAGE))),
    30_000,
  );
  const spec = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'examples/counter-container.json'), 'utf8'));
  spec.rootfs = IMAGE;
  spec.checkpoint = { interval: '3s', keep: 3 };
  client = connectScheduler(grid.schedulerAddress, grid.credentials());
  const c = client;
  const job = await unary(c, 'submitJob', { specJson: JSON.stringify(spec) });
  const status = await waitFor(
    'two checkpoints of the job',
    async () => {
      const j = await unary(c, 'getJob', { id: job.id });
      return j.checkpoints.length >= 2 && j.state === 'running' ? j : undefined;
    },
    90_000,
  );
  const firstWorker = status.worker;
  const otherWorker = workers.find((w) => w.id !== firstWorker)!.id;

  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root cannot use Chromium's sandbox.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const problems = watchProblems(page);
  const url = `http://${await grid.dashboardAddress()}/?refresh=1000`;
  await page.goto(url, { waitUntil: 'networkidle0' });
  await page.waitForSelector(`tr[data-job="${job.id}"]`, { timeout: 10_000 });

  // What a person sees first: three benefactors alive, the job running on its worker, its checkpoints.
  t.is(await page.$eval('#health', (e) => e.textContent), 'ok');
  t.deepEqual(
    await page.$$eval('#benefactors tr[data-benefactor]', (rs) =>
      rs.map((r) => r.getAttribute('data-state')),
    ),
    ['alive', 'alive', 'alive'],
  );
  const jobRow = await rowText(page, `tr[data-job="${job.id}"]`);
  t.is(jobRow[1], 'counter');
  t.is(jobRow[2], 'container');
  t.regex(jobRow[3] ?? '', /^running/);
  t.is(jobRow[4], firstWorker);
  t.true(Number(jobRow[5]) >= 2, `checkpoints taken: ${jobRow[5]}`);
  const seqs = await page.$$eval(`[data-timeline="${job.id}"] tr[data-checkpoint]`, (rs) =>
    rs.map((r) => Number(r.getAttribute('data-checkpoint'))),
  );
  t.true(seqs.length >= 2, `checkpoint rows ${seqs.join(',')}`);
  t.is(
    await page.$$eval(`[data-timeline="${job.id}"] svg rect.cp`, (rs) => rs.length),
    seqs.length,
    'one bar per checkpoint on the timeline',
  );
  const cp = await rowText(page, `[data-timeline="${job.id}"] tr[data-checkpoint="${seqs[0]}"]`);
  t.regex(cp[2] ?? '', /\d( \w?i?B)/, `checkpoint size shown: ${cp[2]}`);
  t.regex(cp[5] ?? '', /^worker-\d$/);
  t.deepEqual(
    await page.$$eval('#workers tr[data-worker]', (rs) => rs.map((r) => r.getAttribute('data-state'))),
    ['alive', 'alive'],
  );

  // The scheduler's and the worker's own metrics agree (scraped as Prometheus would).
  const scrape = async (name: string) =>
    (await fetch(`http://${await grid.metricsAddress(name)}/metrics`)).text();
  t.regex(await scrape('scheduler'), /^stdchk_scheduler_jobs\{state="running"\} 1$/m);
  const okCheckpoints = /^stdchk_worker_checkpoints_total\{result="ok"\} (\d+)$/m.exec(
    await scrape(firstWorker),
  );
  t.true(Number(okCheckpoints?.[1]) >= 2, `worker checkpoints: ${okCheckpoints?.[1]}`);
  const health = await fetch(`http://${await grid.metricsAddress(firstWorker)}/healthz`);
  t.is(health.status, 200);
  t.like(await health.json(), { ok: true, id: firstWorker });

  // A benefactor dies: the page shows it lost within a few seconds (3 s heartbeat timeout, 1 s refresh).
  // The benefactor keeps its id in its store.
  const victim = readFileSync(path.join(grid.benefactorStore(1), 'benefactor.id'), 'utf8').trim();
  t.truthy(await page.$(`tr[data-benefactor="${victim}"][data-state="alive"]`));
  const killedAt = Date.now();
  await grid.kill(grid.benefactors[1]);
  await page.waitForSelector(`tr[data-benefactor="${victim}"][data-state="lost"]`, { timeout: 15_000 });
  const seenAfter = (Date.now() - killedAt) / 1000;
  t.log(`benefactor shown lost ${seenAfter.toFixed(1)} s after kill -9`);
  t.true(seenAfter < 10, `shown lost after ${seenAfter} s`);
  // Its chunks are one copy short until the manager has copied them again.
  await waitFor(
    'the health badge to leave "ok"',
    async () => (await page.$eval('#health', (e) => e.textContent)) === 'degraded',
    10_000,
    100,
  );

  // The job's worker is lost (kill -9 of the worker and its container): the job is restored on the
  // other worker from its newest checkpoint, and the timeline shows the restore.
  await grid.killWorker(workers.findIndex((w) => w.id === firstWorker));
  await page.waitForSelector(`tr[data-worker="${firstWorker}"][data-state="lost"]`, { timeout: 20_000 });
  await page.waitForSelector(`[data-timeline="${job.id}"] tr[data-restore]`, { timeout: 90_000 });
  await waitFor(
    'the job running again',
    async () => (await page.$eval(`tr[data-job="${job.id}"] td.state`, (e) => e.textContent)) === 'running',
    30_000,
  );
  const moved = await rowText(page, `tr[data-job="${job.id}"]`);
  t.is(moved[4], otherWorker, 'the job row names the new worker');
  t.is(moved[8], '1', 'one restore');
  const restore = await rowText(page, `[data-timeline="${job.id}"] tr[data-restore]`);
  t.regex(restore[0] ?? '', /^restore from #\d+$/);
  t.regex(restore[2] ?? '', new RegExp(`${firstWorker} → ${otherWorker}: worker ${firstWorker} lost`));
  t.is(await page.$$eval(`[data-timeline="${job.id}"] svg line.restore`, (ls) => ls.length), 1);
  // The scheduler's metrics count the same failover and restore.
  const sched = await scrape('scheduler');
  t.regex(sched, /^stdchk_scheduler_failovers_total 1$/m);
  t.regex(sched, /^stdchk_scheduler_restores_total\{kind="restore"\} 1$/m);
  t.regex(sched, /^stdchk_scheduler_failover_seconds_count 1$/m);
  t.regex(sched, /^stdchk_scheduler_workers\{state="lost"\} 1$/m);
  const restored = /^stdchk_worker_starts_total\{kind="restore"\} (\d+)$/m.exec(await scrape(otherWorker));
  t.is(restored?.[1], '1', 'the other worker restored it once');
  // Let a checkpoint or two land on the new worker for the picture.
  await waitFor(
    'a checkpoint on the new worker',
    async () =>
      (
        await page.$$eval(`[data-timeline="${job.id}"] tr[data-checkpoint] td:last-child`, (tds) =>
          tds.map((td) => td.textContent),
        )
      ).includes(otherWorker),
    30_000,
  );

  const dir = process.env.STDCHK_ARTIFACTS_DIR ?? path.join(os.tmpdir(), 'stdchk-artifacts');
  mkdirSync(dir, { recursive: true });
  const shot = path.join(dir, 'dashboard.png');
  await page.screenshot({ path: shot as `${string}.png`, fullPage: true });
  t.log(`screenshot: ${shot}`);
  t.deepEqual(problems, [], 'no console errors, failed requests or error responses');

  await unary(c, 'cancelJob', { id: job.id });
  await grid.stop();
  t.deepEqual(runcContainers(`stdchk-${firstWorker}-`), [], 'no container left');
});
