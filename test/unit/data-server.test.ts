import test from 'ava';
import type { ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startManager } from '../../src/manager/daemon.ts';
import { startBenefactor } from '../../src/benefactor/daemon.ts';
import type { BenefactorHandle } from '../../src/benefactor/daemon.ts';
import { StorageClient } from '../../src/client/storage-client.ts';
import type { ChunkTarget } from '../../src/client/chunks.ts';
import { hashChunk, hex } from '../../src/hashing/index.ts';
import { EPOCH_FACTOR } from '../../src/benefactor/stamps.ts';
import { silentLogger } from '../../src/logging/index.ts';
import type { Logger } from '../../src/logging/index.ts';
import {
  FrameType,
  MAX_META_BYTES,
  decodeError,
  decodeStoreAck,
  encodeHeader,
  encodeReadMeta,
  encodeStoreMeta,
  frameParts,
  packRefs,
} from '../../src/transport/frames.ts';
import { ClientHandshake } from '../../src/transport/handshake.ts';
import { authenticatedPeer, rawPeer } from '../helpers/data-stream.ts';
import { isStdchkError } from '../../src/errors/index.ts';
import { localHostId } from '../../src/transport/socket.ts';
import { unary } from '../../src/rpc/index.ts';

// The benefactor's data port and the client's framed engine, in this process
// over loopback (a manager, three benefactors, real pack stores): put/get
// round trips at replicas 1-3 on chains, the store stamps, hash checks, and
// what a peer without the secret or with malformed frames gets.

const SECRET = randomBytes(32);
const dirs: string[] = [];
const stops: (() => Promise<void> | void)[] = [];
const logLines: string[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  }),
) as unknown as Logger;

let client: StorageClient;
const benefactors: BenefactorHandle[] = [];
let managerAddress = '';

test.after.always(async () => {
  for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'stdchk-data-'));
  dirs.push(d);
  return d;
}

test.before(async () => {
  const manager = await startManager({
    dataDir: tempDir(),
    listen: '127.0.0.1:0',
    logger: silentLogger,
    secret: SECRET,
    heartbeatIntervalMs: 200,
  });
  managerAddress = manager.address;
  stops.push(() => manager.stop());
  for (let i = 0; i < 3; i++) {
    const b = await startBenefactor({
      managerAddress: manager.address,
      storeDir: tempDir(),
      capacityBytes: 256 * 1024 * 1024,
      listen: '127.0.0.1:0',
      secret: SECRET,
      logger,
      heartbeatIntervalMs: 200,
    });
    benefactors.push(b);
    stops.push(() => b.stop());
  }
  client = new StorageClient({ managerAddress: manager.address, secret: SECRET, chunkTransport: 'framed' });
  stops.push(() => client.close());
  for (let i = 0; (await client.status()).benefactorsAlive < 3; i++) {
    if (i > 100) throw new Error('benefactors did not register');
    await new Promise((r) => setTimeout(r, 100));
  }
});

const targets = (): ChunkTarget[] =>
  benefactors.map((b) => ({ id: b.id, address: b.address, dataAddress: b.dataAddress }));

/** How many benefactors serve each chunk (asked of each over its data port). */
async function copies(hashes: Buffer[]): Promise<number[]> {
  const counts = hashes.map(() => 0);
  for (const target of targets()) {
    const got = await client.chunks.read(target, hashes);
    hashes.forEach((h, i) => {
      if (got.has(hex(h))) counts[i]!++;
    });
  }
  return counts;
}

test.serial(
  'benefactors advertise a data port; the manager hands it out with placement and locations',
  async (t) => {
    const s = await client.status();
    for (const b of benefactors) {
      t.regex(b.dataAddress, /^127\.0\.0\.1:\d+$/);
      t.not(b.dataAddress, b.address);
      t.is(s.benefactors.find((x) => x.id === b.id)?.dataAddress, b.dataAddress);
    }
    t.is(client.chunks.kind, 'framed');
  },
);

for (const replicas of [1, 2, 3]) {
  test.serial(
    `put/get at replicas ${replicas} over the framed stream: bytes identical, every chunk on ${replicas}`,
    async (t) => {
      const data = randomBytes(5 * 1024 * 1024 + 333);
      const name = `/r${replicas}.bin`;
      const w = await client.openWriter(name, { replicas });
      await w.write(Buffer.from(data));
      const { stats } = await w.close();
      t.is(stats.bytes, data.length);
      t.is(stats.bytesSent, stats.bytesUploaded * replicas);
      const r = await client.openReader(name);
      const back = await r.read(0, r.size);
      const hashes = [...new Map(r.refs.map((x) => [hex(x.hash), x.hash])).values()];
      await r.close();
      t.true(back.equals(data), 'read back identical');
      t.deepEqual(new Set(await copies(hashes)), new Set([replicas]), `every chunk on exactly ${replicas}`);
    },
  );
}

test.serial(
  'a chain of three stores once per benefactor and acks each replica with its own stamp',
  async (t) => {
    const chunks = Array.from({ length: 20 }, () => {
      const data = randomBytes(16_000);
      return { hash: hashChunk(data), data };
    });
    const batch = client.chunks.batch(chunks);
    const outcomes = await client.chunks.store(batch, targets());
    t.deepEqual(
      outcomes.map((o) => o.ok && o.target.id),
      benefactors.map((b) => b.id),
    );
    for (const o of outcomes) {
      if (!o.ok) continue;
      t.is(o.stored, 20);
      t.true(o.stamp > EPOCH_FACTOR, 'a real stamp (epoch * 2^32 + counter)');
    }
    const again = await client.chunks.store(batch, targets());
    for (const o of again) {
      t.true(o.ok && o.existing === 20, 'a second store: every chunk already held, stamped again');
      const first = outcomes.find((x) => x.target.id === o.target.id);
      if (o.ok && first?.ok) t.true(o.stamp > first.stamp, 'a newer stamp');
    }
    t.deepEqual(
      await copies(chunks.map((c) => c.hash)),
      chunks.map(() => 3),
    );
  },
);

test.serial(
  'a chunk not matching its hash is refused by the head with INVALID_ARGUMENT; nothing of the batch is stored anywhere',
  async (t) => {
    const good = randomBytes(20_000);
    const bad = randomBytes(20_000);
    const chunks = [
      { hash: hashChunk(good), data: good },
      { hash: hashChunk(randomBytes(10)), data: bad },
    ];
    const outcomes = await client.chunks.store(client.chunks.batch(chunks), targets());
    const head = outcomes[0]!;
    t.false(head.ok);
    if (!head.ok) {
      t.true(isStdchkError(head.error, 'INVALID_ARGUMENT'), String(head.error));
      t.regex(head.error.message, /does not match its hash/);
    }
    t.deepEqual(await copies([chunks[0]!.hash]), [0], 'the good chunk of the batch was stored nowhere');
    // The writer fails cleanly on it (INVALID_ARGUMENT is not retried elsewhere).
  },
);

test.serial(
  'a dead link: the chain reports who stored, the rest were not reached; the writer replaces it and goes on',
  async (t) => {
    const dead: ChunkTarget = { id: 'gone', address: '127.0.0.1:1', dataAddress: '127.0.0.1:1' };
    const [a, , c] = targets() as [ChunkTarget, ChunkTarget, ChunkTarget];
    const data = randomBytes(30_000);
    const batch = client.chunks.batch([{ hash: hashChunk(data), data }]);
    const outcomes = await client.chunks.store(batch, [a, dead, c]);
    t.true(outcomes[0]!.ok, 'the head stored it');
    t.false(outcomes[1]!.ok);
    if (!outcomes[1]!.ok) {
      t.true(outcomes[1]!.attempted);
      t.regex(outcomes[1]!.error.message, /gone: .*ECONNREFUSED|cannot connect/);
    }
    t.false(outcomes[2]!.ok);
    if (!outcomes[2]!.ok) t.false(outcomes[2]!.attempted, 'the one after the dead link was never reached');
    // A dead head: nothing reached.
    const headless = await client.chunks.store(batch, [dead, a]);
    t.deepEqual(
      headless.map((o) => !o.ok && o.attempted),
      [true, false],
    );
  },
);

test.serial(
  "a client on the benefactor's machine uses its Unix socket (0600, in the 0700 store); another machine's id, another benefactor's socket, or none: TCP",
  async (t) => {
    for (const b of benefactors) {
      t.regex(b.dataSocket, /\/data\.sock$/);
      const st = statSync(b.dataSocket);
      t.true(st.isSocket());
      t.is(st.mode & 0o777, 0o600, 'only the benefactor user (and root) may connect');
      t.is(statSync(path.dirname(b.dataSocket)).mode & 0o077, 0, 'in a folder only that user can enter');
    }
    const store = async (target: ChunkTarget) => {
      const data = randomBytes(10_000);
      const [o] = await client.chunks.store(client.chunks.batch([{ hash: hashChunk(data), data }]), [target]);
      return o!;
    };
    const [a, b] = benefactors as [BenefactorHandle, BenefactorHandle];
    const here = localHostId();
    t.regex(here, /^[0-9a-f-]{36}$/, 'the kernel boot id');
    // TCP unreachable: only the socket can have carried it.
    const viaSocket = await store({
      id: a.id,
      address: a.address,
      dataAddress: '127.0.0.1:1',
      dataSocket: a.dataSocket,
      dataSocketHost: here,
    });
    t.true(viaSocket.ok, viaSocket.ok ? '' : viaSocket.error.message);
    // The same socket advertised from another machine: never tried, so TCP (unreachable here) fails.
    const remote = await store({
      id: a.id,
      address: a.address,
      dataAddress: '127.0.0.1:1',
      dataSocket: a.dataSocket,
      dataSocketHost: 'another-machine',
    });
    t.false(remote.ok);
    // The socket of another benefactor: the handshake names the wrong one, TCP is used.
    const wrong = await store({
      id: a.id,
      address: a.address,
      dataAddress: a.dataAddress,
      dataSocket: b.dataSocket,
      dataSocketHost: here,
    });
    t.true(wrong.ok, wrong.ok ? '' : wrong.error.message);
    // No socket there at all.
    const missing = await store({
      id: b.id,
      address: b.address,
      dataAddress: b.dataAddress,
      dataSocket: '/nonexistent/data.sock',
      dataSocketHost: here,
    });
    t.true(missing.ok, missing.ok ? '' : missing.error.message);
    // Placement hands each benefactor's socket and machine out.
    const alloc = await unary(client.manager, 'allocateTargets', { count: 3, bytes: 1, exclude: [] });
    t.deepEqual(
      alloc.targets.map((x) => [x.dataSocket, x.dataSocketHost]).sort(),
      benefactors.map((x) => [x.dataSocket, here]).sort(),
    );
    const s = await client.status();
    t.deepEqual(s.benefactors.map((x) => x.dataSocket).sort(), benefactors.map((x) => x.dataSocket).sort());
  },
);

// ---------------------------------------------------------------- raw peers

const raw = (address: string) => rawPeer(address);
const authenticated = (address: string, id: string) => authenticatedPeer(address, id, SECRET);

async function stillServes(t: ExecutionContext): Promise<void> {
  const data = randomBytes(50_000);
  const hash = hashChunk(data);
  const outcomes = await client.chunks.store(client.chunks.batch([{ hash, data }]), targets());
  t.true(
    outcomes.every((o) => o.ok),
    'the benefactors still serve a good client',
  );
  t.deepEqual(await copies([hash]), [3]);
}

test.serial(
  'a peer without the secret, or with another, is refused before any request is read (and it is logged)',
  async (t) => {
    const b = benefactors[0]!;
    const before = logLines.length;
    // No HELLO at all: a request frame first.
    const r1 = await raw(b.dataAddress);
    r1.send(frameParts(FrameType.READ, 1, encodeReadMeta([randomBytes(32)])));
    const e1 = await r1.next();
    t.is(e1.type, FrameType.ERROR);
    t.is(e1.id, 0);
    t.regex(decodeError(e1).message, /unexpected frame: READ/);
    await r1.closed;
    // No secret.
    const r2 = await raw(b.dataAddress);
    r2.send(frameParts(FrameType.HELLO, 0, new ClientHandshake(undefined, '', 'x').hello()));
    const e2 = decodeError(await r2.next());
    t.true(isStdchkError(e2, 'UNAUTHENTICATED'));
    t.regex(e2.message, /missing cluster credentials/);
    await r2.closed;
    // Another secret: the client side already sees the server does not prove ours; the server refuses the proof.
    const r3 = await raw(b.dataAddress);
    const other = new ClientHandshake(randomBytes(32), '', 'x');
    r3.send(frameParts(FrameType.HELLO, 0, other.hello()));
    await r3.next();
    r3.send(frameParts(FrameType.PROOF, 0, randomBytes(32)));
    const e3 = decodeError(await r3.next());
    t.true(isStdchkError(e3, 'UNAUTHENTICATED'));
    t.regex(e3.message, /wrong cluster secret/);
    await r3.closed;
    // The engine itself, with a wrong secret: a clear error, nothing stored.
    const intruder = new StorageClient({ managerAddress, secret: randomBytes(32), chunkTransport: 'framed' });
    const data = randomBytes(1000);
    const [o] = await intruder.chunks.store(intruder.chunks.batch([{ hash: hashChunk(data), data }]), [
      targets()[0]!,
    ]);
    intruder.close();
    t.false(o!.ok);
    if (!o!.ok) t.true(isStdchkError(o!.error, 'UNAUTHENTICATED'), String(o!.error));
    t.deepEqual(await copies([hashChunk(data)]), [0]);
    const logged = logLines.slice(before).filter((l) => l.includes('refused a data connection'));
    t.true(logged.length >= 3, `refusals logged: ${logged.length}`);
    t.true(
      logged.every((l) => l.includes('"peer":"127.0.0.1:')),
      'with the peer',
    );
    await stillServes(t);
  },
);

test.serial(
  'malformed frames after the handshake get an ERROR; a broken header closes the connection; the benefactor keeps serving',
  async (t) => {
    const b = benefactors[1]!;
    const r = await authenticated(b.dataAddress, b.id);
    // A STORE whose refs and data disagree: an ERROR for that request, the connection stays.
    const data = randomBytes(1000);
    const refs = packRefs([{ hash: hashChunk(data), data }]);
    r.send(frameParts(FrameType.STORE, 5, encodeStoreMeta(10_000, [], refs), [data.subarray(1)]));
    const e1 = await r.next();
    t.is(e1.type, FrameType.ERROR);
    t.is(e1.id, 5);
    t.regex(decodeError(e1).message, /refs name 1000\+ bytes but the data holds 999/);
    // Trailing unknown bytes in the metadata.
    r.send(
      frameParts(FrameType.STORE, 6, Buffer.concat([encodeStoreMeta(10_000, [], refs), Buffer.from([9])]), [
        data,
      ]),
    );
    t.regex(decodeError(await r.next()).message, /refs need 36 bytes, the metadata has 37/);
    // A wrong hash.
    const wrong = packRefs([{ hash: randomBytes(32), data }]);
    r.send(frameParts(FrameType.STORE, 7, encodeStoreMeta(10_000, [], wrong), [data]));
    const e3 = await r.next();
    t.is(e3.id, 7);
    t.true(isStdchkError(decodeError(e3), 'INVALID_ARGUMENT'));
    t.regex(decodeError(e3).message, /does not match its hash/);
    // A good request on the same connection still works.
    r.send(frameParts(FrameType.STORE, 8, encodeStoreMeta(10_000, [], refs), [data]));
    const ack = await r.next();
    t.is(ack.type, FrameType.STORE_ACK);
    t.true(decodeStoreAck(ack)[0]!.ok);
    // Request id 0 is reserved; an oversized length: ERROR id 0 and the connection is closed.
    r.send(
      encodeHeader({ type: FrameType.READ, flags: 0, id: 9, metaLength: MAX_META_BYTES + 1, dataLength: 0 }),
    );
    const e4 = await r.next();
    t.is(e4.id, 0);
    t.true(isStdchkError(decodeError(e4), 'TOO_LARGE'));
    await r.closed;
    // Another connection: garbage after the handshake.
    const r2 = await authenticated(b.dataAddress, b.id);
    r2.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    t.regex(decodeError(await r2.next()).message, /not a stdchk data frame/);
    await r2.closed;
    t.true(logLines.some((l) => l.includes('closed a data connection that broke the frame format')));
    t.true(logLines.some((l) => l.includes('data request refused')));
    await stillServes(t);
  },
);
