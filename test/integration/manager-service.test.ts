import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startManager } from '../../src/manager/daemon.ts';
import type { ManagerHandle, ManagerOptions } from '../../src/manager/daemon.ts';
import { connectManager, unary } from '../../src/rpc/index.ts';
import type { ManagerClient } from '../../src/rpc/index.ts';
import { encodeRefs, encodeHashes, decodeHashes } from '../../src/chunking/refs.ts';
import type { ChunkRef } from '../../src/chunking/refs.ts';
import { hashChunk, ZERO_HASH } from '../../src/hashing/index.ts';
import { fromServiceError, isStdchkError } from '../../src/errors/index.ts';
import type { ErrorCode, StdchkError } from '../../src/errors/index.ts';
import type { HeartbeatReply__Output } from '../../src/generated/stdchk/v1/HeartbeatReply.ts';
import type { InventoryReply__Output } from '../../src/generated/stdchk/v1/InventoryReply.ts';

// The Manager over real gRPC on loopback, with a real LevelDB on disk.
// Benefactors are simulated by calling the Manager RPCs a benefactor calls.

const SECRET = Buffer.from('manager-service-test-secret-0123456789');
const GiB = 1024 ** 3;
const dirs: string[] = [];
const stops: (() => Promise<void> | void)[] = [];

test.after.always(async () => {
  for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Manager {
  handle: ManagerHandle;
  client: ManagerClient;
  logs: Record<string, unknown>[];
  dataDir: string;
}

async function start(opts: Partial<ManagerOptions> = {}): Promise<Manager> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'stdchk-manager-it-'));
  if (!opts.dataDir) dirs.push(dataDir);
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const handle = await startManager({
    dataDir,
    listen: '127.0.0.1:0',
    secret: SECRET,
    logger,
    heartbeatTimeoutMs: 1_500,
    heartbeatIntervalMs: 200,
    gcGraceMs: 1_000,
    leaseTtlMs: 5_000,
    repairIntervalMs: 100,
    ...opts,
  });
  const client = connectManager(handle.address, { secret: SECRET });
  stops.push(
    () => client.close(),
    () => handle.stop(),
  );
  return { handle, client, logs, dataDir };
}

const hash = (i: number | string) => hashChunk(Buffer.from(`it-chunk-${i}`));
const ref = (i: number | string, length = 4096): ChunkRef => ({ hash: hash(i), length });

async function code(p: Promise<unknown>): Promise<ErrorCode | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return isStdchkError(e) ? e.code : 'INTERNAL';
  }
}

function register(m: Manager, id: string, host = id) {
  return unary(m.client, 'registerBenefactor', {
    id,
    host,
    address: `127.0.0.1:${30_000 + Number(id.replace(/\D/g, ''))}`,
    capacityBytes: 10 * GiB,
    usedBytes: 0,
    freeBytes: 10 * GiB,
    chunks: 0,
  });
}

function heartbeat(m: Manager, id: string, corrupt: Buffer[] = []) {
  return unary(m.client, 'heartbeat', {
    id,
    capacityBytes: 10 * GiB,
    usedBytes: 0,
    freeBytes: 10 * GiB,
    chunks: 0,
    corruptHashes: encodeHashes(corrupt),
  });
}

/** Heartbeats for `ids` every 200 ms, like benefactor daemons; replies are collected. */
function keepBeating(m: Manager, ids: string[]) {
  const replies: { id: string; reply: HeartbeatReply__Output }[] = [];
  const active = new Set(ids);
  const timer = setInterval(() => {
    for (const id of active) {
      heartbeat(m, id).then(
        (reply) => replies.push({ id, reply }),
        () => undefined,
      );
    }
  }, 200);
  const stop = () => clearInterval(timer);
  stops.push(stop);
  return { replies, silence: (id: string) => active.delete(id), stop };
}

async function waitFor<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function sendInventory(m: Manager, parts: { benefactorId: string; refs: Buffer; last: boolean }[]) {
  return new Promise<InventoryReply__Output>((resolve, reject) => {
    const call = m.client.reportInventory((err, reply) =>
      err ? reject(fromServiceError(err)) : resolve(reply!),
    );
    for (const p of parts) call.write(p);
    call.end();
  });
}

test('a wrong or missing secret is refused with UNAUTHENTICATED and logged; the right one works', async (t) => {
  const m = await start();
  const wrong = connectManager(m.handle.address, { secret: Buffer.from('not-the-secret-at-all-0000') });
  const none = connectManager(m.handle.address);
  stops.push(
    () => wrong.close(),
    () => none.close(),
  );
  t.is(await code(unary(wrong, 'stat', { path: '/' })), 'UNAUTHENTICATED');
  t.is(await code(unary(none, 'status', {})), 'UNAUTHENTICATED');
  const streamErr = await new Promise<StdchkError>((resolve) => {
    const call = wrong.reportInventory((err) => resolve(fromServiceError(err)));
    call.write({ benefactorId: 'b1', refs: Buffer.alloc(0), last: true });
    call.end();
  });
  t.is(streamErr.code, 'UNAUTHENTICATED');
  const refused = m.logs.filter((l) => l.msg === 'refused call');
  t.true(refused.length >= 3);
  t.regex(String(refused[0]?.reason), /wrong cluster secret/);
  t.is(refused[0]?.method, '/stdchk.v1.Manager/Stat');
  t.is((await unary(m.client, 'stat', { path: '/' })).type, 'DIRECTORY');
});

test('malformed requests get INVALID_ARGUMENT and the service keeps serving', async (t) => {
  const m = await start();
  await register(m, 'b1');
  const c = m.client;
  const bad: [string, Promise<unknown>][] = [
    ['path with ..', unary(c, 'stat', { path: '/a/../etc' })],
    ['path with NUL', unary(c, 'mkdir', { path: '/a\0b' })],
    ['relative path', unary(c, 'create', { path: 'a/b' })],
    ['empty path', unary(c, 'list', { path: '' })],
    ['rename to ..', unary(c, 'rename', { from: '/a', to: '/..' })],
    [
      'refs not a multiple of 36',
      unary(c, 'commitVersion', { path: '/f', refs: Buffer.alloc(35), size: 0, replicas: 1 }),
    ],
    [
      'zero-length chunk',
      unary(c, 'prepareChunks', { refs: encodeRefs([{ hash: hash(1), length: 0 }]), replicas: 1 }),
    ],
    ['huge batch', unary(c, 'prepareChunks', { refs: Buffer.alloc(36 * 70_000, 1), replicas: 1 })],
    ['replicas 0', unary(c, 'prepareChunks', { refs: encodeRefs([ref(1)]), replicas: 0 })],
    [
      'replicas 1000',
      unary(c, 'commitVersion', { path: '/f', refs: Buffer.alloc(0), size: 0, replicas: 1000 }),
    ],
    ['hashes not a multiple of 32', unary(c, 'locateChunks', { hashes: Buffer.alloc(33) })],
    ['bad benefactor id', unary(c, 'registerBenefactor', { id: 'a/b', host: 'h', address: '127.0.0.1:1' })],
    ['bad address', unary(c, 'registerBenefactor', { id: 'b9', host: 'h', address: 'nowhere' })],
    ['port 0', unary(c, 'registerBenefactor', { id: 'b9', host: 'h', address: '127.0.0.1:0' })],
    ['bad host', unary(c, 'registerBenefactor', { id: 'b9', host: 'a b', address: '127.0.0.1:1' })],
    ['capacity above 2^53', unary(c, 'heartbeat', { id: 'b1', capacityBytes: '18446744073709551615' })],
    ['corrupt hashes of 31 bytes', unary(c, 'heartbeat', { id: 'b1', corruptHashes: Buffer.alloc(31) })],
    ['count 1000', unary(c, 'allocateTargets', { count: 1000, bytes: 1 })],
    [
      'too many excludes',
      unary(c, 'allocateTargets', { count: 1, bytes: 1, exclude: Array(2000).fill('x') }),
    ],
    ['malformed lease id', unary(c, 'renewLeases', { leaseIds: ['../../x'] })],
    ['symlink target with NUL', unary(c, 'symlink', { path: '/l', target: 'a\0' })],
    [
      'too many replicas reported',
      unary(c, 'reportStored', { replicas: Array(100).fill({ benefactorId: 'b1' }) }),
    ],
    [
      'truncate to an odd size',
      unary(c, 'setAttr', { path: '/', size: 0 })
        .then(() => unary(c, 'create', { path: '/t' }))
        .then(() => unary(c, 'setAttr', { path: '/t', size: 5 })),
    ],
  ];
  for (const [what, p] of bad) {
    const got = await code(p);
    // The root truncation fails first with IS_A_DIRECTORY; everything else is plain bad input.
    t.true(
      got === 'INVALID_ARGUMENT' || (what === 'truncate to an odd size' && got === 'IS_A_DIRECTORY'),
      `${what}: ${got}`,
    );
  }
  const inventory = await sendInventory(m, [
    { benefactorId: 'b1', refs: Buffer.alloc(40), last: true },
  ]).catch((e: StdchkError) => e.code);
  t.is(inventory, 'INVALID_ARGUMENT');
  const unterminated = await sendInventory(m, [
    { benefactorId: 'b1', refs: Buffer.alloc(0), last: false },
  ]).catch((e: StdchkError) => e.code);
  t.is(unterminated, 'INVALID_ARGUMENT');
  t.is(
    await code(unary(c, 'reportStored', { replicas: [{ benefactorId: 'b7', refs: encodeRefs([ref(1)]) }] })),
    'NOT_FOUND',
  );
  // Still serving, nothing lost.
  t.is((await unary(c, 'mkdir', { path: '/still/here', parents: true })).path, '/still/here');
  t.is((await unary(c, 'status', {})).benefactors.length, 1);
  t.false(
    m.logs.some((l) => l.msg === 'request failed'),
    'bad input is not an internal error',
  );
});

test('write path over gRPC: prepare, report, commit, open with a lease, locate, list, status', async (t) => {
  // Liveness is not under test here: a slow machine must not declare b1 lost between its registration and the prepare.
  const m = await start({ heartbeatTimeoutMs: 30_000 });
  const c = m.client;
  t.is(await code(unary(c, 'prepareChunks', { refs: encodeRefs([ref(1)]), replicas: 2 })), 'UNAVAILABLE');
  t.true((await register(m, 'b1', 'h1')).sendInventory);
  await register(m, 'b2', 'h2');
  const beating = keepBeating(m, ['b1', 'b2']);
  const refs = [ref(1), ref(2), { hash: ZERO_HASH, length: 8192 }, ref(1)];
  const prep = await unary(c, 'prepareChunks', { refs: encodeRefs(refs), replicas: 2 });
  t.deepEqual([...prep.present], [0, 0, 1, 0]);
  t.deepEqual(prep.targets.map((x) => x.id).sort(), ['b1', 'b2']);
  t.is(
    await code(unary(c, 'commitVersion', { path: '/f', refs: encodeRefs(refs), size: 20480, replicas: 2 })),
    'CONFLICT',
  );
  await unary(c, 'reportStored', {
    replicas: prep.targets.map((x) => ({ benefactorId: x.id, refs: encodeRefs([ref(1), ref(2)]) })),
  });
  t.deepEqual(
    [...(await unary(c, 'prepareChunks', { refs: encodeRefs(refs), replicas: 2 })).present],
    [1, 1, 1, 1],
  );
  await unary(c, 'mkdir', { path: '/jobs/1', parents: true, mode: 0o750 });
  const info = await unary(c, 'commitVersion', {
    path: '/jobs/1/ckpt',
    refs: encodeRefs(refs),
    size: 4096 * 3 + 8192,
    replicas: 2,
    mode: 0o600,
    uid: 1000,
    gid: 100,
    mtimeMs: 1234,
  });
  t.like(info, {
    type: 'FILE',
    version: 1,
    size: 20480,
    chunks: 4,
    replicas: 2,
    mode: 0o600,
    mtimeMs: 1234,
    nlink: 1,
  });
  const opened = await unary(c, 'openVersion', { path: '/jobs/1/ckpt', version: 0 });
  t.deepEqual(opened.refs, encodeRefs(refs));
  t.is(opened.leaseTtlMs, 5_000);
  await unary(c, 'renewLeases', { leaseIds: [opened.leaseId] });
  await unary(c, 'releaseLeases', { leaseIds: [opened.leaseId] });
  const located = await unary(c, 'locateChunks', {
    hashes: encodeHashes([hash(2), hash('nowhere'), ZERO_HASH]),
  });
  t.deepEqual(located.locations[0]?.benefactors.map((i) => located.benefactors[i]?.id).sort(), ['b1', 'b2']);
  t.deepEqual(located.locations[1]?.benefactors, []);
  t.deepEqual(located.locations[2]?.benefactors, []);
  t.deepEqual(
    (await unary(c, 'list', { path: '/jobs/1' })).entries.map((e) => [e.name, e.path, e.type]),
    [['ckpt', '/jobs/1/ckpt', 'FILE']],
  );
  const inv = await sendInventory(m, [
    { benefactorId: 'b1', refs: encodeRefs([ref(1)]), last: false },
    { benefactorId: 'b1', refs: encodeRefs([ref(2)]), last: true },
  ]);
  t.deepEqual(inv, { chunksKnown: 2, chunksOrphaned: 0, replicasMissing: 0 });
  const status = await unary(c, 'status', {});
  t.like(status, {
    files: 1,
    directories: 3,
    chunks: 2,
    logicalBytes: 20480,
    storedBytes: 8192,
    underReplicatedChunks: 0,
    capacityBytes: 20 * GiB,
  });
  t.true(status.benefactors.every((b) => b.alive && b.lastHeartbeatMs > 0));
  beating.stop();
});

test('a restart on the same data folder keeps files, versions and the chunk index', async (t) => {
  const first = await start();
  await register(first, 'b1', 'h1');
  await register(first, 'b2', 'h2');
  await unary(first.client, 'reportStored', {
    replicas: ['b1', 'b2'].map((id) => ({ benefactorId: id, refs: encodeRefs([ref('r1'), ref('r2')]) })),
  });
  await unary(first.client, 'commitVersion', {
    path: '/a',
    refs: encodeRefs([ref('r1')]),
    size: 4096,
    replicas: 2,
  });
  const v2 = await unary(first.client, 'commitVersion', {
    path: '/a',
    refs: encodeRefs([ref('r1'), ref('r2')]),
    size: 8192,
    replicas: 2,
  });
  await unary(first.client, 'symlink', { path: '/link', target: '/a' });
  await first.handle.stop();
  first.client.close();

  const second = await start({ dataDir: first.dataDir });
  t.deepEqual(await unary(second.client, 'stat', { path: '/a' }), v2);
  const opened = await unary(second.client, 'openVersion', { path: '/a', version: 0 });
  t.deepEqual(opened.refs, encodeRefs([ref('r1'), ref('r2')]));
  t.is((await unary(second.client, 'stat', { path: '/link' })).target, '/a');
  const status = await unary(second.client, 'status', {});
  t.like(status, { files: 1, chunks: 2, storedBytes: 8192, logicalBytes: 8192 });
  t.deepEqual(
    status.benefactors.map((b) => [b.id, b.alive]),
    [
      ['b1', false],
      ['b2', false],
    ],
  );
  const located = await unary(second.client, 'locateChunks', { hashes: encodeHashes([hash('r2')]) });
  t.deepEqual(located.locations[0]?.benefactors.map((i) => located.benefactors[i]?.id).sort(), ['b1', 'b2']);
  // Known benefactors just heartbeat again; no re-registration needed.
  t.false((await heartbeat(second, 'b1')).reregister);
  t.true((await heartbeat(second, 'b9')).reregister);
});

test('a benefactor lost after the heartbeat timeout: its chunks are re-replicated via another heartbeat', async (t) => {
  const m = await start();
  for (const [id, host] of [
    ['b1', 'h1'],
    ['b2', 'h2'],
    ['b3', 'h3'],
  ] as const) {
    await register(m, id, host);
  }
  const beating = keepBeating(m, ['b1', 'b2', 'b3']);
  const refs = [ref('x1'), ref('x2'), ref('x3')];
  await unary(m.client, 'reportStored', {
    replicas: ['b1', 'b2'].map((id) => ({ benefactorId: id, refs: encodeRefs(refs) })),
  });
  await unary(m.client, 'commitVersion', { path: '/f', refs: encodeRefs(refs), size: 3 * 4096, replicas: 2 });
  await new Promise((r) => setTimeout(r, 1_600)); // past the startup hold-back
  const lostAt = Date.now();
  beating.silence('b1');
  const found = await waitFor('a replicate command for b3', () =>
    beating.replies.find((r) => r.id === 'b3' && r.reply.commands.some((cmd) => cmd.replicate)),
  );
  t.log(`replicate command ${Date.now() - lostAt} ms after b1 went silent (timeout 1500 ms)`);
  const cmd = found.reply.commands.find((x) => x.replicate)?.replicate;
  t.is(cmd?.source?.id, 'b2');
  t.deepEqual(
    decodeHashes(cmd!.hashes)
      .map((h) => h.toString('hex'))
      .sort(),
    refs.map((r) => r.hash.toString('hex')).sort(),
  );
  t.true(
    m.logs.some((l) => l.msg === 'benefactor lost: no heartbeat within the timeout' && l.benefactor === 'b1'),
  );
  let status = await unary(m.client, 'status', {});
  t.like(status, { underReplicatedChunks: 3, repairsInProgress: 3 });
  await unary(m.client, 'reportStored', { replicas: [{ benefactorId: 'b3', refs: encodeRefs(refs) }] });
  status = await unary(m.client, 'status', {});
  t.like(status, { underReplicatedChunks: 0, repairsInProgress: 0 });
  t.deepEqual(
    status.benefactors.map((b) => [b.id, b.alive]),
    [
      ['b1', false],
      ['b2', true],
      ['b3', true],
    ],
  );
  beating.stop();
});

test('released chunks produce DeleteCommands for their holders after the GC grace; fresh uploads stay', async (t) => {
  const m = await start();
  await register(m, 'b1');
  await register(m, 'b2');
  const beating = keepBeating(m, ['b1', 'b2']);
  await unary(m.client, 'reportStored', {
    replicas: [
      { benefactorId: 'b1', refs: encodeRefs([ref('g1'), ref('kept'), ref('fresh')]) },
      { benefactorId: 'b2', refs: encodeRefs([ref('g1')]) },
    ],
  });
  await unary(m.client, 'commitVersion', {
    path: '/k',
    refs: encodeRefs([ref('kept')]),
    size: 4096,
    replicas: 1,
  });
  await unary(m.client, 'commitVersion', {
    path: '/d',
    refs: encodeRefs([ref('g1')]),
    size: 4096,
    replicas: 2,
  });
  await unary(m.client, 'remove', { path: '/d' });
  const removedAt = Date.now();
  const deletes = (id: string) =>
    beating.replies
      .filter((r) => r.id === id)
      .flatMap((r) => r.reply.commands.flatMap((c) => (c.delete ? decodeHashes(c.delete.hashes) : [])))
      .map((h) => h.toString('hex'));
  await waitFor('deletes on both holders', () => deletes('b1').length > 0 && deletes('b2').length > 0);
  t.true(Date.now() - removedAt >= 900, 'not before the grace');
  t.deepEqual(deletes('b1'), [hash('g1').toString('hex')]);
  t.deepEqual(deletes('b2'), [hash('g1').toString('hex')]);
  t.like(await unary(m.client, 'status', {}), { chunks: 2, pendingDeletions: 0 });
  t.true(m.logs.some((l) => l.msg === 'garbage collected'));
  beating.stop();
});
