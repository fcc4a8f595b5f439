import test from 'ava';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { ServiceError } from '@grpc/grpc-js';
import { startBenefactor } from '../../src/benefactor/daemon.ts';
import type { BenefactorHandle } from '../../src/benefactor/daemon.ts';
import { connectBenefactor, unary } from '../../src/rpc/index.ts';
import type { BenefactorClient } from '../../src/rpc/index.ts';
import { hashChunk } from '../../src/hashing/index.ts';
import { decodeHashes, encodeHashes, encodeRefs } from '../../src/chunking/refs.ts';
import { splitChunks } from '../../src/rpc/chunk-frames.ts';
import { StdchkError } from '../../src/errors/index.ts';
import type { StoreAck__Output } from '../../src/generated/stdchk/v1/StoreAck.ts';
import type { ReadReply__Output } from '../../src/generated/stdchk/v1/ReadReply.ts';
import type { StoreRequest } from '../../src/generated/stdchk/v1/StoreRequest.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const secret = randomBytes(32);
const dir = mkdtempSync(path.join(os.tmpdir(), 'stdchk-benefactor-svc-'));
const logLines: Record<string, unknown>[] = [];
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(line: Buffer, _enc, cb) {
      logLines.push(JSON.parse(line.toString()) as Record<string, unknown>);
      cb();
    },
  }),
);
const clients: BenefactorClient[] = [];
let benefactor: BenefactorHandle;

/** A port nothing listens on: registration keeps retrying in the background. */
async function unusedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function client(key = secret): BenefactorClient {
  const c = connectBenefactor(benefactor.address, { secret: key });
  clients.push(c);
  return c;
}

function chunk(size: number): { hash: Buffer; data: Buffer } {
  const data = randomBytes(size);
  return { hash: hashChunk(data), data };
}

interface StoreOutcome {
  acks: StoreAck__Output[];
  error?: ServiceError;
}

type StoreMessage = { seq: number; chunks: { hash: Buffer; data: Buffer }[] } | StoreRequest;

/** A StoreRequest as any protobuf client would build it (packed refs + concatenated data). */
function toRequest(m: StoreMessage): StoreRequest {
  if (!('chunks' in m)) return m;
  return {
    seq: m.seq,
    refs: encodeRefs(m.chunks.map((c) => ({ hash: c.hash, length: c.data.length }))),
    data: Buffer.concat(m.chunks.map((c) => c.data)),
  };
}

/** Writes every request on one stream without waiting (all in flight), then half-closes. */
function storeAll(c: BenefactorClient, requests: StoreMessage[]) {
  return new Promise<StoreOutcome>((resolve) => {
    const acks: StoreAck__Output[] = [];
    const call = c.storeChunks();
    call.on('data', (a: StoreAck__Output) => acks.push(a));
    call.on('error', (error: ServiceError) => resolve({ acks, error }));
    call.on('end', () => resolve({ acks }));
    for (const r of requests) call.write(toRequest(r));
    call.end();
  });
}

interface ReadChunk {
  hash: Buffer;
  data: Buffer;
  missing: boolean;
}

/** Every reply's chunks in order; missing hashes come after the present ones of the same reply. */
function readAll(c: BenefactorClient, hashes: Buffer[]) {
  return new Promise<{ replies: ReadChunk[][]; error?: ServiceError }>((resolve) => {
    const replies: ReadChunk[][] = [];
    const call = c.readChunks({ hashes: encodeHashes(hashes) });
    call.on('data', (r: ReadReply__Output) =>
      replies.push([
        ...splitChunks(r.refs, r.data, 'reply').map((ch) => ({ ...ch, missing: false })),
        ...decodeHashes(r.missing).map((hash) => ({ hash, data: Buffer.alloc(0), missing: true })),
      ]),
    );
    call.on('error', (error: ServiceError) => resolve({ replies, error }));
    call.on('end', () => resolve({ replies }));
  });
}

test.before(async () => {
  benefactor = await startBenefactor({
    managerAddress: `127.0.0.1:${await unusedPort()}`,
    storeDir: dir,
    capacityBytes: 256 * MiB,
    listen: '127.0.0.1:0',
    host: 'test-host',
    secret,
    logger,
    heartbeatIntervalMs: 100,
  });
});

test.after.always(async () => {
  for (const c of clients) c.close();
  await benefactor?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test.serial('binds a real port and keeps a persistent id', (t) => {
  t.regex(benefactor.address, /^127\.0\.0\.1:[1-9]\d*$/);
  t.is(readFileSync(path.join(dir, 'benefactor.id'), 'utf8').trim(), benefactor.id);
});

test.serial(
  'stores over one stream with several requests in flight, acked in order, and reads back',
  async (t) => {
    const c = client();
    const requests = Array.from({ length: 8 }, (_, i) => ({
      seq: i + 1,
      chunks: Array.from({ length: 64 }, () => chunk(16 * KiB)),
    }));
    const out = await storeAll(c, requests);
    t.is(out.error, undefined);
    t.deepEqual(
      out.acks.map((a) => [a.seq, a.stored, a.existing]),
      requests.map((r) => [r.seq, 64, 0]),
    );
    // The same chunks again are acknowledged as existing.
    const again = await storeAll(c, [{ seq: 9, chunks: requests[0]!.chunks }]);
    t.deepEqual(
      again.acks.map((a) => [a.seq, a.stored, a.existing]),
      [[9, 0, 64]],
    );

    const all = requests.flatMap((r) => r.chunks);
    const unknown = randomBytes(32);
    const wanted = [...all.slice(0, 100), { hash: unknown, data: Buffer.alloc(0) }, ...all.slice(100)];
    const read = await readAll(
      c,
      wanted.map((w) => w.hash),
    );
    t.is(read.error, undefined);
    t.true(read.replies.length >= 2, `${read.replies.length} replies of ~4 MiB`);
    for (const r of read.replies) {
      const bytes = r.reduce((n, ch) => n + ch.data.length, 0);
      t.true(bytes <= 4 * MiB + 16 * KiB, `reply of ${bytes} bytes`);
    }
    const got = read.replies.flat();
    t.is(got.length, wanted.length);
    const missing = got.filter((g) => g.missing);
    t.deepEqual(
      missing.map((g) => g.hash),
      [unknown],
      'the unknown chunk is flagged missing',
    );
    const present = got.filter((g) => !g.missing);
    const expected = wanted.filter((w) => w.hash !== unknown);
    present.forEach((g, i) => {
      const w = expected[i]!;
      if (!g.hash.equals(w.hash)) t.fail(`reply ${i} out of order`);
      else if (!g.data.equals(w.data)) t.fail(`chunk ${i} differs`);
    });

    const info = await unary(c, 'info', {});
    t.like(info, { id: benefactor.id, host: 'test-host', capacityBytes: 256 * MiB, chunks: 512 });
    t.true(info.usedBytes >= 512 * 16 * KiB);
    t.true(info.freeBytes <= 256 * MiB - info.usedBytes);
  },
);

test.serial('bad input gets a clear status and the service keeps serving', async (t) => {
  const c = client();
  const good = chunk(4 * KiB);
  const data = randomBytes(4 * KiB);
  const wrong = { hash: hashChunk(randomBytes(16)), data };

  const bad = await storeAll(c, [
    { seq: 1, chunks: [good] },
    { seq: 2, chunks: [wrong] },
    { seq: 3, chunks: [chunk(100)] },
  ]);
  t.is(bad.error?.code, 3 /* INVALID_ARGUMENT */);
  t.regex(bad.error?.details ?? '', /does not match its hash/);
  t.deepEqual(
    bad.acks.map((a) => a.seq),
    [1],
    'requests before the bad one are acked',
  );
  t.true(
    logLines.some((l) => l.msg === 'request refused' && /does not match its hash/.test(JSON.stringify(l))),
    'the refusal is logged',
  );

  const shortRefs = await storeAll(c, [
    { seq: 1, chunks: [chunk(100)] },
    { seq: 2, refs: randomBytes(35), data },
  ]);
  t.is(shortRefs.error?.code, 3);
  t.regex(shortRefs.error?.details ?? '', /refs length 35 is not a multiple of 36/);
  t.deepEqual(
    shortRefs.acks.map((a) => a.seq),
    [1],
  );
  const shortData = await storeAll(c, [
    { seq: 1, refs: encodeRefs([{ hash: hashChunk(data), length: data.length }]), data: data.subarray(1) },
  ]);
  t.is(shortData.error?.code, 3);
  t.regex(shortData.error?.details ?? '', /but data holds/);
  const emptyData = await storeAll(c, [
    { seq: 1, refs: encodeRefs([{ hash: hashChunk(Buffer.alloc(0)), length: 0 }]), data: Buffer.alloc(0) },
  ]);
  t.is(emptyData.error?.code, 3);
  const tooMany = await storeAll(c, [
    { seq: 1, chunks: Array.from({ length: 4097 }, () => ({ hash: good.hash, data: good.data })) },
  ]);
  t.is(tooMany.error?.code, 3);
  t.regex(tooMany.error?.details ?? '', /at most 4096/);
  // Over the server's receive limit: refused before it is buffered.
  const huge = await storeAll(c, [{ seq: 1, chunks: [chunk(16 * MiB), chunk(16 * MiB), chunk(9 * MiB)] }]);
  t.is(huge.error?.code, 8 /* RESOURCE_EXHAUSTED */);
  const oddHashes = await new Promise<ServiceError>((resolve) => {
    const call = c.readChunks({ hashes: randomBytes(33) });
    call.on('data', () => undefined);
    call.on('error', resolve);
  });
  t.is(oddHashes.code, 3);

  // Still serving: the valid chunk of the failed stream and new stores.
  t.is((await storeAll(c, [{ seq: 7, chunks: [good, chunk(1)] }])).acks[0]?.seq, 7);
  const read = await readAll(c, [good.hash, wrong.hash]);
  t.true(read.replies[0]?.[0]?.data.equals(good.data));
  t.true(read.replies[0]?.[1]?.missing, 'the chunk with a wrong hash was not stored');
});

test.serial('a wrong secret gets UNAUTHENTICATED on every method; valid calls still work', async (t) => {
  const intruder = client(randomBytes(32));
  const store = await storeAll(intruder, [{ seq: 1, chunks: [chunk(10)] }]);
  t.is(store.error?.code, 16 /* UNAUTHENTICATED */);
  t.regex(store.error?.details ?? '', /wrong cluster secret/);
  t.deepEqual(store.acks, []);
  const read = await readAll(intruder, [randomBytes(32)]);
  t.is(read.error?.code, 16);
  const info = await t.throwsAsync(unary(intruder, 'info', {}), { instanceOf: StdchkError });
  t.is(info?.code, 'UNAUTHENTICATED');
  const anonymous = connectBenefactor(benefactor.address);
  clients.push(anonymous);
  const anon = await t.throwsAsync(unary(anonymous, 'info', {}), { instanceOf: StdchkError });
  t.regex(anon?.message ?? '', /missing cluster credentials/);

  const c = client();
  const ok = await storeAll(c, [{ seq: 1, chunks: [chunk(10)] }]);
  t.is(ok.error, undefined);
  t.is((await unary(c, 'info', {})).id, benefactor.id);
});

test.serial('keeps retrying an unreachable manager in the background, and stops cleanly', async (t) => {
  const retries = () => logLines.filter((l) => l.msg === 'manager call failed; retrying').length;
  const deadline = Date.now() + 5_000;
  while (retries() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.true(retries() >= 2, 'registration retried');

  // A second benefactor on the same store is refused while the first holds it.
  const err = await t.throwsAsync(
    startBenefactor({
      managerAddress: '127.0.0.1:1',
      storeDir: dir,
      capacityBytes: MiB,
      listen: '127.0.0.1:0',
      logger,
    }),
  );
  t.regex(err?.message ?? '', /in use by process/);

  await benefactor.stop();
  t.false(existsSync(path.join(dir, 'lock')), 'the store lock is released');
  t.true(logLines.some((l) => l.msg === 'benefactor stopped'));
});
