import test from 'ava';
import path from 'node:path';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import {
  cleanupAll,
  statusJson,
  runCli,
  sha256File,
  startGrid,
  tempDir,
  waitFor,
  writeRandomFile,
} from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import { makeCa, makeNodeCert } from '../../src/certs/index.ts';
import type { PemPair } from '../../src/certs/index.ts';
import { bind, createServer, protos, shutdown, unary } from '../../src/rpc/index.ts';
import { channelCredentials, loadTls } from '../../src/rpc/credentials.ts';
import { callRaw, rawClient, serviceMethods } from '../helpers/fuzz.ts';
import type { FuzzMethod, ServiceName } from '../helpers/fuzz.ts';
import type { StdchkError } from '../../src/errors/index.ts';
import { silentLogger } from '../../src/logging/index.ts';

// A whole grid (manager, 3 benefactors, mounts, a scheduler and a worker, CLI clients) on mutual TLS only: no shared secret.
// The tests run in order on one grid: round trips, refusals, still serving, then a benefactor is killed.

const MiB = 1024 * 1024;

test.after.always(cleanupAll);

let grid: LocalGrid;
let env: Record<string, string>;
let work: string;
const sums = new Map<string, string>();

test.before(async () => {
  // Made first so it is removed last, after the grid (and its mount) stopped.
  work = tempDir();
  grid = await startGrid({
    benefactors: 3,
    secret: false,
    tls: true,
    managerArgs: ['--heartbeat-timeout', '3s'],
  });
  env = grid.env();
});

interface LogLine {
  msg: string;
  peer?: string | null;
  reason?: string;
  [k: string]: unknown;
}

function logLines(name: string): LogLine[] {
  return readFileSync(path.join(grid.logDir, `${name}.log`), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

const refusals = (name: string) => logLines(name).filter((l) => l.msg === 'refused TLS connection');

const status = () => statusJson(env);

/** Files for a certificate pair, written under the test's folder. */
function writePair(name: string, ca: PemPair, pair: PemPair) {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  const files = {
    ca: path.join(dir, 'ca.crt'),
    cert: path.join(dir, 'node.crt'),
    key: path.join(dir, 'node.key'),
  };
  writeFileSync(files.ca, ca.cert);
  writeFileSync(files.cert, pair.cert);
  writeFileSync(files.key, pair.key, { mode: 0o600 });
  return files;
}

const tlsFlags = (f: { ca: string; cert: string; key: string }) => [
  '--tls-ca',
  f.ca,
  '--tls-cert',
  f.cert,
  '--tls-key',
  f.key,
];

/** One Status call to the manager with raw gRPC credentials (bypassing stdchk's local checks). */
async function probe(creds: grpc.ChannelCredentials): Promise<StdchkError | undefined> {
  const client = new (protos().Manager)(grid.managerAddress, creds);
  try {
    await unary(client, 'status', {}, { timeoutMs: 10_000 });
    return undefined;
  } catch (e) {
    return e as StdchkError;
  } finally {
    client.close();
  }
}

test.serial('put + get at --replicas 2 and a mount, all over mutual TLS without a secret', async (t) => {
  t.false('STDCHK_SECRET_FILE' in env, 'the grid has no secret');
  const f = path.join(work, 'data.bin');
  writeRandomFile(f, 24 * MiB);
  const sum = await sha256File(f);
  sums.set('/data.bin', sum);
  const put = await runCli(['put', f, '/data.bin', '--replicas', '2', '--json'], env);
  t.is(put.code, 0, put.stderr);
  t.is(JSON.parse(put.stdout).replicas, 2);
  const back = path.join(work, 'data.back');
  const get = await runCli(['get', '/data.bin', back], env);
  t.is(get.code, 0, get.stderr);
  t.is(await sha256File(back), sum);

  // The mount is a TLS client of the manager and of every benefactor.
  const mount = await grid.mount(path.join(work, 'mnt'), { replicas: 2 });
  const viaMount = path.join(work, 'mount.bin');
  writeRandomFile(viaMount, 8 * MiB);
  const sum2 = await sha256File(viaMount);
  sums.set('/mount.bin', sum2);
  copyFileSync(viaMount, path.join(mount.mountpoint, 'mount.bin'));
  const back2 = path.join(work, 'mount.back');
  const get2 = await runCli(['get', '/mount.bin', back2], env);
  t.is(get2.code, 0, get2.stderr);
  t.is(await sha256File(back2), sum2);
  t.is(await sha256File(path.join(mount.mountpoint, 'data.bin')), sum);
  t.is((await status()).underReplicatedChunks, 0);
});

test.serial(
  'a client with a certificate from another CA gets one clear line and a non-zero exit',
  async (t) => {
    const otherCa = await makeCa({ name: 'another cluster' });
    const foreign = writePair(
      'foreign',
      otherCa,
      await makeNodeCert(otherCa, { name: 'intruder', sans: [{ type: 'ip', value: '127.0.0.1' }] }),
    );
    const r = await runCli(['ls', '/', '--manager', grid.managerAddress, ...tlsFlags(foreign)]);
    t.is(r.code, 1);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    t.regex(
      r.stderr,
      /^stdchk: TLS handshake failed: the server's certificate is not signed by the CA in --tls-ca/,
    );

    // The same foreign certificate next to the cluster's CA: refused before any connection.
    const mixed = { ...foreign, ca: grid.tlsFiles('client').ca };
    const r2 = await runCli(['ls', '/', '--manager', grid.managerAddress, ...tlsFlags(mixed)]);
    t.is(r2.code, 2);
    t.regex(r2.stderr, /^stdchk: the certificate .* \(intruder\) is not signed by the CA in /);
    t.is(r2.stderr.trim().split('\n').length, 1);

    // The manager saw the foreign client give up on its certificate.
    await waitFor('the refusal in the manager log', async () => refusals('manager').length > 0, 10_000);
    const line = refusals('manager')[0] as LogLine;
    t.regex(String(line.peer), /^127\.0\.0\.1:\d+$/);
    t.regex(String(line.reason), /closed the connection during the TLS handshake/);
  },
);

test.serial(
  'connections without valid credentials are refused by the manager and logged with the peer',
  async (t) => {
    const before = refusals('manager').length;
    const ca = readFileSync(grid.tlsFiles('client').ca);
    const clusterCa: PemPair = {
      cert: readFileSync(path.join(grid.tlsDir, 'ca.crt'), 'utf8'),
      key: readFileSync(path.join(grid.tlsDir, 'ca.key'), 'utf8'),
    };
    const otherCa = await makeCa({ name: 'another cluster' });
    const foreign = await makeNodeCert(otherCa, {
      name: 'intruder',
      sans: [{ type: 'ip', value: '127.0.0.1' }],
    });
    const expired = await makeNodeCert(clusterCa, {
      name: 'old-node',
      sans: [{ type: 'ip', value: '127.0.0.1' }],
      notBefore: new Date(Date.now() - 30 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });

    const noCert = await probe(grpc.credentials.createSsl(ca));
    t.is(noCert?.code, 'UNAUTHENTICATED');
    t.regex(noCert?.message ?? '', /requires a client certificate/);
    const foreignCert = await probe(
      grpc.credentials.createSsl(ca, Buffer.from(foreign.key), Buffer.from(foreign.cert)),
    );
    t.truthy(foreignCert, 'a certificate from another CA is refused');
    const expiredCert = await probe(
      grpc.credentials.createSsl(ca, Buffer.from(expired.key), Buffer.from(expired.cert)),
    );
    t.truthy(expiredCert, 'an expired certificate is refused');
    const plain = await probe(grpc.credentials.createInsecure());
    t.is(plain?.code, 'UNAVAILABLE', 'a plain-text client gets no answer');

    // A benefactor without a certificate (it needs --insecure to start at all) never registers.
    const store = path.join(work, 'rogue-store');
    const rogue = runCli([
      'benefactor',
      '--manager',
      grid.managerAddress,
      '--store',
      store,
      '--capacity',
      '1GiB',
      '--insecure',
    ]);
    const reasons = () =>
      refusals('manager')
        .slice(before)
        .map((l) => String(l.reason));
    await waitFor(
      'every refusal in the manager log',
      async () => {
        const r = reasons();
        return (
          r.some((x) => /peer did not return a certificate/.test(x)) &&
          r.some((x) => /client certificate refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE/.test(x)) &&
          r.some((x) => /client certificate refused: CERT_HAS_EXPIRED/.test(x)) &&
          r.filter((x) => /wrong version number/.test(x)).length >= 2
        );
      },
      20_000,
    );
    for (const l of refusals('manager').slice(before)) t.regex(String(l.peer), /^127\.0\.0\.1:\d+$/);
    const s = await status();
    t.is(s.benefactors.length, 3, 'the benefactor without a certificate did not register');
    rogue.kill();
    const rr = await rogue;
    t.regex(
      rr.stderr,
      /manager call failed; retrying/,
      'the rogue benefactor logged its failed registration',
    );
  },
);

test.serial('the services keep serving valid clients after the refusals', async (t) => {
  const s = await status();
  t.is(s.benefactors.filter((b: { alive: boolean }) => b.alive).length, 3);
  for (const [remote, sum] of sums) {
    const out = path.join(work, `again-${remote.slice(1)}`);
    const r = await runCli(['get', remote, out], env);
    t.is(r.code, 0, r.stderr);
    t.is(await sha256File(out), sum);
  }
});

test.serial(
  'over mutual TLS, malformed requests get INVALID_ARGUMENT and oversized ones RESOURCE_EXHAUSTED',
  async (t) => {
    // The server guard (server-guard.ts) runs on TLS servers too, also on the benefactor's
    // methods whose replies are pre-encoded.
    const creds = channelCredentials(loadTls(grid.tlsFiles('client')));
    const benefactor = ((await status()).benefactors as { address: string; alive: boolean }[]).find(
      (b) => b.alive,
    )?.address as string;
    const method = (service: ServiceName, name: string) =>
      serviceMethods(service).find((m) => m.name === name) as FuzzMethod;
    const send = async (service: ServiceName, address: string, name: string, payloads: Buffer[]) => {
      const client = rawClient(service, address, creds);
      try {
        return await callRaw(client, method(service, name), payloads, { deadlineMs: 60_000 });
      } finally {
        client.close();
      }
    };
    const store = method('Benefactor', 'StoreChunks');
    const BAD = grpc.status.INVALID_ARGUMENT;
    const BIG = grpc.status.RESOURCE_EXHAUSTED;
    const cases: [ServiceName, string, string, Buffer[], grpc.status, RegExp][] = [
      ['Manager', grid.managerAddress, 'Stat', [Buffer.from([0x17, 0x01, 0x02])], BAD, /malformed request/],
      [
        'Manager',
        grid.managerAddress,
        'Stat',
        [method('Manager', 'Stat').encode({ path: '/a/../b' })],
        BAD,
        /\.\./,
      ],
      [
        'Benefactor',
        benefactor,
        'StoreChunks',
        [store.encode({ seq: 1 }), Buffer.from([0xff, 0xff, 0xff])],
        BAD,
        /malformed request/,
      ],
      [
        'Benefactor',
        benefactor,
        'ReadChunks',
        [method('Benefactor', 'ReadChunks').encode({ hashes: Buffer.alloc(33) })],
        BAD,
        /multiple of 32/,
      ],
      ['Manager', grid.managerAddress, 'CommitVersion', [Buffer.alloc(100 * MiB)], BIG, /larger than max/],
    ];
    for (const [service, address, name, payloads, code, re] of cases) {
      const o = await send(service, address, name, payloads);
      t.is(o.code, code, `${service}.${name}: ${grpc.status[o.code]} ${o.details}`);
      t.regex(o.details, re);
    }
    // Valid calls still work through the guard, pre-encoded replies included.
    const stat = await send('Manager', grid.managerAddress, 'Stat', [
      method('Manager', 'Stat').encode({ path: '/data.bin' }),
    ]);
    t.is(stat.code, grpc.status.OK);
    const read = await send('Benefactor', benefactor, 'ReadChunks', [
      method('Benefactor', 'ReadChunks').encode({ hashes: Buffer.alloc(32, 7) }),
    ]);
    t.is(read.code, grpc.status.OK);
    const reply = method('Benefactor', 'ReadChunks').decodeReply(read.replies[0] as Buffer);
    t.true(Buffer.from(reply.missing).equals(Buffer.alloc(32, 7)), 'an unknown hash comes back as missing');
  },
);

test.serial('a client refuses a server whose certificate has no SAN for the address dialled', async (t) => {
  const clusterCa: PemPair = {
    cert: readFileSync(path.join(grid.tlsDir, 'ca.crt'), 'utf8'),
    key: readFileSync(path.join(grid.tlsDir, 'ca.key'), 'utf8'),
  };
  const wrong = writePair(
    'wrong-san',
    clusterCa,
    await makeNodeCert(clusterCa, { name: 'elsewhere', sans: [{ type: 'dns', value: 'elsewhere.example' }] }),
  );
  const server = createServer({ tls: loadTls(wrong), logger: silentLogger });
  server.addService(protos().Manager.service, {});
  const address = await bind(server, '127.0.0.1:0');
  try {
    const r = await runCli(['status', '--manager', address, ...tlsFlags(grid.tlsFiles('client'))]);
    t.is(r.code, 1);
    t.regex(
      r.stderr,
      /^stdchk: TLS handshake failed: the server's certificate has no SAN for the address dialled/,
    );
    t.regex(r.stderr, /127\.0\.0\.1 is not in the cert's list/);
    t.is(r.stderr.trim().split('\n').length, 1);
  } finally {
    await shutdown(server, 500);
  }
});

test.serial(
  'a scheduler and a worker (with its own mount) on mutual TLS; a foreign client is refused',
  async (t) => {
    const address = await grid.startScheduler();
    await grid.startWorker(0);
    await grid.waitForWorkers(['worker-0'], 60_000);
    const schedEnv = { ...env, STDCHK_SCHEDULER: address };
    const r = await runCli(['workers', '--json'], schedEnv);
    t.is(r.code, 0, r.stderr);
    const workers = JSON.parse(r.stdout).workers as { id: string; alive: boolean }[];
    t.true(workers.some((w) => w.id === 'worker-0' && w.alive));

    const otherCa = await makeCa({ name: 'another cluster' });
    const foreign = writePair(
      'foreign-sched',
      otherCa,
      await makeNodeCert(otherCa, { name: 'intruder', sans: [{ type: 'ip', value: '127.0.0.1' }] }),
    );
    const refused = await runCli(['jobs', '--scheduler', address, ...tlsFlags(foreign)]);
    t.is(refused.code, 1);
    t.regex(
      refused.stderr,
      /^stdchk: TLS handshake failed: the server's certificate is not signed by the CA/,
    );
    await waitFor('the refusal in the scheduler log', async () => refusals('scheduler').length > 0, 10_000);
    t.regex(String(refusals('scheduler')[0]?.peer), /^127\.0\.0\.1:\d+$/);
    // The worker kept its lease through all this.
    const again = await runCli(['workers', '--json'], schedEnv);
    t.true(
      (JSON.parse(again.stdout).workers as { id: string; alive: boolean }[]).some(
        (w) => w.id === 'worker-0' && w.alive,
      ),
    );
    await grid.killWorker(0);
    if (grid.scheduler) await grid.kill(grid.scheduler, 'SIGTERM');
  },
);

test.serial('re-replication after a benefactor is killed works over TLS', async (t) => {
  const before = await status();
  t.is(before.underReplicatedChunks, 0);
  const lostId = logLines('benefactor-0').find((l) => l.msg === 'benefactor started')?.id;
  t.truthy(lostId, 'benefactor-0 is known to the manager');
  await grid.kill(grid.benefactors[0], 'SIGKILL');
  type B = { id: string; alive: boolean; chunks: number };
  const healed = await waitFor(
    'benefactor-0 lost and every chunk back on 2 live benefactors',
    async () => {
      const s = await status();
      const alive = (s.benefactors as B[]).filter((b) => b.alive);
      const lost = (s.benefactors as B[]).find((b) => b.id === lostId);
      const liveCopies = alive.reduce((n, b) => n + b.chunks, 0);
      return lost && !lost.alive && s.underReplicatedChunks === 0 && liveCopies >= 2 * s.chunks
        ? s
        : undefined;
    },
    90_000,
  );
  t.is(healed.underReplicatedChunks, 0);
  t.true(healed.chunks > 0);
  // No benefactor refused a peer: the copies went benefactor to benefactor over mutual TLS.
  for (const i of [1, 2]) t.deepEqual(refusals(`benefactor-${i}`), []);
  for (const [remote, sum] of sums) {
    const out = path.join(work, `healed-${remote.slice(1)}`);
    const r = await runCli(['get', remote, out], env);
    t.is(r.code, 0, r.stderr);
    t.is(await sha256File(out), sum);
  }
});
