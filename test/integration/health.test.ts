import test from 'ava';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { cleanupAll, runCli, startGrid, statusJson, tempDir, waitFor, STDCHK_BIN } from '../helpers/grid.ts';
import { connectHealth } from '../../src/rpc/health.ts';
import { connectManager, unary } from '../../src/rpc/index.ts';
import type { HealthClient } from '../../src/generated/grpc/health/v1/Health.ts';
import type { HealthCheckResponse__Output } from '../../src/generated/grpc/health/v1/HealthCheckResponse.ts';

// The standard gRPC health service (grpc.health.v1) on the manager, benefactors and the
// scheduler, answered without the cluster credentials that every other call needs; and
// plain HTTP /healthz on the mount and the worker (--health-listen). Real processes.

test.after.always(cleanupAll);

function check(client: HealthClient, service: string): Promise<{ status?: string; code?: number }> {
  return new Promise((resolve) => {
    client.check({ service }, { deadline: new Date(Date.now() + 10_000) }, (err, res) =>
      resolve(err ? { code: err.code } : { status: (res as HealthCheckResponse__Output).status }),
    );
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function healthz(port: number): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

test('gRPC health: manager, benefactor and scheduler serve grpc.health.v1 without credentials; nothing else does', async (t) => {
  const grid = await startGrid({ benefactors: 1 });
  const scheduler = await grid.startScheduler();
  const benefactor = (await statusJson(grid.env())).benefactors[0]!.address;
  for (const [address, services] of [
    [grid.managerAddress, ['', 'stdchk.v1.Manager', 'stdchk.v1.Admin']],
    [benefactor, ['', 'stdchk.v1.Benefactor']],
    [scheduler, ['', 'stdchk.v1.Scheduler']],
  ] as const) {
    const client = connectHealth(address);
    for (const service of services)
      t.deepEqual(await check(client, service), { status: 'SERVING' }, `${address} ${service}`);
    t.deepEqual(await check(client, 'no.such.Service'), { code: grpc.status.NOT_FOUND });
    client.close();
  }
  // The exemption is the health service only: a manager call without the secret is refused.
  const bare = connectManager(grid.managerAddress, {});
  const refused = await unary(bare, 'status', {}).then(
    () => 'accepted',
    (e: { code?: string }) => e.code,
  );
  t.is(refused, 'UNAUTHENTICATED');
  bare.close();

  // Watch: SERVING now, NOT_SERVING when the manager stops.
  const client = connectHealth(grid.managerAddress);
  const seen: string[] = [];
  const call = client.watch({ service: '' });
  call.on('data', (r: HealthCheckResponse__Output) => seen.push(r.status));
  call.on('error', () => undefined);
  await waitFor('SERVING', async () => seen[0] === 'SERVING', 10_000);
  const m = grid.manager!;
  m.child.kill('SIGTERM');
  await m.exited;
  t.deepEqual(seen, ['SERVING', 'NOT_SERVING'], 'a watcher hears the manager go');
  client.close();
});

test('mount --health-listen: /healthz answers 200 while mounted, goes away with the mount; a bad address fails first', async (t) => {
  const grid = await startGrid({ benefactors: 1 });
  const bad = await runCli(['mount', path.join(tempDir(), 'mnt'), '--health-listen', 'nonsense'], grid.env());
  t.is(bad.code, 2);
  t.regex(bad.stderr, /^stdchk: --health-listen must be HOST:PORT, not "nonsense"\n$/);

  const port = await freePort();
  const mnt = path.join(tempDir(), 'mnt');
  const child = spawn(STDCHK_BIN, ['mount', mnt, '--health-listen', `127.0.0.1:${port}`], {
    env: { ...process.env, ...grid.env() },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  t.teardown(() => void child.kill('SIGKILL'));
  const ok = await waitFor(
    'the mount healthy',
    async () => {
      const h = await healthz(port);
      return h?.status === 200 ? h : undefined;
    },
    60_000,
  );
  t.like(ok.body, { status: 'ok', role: 'mount' });
  const missing = await fetch(`http://127.0.0.1:${port}/nope`);
  t.is(missing.status, 404);
  child.kill('SIGTERM');
  t.is(await exited, 0, err);
  t.is(await healthz(port), undefined, 'the listener closed with the daemon');
});

test('worker --health-listen: /healthz answers 200 while the worker runs', async (t) => {
  const grid = await startGrid({ benefactors: 1 });
  await grid.startScheduler();
  const port = await freePort();
  await grid.startWorker(0, ['--health-listen', `127.0.0.1:${port}`]);
  const ok = await waitFor(
    'the worker healthy',
    async () => {
      const h = await healthz(port);
      return h?.status === 200 ? h : undefined;
    },
    60_000,
  );
  t.like(ok.body, { status: 'ok', role: 'worker' });
});
