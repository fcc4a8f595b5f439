import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { cleanupAll, runCli, startGrid, tempDir, STDCHK_BIN } from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import { callRaw, rawClient, serviceMethods } from '../helpers/fuzz.ts';
import type { FuzzMethod } from '../helpers/fuzz.ts';
import { AUTH_HEADER, START_SLACK_MS, authInterceptor, makeToken } from '../../src/rpc/auth.ts';
import { connectManager, protos, unary } from '../../src/rpc/index.ts';
import { loadTls } from '../../src/rpc/credentials.ts';
import { readSecretFile } from '../../src/config/secret.ts';
import { parseSanList, writeCa, writeNodeCert } from '../../src/certs/index.ts';
import type { StdchkError } from '../../src/errors/index.ts';

// Issue 19, item 10: a captured token must not be usable again, nor for
// another request; a daemon beyond loopback runs TLS. Real `stdchk`
// processes; tokens captured from a real client by an interceptor that
// records what the auth interceptor put on the wire.

test.after.always(cleanupAll);

let grid: LocalGrid;
let secret: Buffer;

test.before(async () => {
  grid = await startGrid({ benefactors: 1 });
  secret = readSecretFile(grid.secretFile);
});

interface Captured {
  token: string;
  bytes: Buffer;
}

/**
 * Records each call's token and serialized request. With `swallow` the call
 * never leaves this process (as if an attacker took it off the wire): the
 * caller sees CANCELLED, the server nothing.
 */
function recorder(into: Captured[], swallow = false): grpc.Interceptor {
  return (options, nextCall) => {
    let token = '';
    let listener: grpc.InterceptingListener | undefined;
    return new grpc.InterceptingCall(nextCall(options), {
      start(metadata, l, next) {
        token = String(metadata.get(AUTH_HEADER)[0] ?? '');
        if (swallow) listener = l;
        else next(metadata, l);
      },
      sendMessage(message, next) {
        into.push({ token, bytes: options.method_definition.requestSerialize(message) });
        if (!swallow) return next(message);
        listener?.onReceiveStatus({
          code: grpc.status.CANCELLED,
          details: 'captured, not sent',
          metadata: new grpc.Metadata(),
        });
      },
    });
  };
}

function recordingManager(into: Captured[], swallow = false) {
  return new (protos().Manager)(grid.managerAddress, grpc.credentials.createInsecure(), {
    interceptors: [authInterceptor(secret), recorder(into, swallow)],
  });
}

const method = (name: string) => serviceMethods('Manager').find((m) => m.name === name) as FuzzMethod;
const removeRequest = (p: string) => method('Remove').encode({ path: p, directory: true });

async function replay(token: string, m: FuzzMethod, payloads: Buffer[]) {
  const client = rawClient('Manager', grid.managerAddress);
  const md = new grpc.Metadata();
  md.set(AUTH_HEADER, token);
  try {
    return await callRaw(client, m, payloads, { metadata: md, deadlineMs: 20_000 });
  } finally {
    client.close();
  }
}

const exists = async (p: string) => {
  const c = grid.client();
  try {
    return await c.stat(p).then(
      () => true,
      () => false,
    );
  } finally {
    c.close();
  }
};

test.serial(
  'a captured Remove token is refused when replayed, with its request or another; the service keeps serving',
  async (t) => {
    const c = grid.client();
    for (const d of ['/r/a', '/r/b', '/r/c']) await c.mkdir(d, { parents: true });

    // A real client's Remove, recorded on its way out.
    const seen: Captured[] = [];
    const rec = recordingManager(seen);
    await unary(rec, 'remove', { path: '/r/a', directory: true });
    rec.close();
    t.is(seen.length, 1);
    const first = seen[0] as Captured;
    t.regex(first.token, /^v2\.\d+\.[0-9a-f]{32}\.[0-9a-f]{64}\.[0-9a-f]{64}$/);
    t.false(await exists('/r/a'));

    // (a) the same request again: /r/a made anew must survive the replay.
    await c.mkdir('/r/a');
    const same = await replay(first.token, method('Remove'), [first.bytes]);
    t.is(same.code, grpc.status.UNAUTHENTICATED, same.details);
    t.regex(same.details, /replayed cluster credentials/);
    t.true(await exists('/r/a'), 'the replayed Remove did nothing');

    // (b) the token with another request (the "one token deleted two paths").
    const other = await replay(first.token, method('Remove'), [removeRequest('/r/b')]);
    t.is(other.code, grpc.status.UNAUTHENTICATED, other.details);
    t.true(await exists('/r/b'), 'another path was not deleted');

    // A token taken off the wire before the server saw it is still bound to its request.
    const taken: Captured[] = [];
    const swallowing = recordingManager(taken, true);
    const lost = await unary(swallowing, 'remove', { path: '/r/c', directory: true }).catch(
      (e: StdchkError) => e,
    );
    swallowing.close();
    t.truthy(lost, 'the captured call never reached the manager');
    t.true(await exists('/r/c'));
    const stolen = taken[0] as Captured;
    const redirected = await replay(stolen.token, method('Remove'), [removeRequest('/r/b')]);
    t.is(redirected.code, grpc.status.UNAUTHENTICATED, redirected.details);
    t.regex(redirected.details, /credentials made for another request/);
    t.true(await exists('/r/b'));
    const toRename = await replay(stolen.token, method('Rename'), [
      method('Rename').encode({ from: '/r/c', to: '/r/x' }),
    ]);
    t.is(toRename.code, grpc.status.UNAUTHENTICATED, 'nor for another method');
    t.regex(toRename.details, /credentials made for another method/);
    // ...and good exactly once for what it was made for.
    t.is((await replay(stolen.token, method('Remove'), [stolen.bytes])).code, grpc.status.OK);
    t.false(await exists('/r/c'));
    t.is((await replay(stolen.token, method('Remove'), [stolen.bytes])).code, grpc.status.UNAUTHENTICATED);

    // The manager logged each refusal, is still serving, and a fresh token works.
    const log = readFileSync(path.join(grid.logDir, 'manager.log'), 'utf8');
    t.true(log.split('\n').filter((l) => l.includes('"msg":"refused call"')).length >= 5);
    t.true(grid.manager?.child.exitCode === null);
    await c.remove('/r/b', { recursive: true });
    t.false(await exists('/r/b'));
    c.close();
  },
);

test.serial(
  'a stream token is good for one call: a replayed StoreChunks or ReportInventory token is refused',
  async (t) => {
    const benefactor = (await grid.client().status()).benefactors[0]?.address as string;
    const store = serviceMethods('Benefactor').find((m) => m.name === 'StoreChunks') as FuzzMethod;
    const token = makeToken(secret, store.path);
    const client = rawClient('Benefactor', benefactor);
    const call = async () => {
      const md = new grpc.Metadata();
      md.set(AUTH_HEADER, token);
      return callRaw(client, store, [store.encode({ seq: 1 })], { metadata: md, deadlineMs: 20_000 });
    };
    const first = await call();
    t.is(first.code, grpc.status.OK, first.details);
    const again = await call();
    t.is(again.code, grpc.status.UNAUTHENTICATED);
    t.regex(again.details, /replayed/);
    client.close();

    const inventory = method('ReportInventory');
    const inv = makeToken(secret, inventory.path);
    const once = await replay(inv, inventory, []);
    t.not(once.code, grpc.status.UNAUTHENTICATED, once.details);
    const twice = await replay(inv, inventory, []);
    t.is(twice.code, grpc.status.UNAUTHENTICATED);
    t.regex(twice.details, /replayed/);
  },
);

test.serial('a token captured before a manager restart is refused after it', async (t) => {
  const seen: Captured[] = [];
  const rec = recordingManager(seen, true);
  await unary(rec, 'stat', { path: '/' }).catch(() => undefined);
  rec.close();
  const captured = seen[0] as Captured;
  // The restart forgets the nonces it had; tokens minted before it started (beyond a short slack) are refused.
  await sleep(START_SLACK_MS + 1_000);
  await grid.kill(grid.manager);
  await grid.startManager();
  const r = await replay(captured.token, method('Stat'), [captured.bytes]);
  t.is(r.code, grpc.status.UNAUTHENTICATED, r.details);
  t.regex(r.details, /minted before this server started/);
  t.true(await exists('/'), 'fresh tokens work after the restart');
});

// ---- TLS beyond loopback -----------------------------------------------------------

function daemonArgs(role: 'manager' | 'benefactor' | 'scheduler', dir: string, listen: string): string[] {
  mkdirSync(dir, { recursive: true });
  const common = [
    '--listen',
    listen,
    '--secret-file',
    grid.secretFile,
    '--address-file',
    path.join(dir, `${role}.addr`),
  ];
  if (role === 'manager') return ['manager', '--data', path.join(dir, 'm'), ...common];
  if (role === 'benefactor') {
    return [
      'benefactor',
      '--manager',
      grid.managerAddress,
      '--store',
      path.join(dir, 'b'),
      '--capacity',
      '1GiB',
      ...common,
    ];
  }
  return ['scheduler', '--data', path.join(dir, 's'), '--manager', grid.managerAddress, ...common];
}

/** Starts a daemon and resolves once it serves; stop() sends SIGTERM and resolves with its exit code. */
async function startDaemon(
  t: { teardown(fn: () => void): void },
  args: string[],
  addrFile: string,
): Promise<{ address: string; stop(): Promise<number | null> }> {
  const child = spawn(STDCHK_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => void child.kill('SIGKILL'));
  let address = '';
  for (const deadline = Date.now() + 60_000; !address; await sleep(50)) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) throw new Error('the daemon did not serve in 60 s');
    if (existsSync(addrFile)) address = readFileSync(addrFile, 'utf8').trim();
  }
  return {
    address,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

test.serial(
  'a daemon listening beyond loopback without TLS refuses to start (one line, exit 2)',
  async (t) => {
    const dir = tempDir();
    for (const role of ['manager', 'benefactor', 'scheduler'] as const) {
      for (const listen of ['0.0.0.0:0', '[::]:0']) {
        const run = runCli(daemonArgs(role, dir, listen), { STDCHK_SECRET_FILE: '' });
        const timer = setTimeout(() => run.kill(), 30_000); // a daemon that started anyway
        const r = await run;
        clearTimeout(timer);
        t.is(r.code, 2, `${role} on ${listen}: ${r.stderr}`);
        t.regex(
          r.stderr,
          /^stdchk: (the manager|a benefactor|the scheduler) would listen on .* without TLS: .*--tls-ca, --tls-cert and --tls-key .*--insecure-plaintext/,
        );
        t.is(r.stderr.trim().split('\n').length, 1);
      }
    }
  },
);

test.serial('beyond loopback with TLS, or with --insecure-plaintext, a daemon serves', async (t) => {
  const dir = tempDir();
  const ca = path.join(dir, 'ca');
  await writeCa(ca);
  const files = await writeNodeCert(ca, path.join(dir, 'node'), {
    name: 'manager',
    sans: parseSanList('127.0.0.1,localhost'),
  });
  const withTls = await startDaemon(
    t,
    [
      ...daemonArgs('manager', path.join(dir, 'tls'), '0.0.0.0:0'),
      ...['--tls-ca', files.ca, '--tls-cert', files.cert, '--tls-key', files.key],
    ],
    path.join(dir, 'tls', 'manager.addr'),
  );
  t.regex(withTls.address, /^0\.0\.0\.0:\d+$/);
  const port = withTls.address.split(':')[1] as string;
  const client = connectManager(`127.0.0.1:${port}`, { secret, tls: loadTls(files) });
  t.is((await unary(client, 'status', {})).benefactorsAlive, 0, 'a TLS client gets in');
  client.close();
  t.is(await withTls.stop(), 0);

  const plain = await startDaemon(
    t,
    [...daemonArgs('manager', path.join(dir, 'plain'), '0.0.0.0:0'), '--insecure-plaintext'],
    path.join(dir, 'plain', 'manager.addr'),
  );
  const plainClient = connectManager(`127.0.0.1:${plain.address.split(':')[1]}`, { secret });
  t.is((await unary(plainClient, 'status', {})).benefactorsAlive, 0);
  plainClient.close();
  t.is(await plain.stop(), 0);
});
