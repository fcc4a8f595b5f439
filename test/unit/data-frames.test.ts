import test from 'ava';
import { randomBytes } from 'node:crypto';
import {
  FLAG_MORE,
  FRAME_MAGIC,
  FrameDecoder,
  FrameType,
  HEADER_BYTES,
  MAX_DATA_BYTES,
  MAX_META_BYTES,
  ProtocolError,
  decodeError,
  decodeRead,
  decodeReadReply,
  decodeStore,
  decodeStoreAck,
  encodeErrorMeta,
  encodeHeader,
  encodeReadMeta,
  encodeReadReplyMeta,
  encodeStoreAck,
  encodeStoreMeta,
  frameParts,
  packRefs,
} from '../../src/transport/frames.ts';
import type { Frame, FrameLimits } from '../../src/transport/frames.ts';
import {
  ClientHandshake,
  NONCE_BYTES,
  PROOF_BYTES,
  ServerHandshake,
  decodeWelcome,
  encodeHello,
} from '../../src/transport/handshake.ts';
import { hashChunk } from '../../src/hashing/index.ts';
import { isStdchkError } from '../../src/errors/index.ts';

// The framed chunk stream's codec and handshake (docs/data-path.md), byte by
// byte: frames cut anywhere still decode, and every malformed header or
// metadata is refused with a clear error before anything is buffered.

const ALL: FrameLimits = {
  maxMetaBytes: MAX_META_BYTES,
  maxDataBytes: MAX_DATA_BYTES,
  types: new Set(Object.values(FrameType)),
};

function decodeAll(bytes: Buffer, pieces: number[], limits = ALL): Frame[] {
  const out: Frame[] = [];
  const d = new FrameDecoder(limits, (f) => out.push(f));
  let pos = 0;
  for (const n of pieces) {
    d.push(bytes.subarray(pos, pos + n));
    pos += n;
  }
  d.push(bytes.subarray(pos));
  return out;
}

function chunks(n: number): { hash: Buffer; data: Buffer }[] {
  return Array.from({ length: n }, (_, i) => {
    const data = randomBytes(1000 + i * 37);
    return { hash: hashChunk(data), data };
  });
}

function frame(type: number, id: number, meta: Buffer, data: Buffer = Buffer.alloc(0), flags = 0): Frame {
  return { type, flags, id, metaLength: meta.length, dataLength: data.length, meta, data };
}

test('frames cut at every possible point decode to the same frames, with chunk views in place', (t) => {
  const cs = chunks(5);
  const refs = packRefs(cs);
  const store = Buffer.concat(
    frameParts(
      FrameType.STORE,
      7,
      encodeStoreMeta(30_000, [{ id: 'b2', dataAddress: '127.0.0.1:9' }], refs),
      cs.map((c) => c.data),
    ),
  );
  const ack = Buffer.concat(
    frameParts(
      FrameType.STORE_ACK,
      7,
      encodeStoreAck([{ id: 'b1', ok: true, stamp: 2 ** 40 + 5, stored: 3, existing: 2 }]),
    ),
  );
  const empty = Buffer.concat(frameParts(FrameType.READY, 0, Buffer.alloc(0)));
  const stream = Buffer.concat([store, empty, ack, empty]);
  for (const cutAt of [
    0,
    1,
    5,
    15,
    16,
    17,
    100,
    store.length - 1,
    store.length,
    store.length + 8,
    stream.length - 3,
  ]) {
    const got = decodeAll(stream, [cutAt]);
    t.is(got.length, 4, `cut at ${cutAt}`);
    const req = decodeStore(got[0]!);
    t.deepEqual(req.chain, [{ id: 'b2', dataAddress: '127.0.0.1:9' }]);
    t.is(req.timeoutMs, 30_000);
    t.deepEqual(
      req.chunks.map((c) => c.data),
      cs.map((c) => c.data),
    );
    t.deepEqual(decodeStoreAck(got[2]!), [
      { id: 'b1', ok: true, stamp: 2 ** 40 + 5, stored: 3, existing: 2 },
    ]);
    t.is(got[1]!.type, FrameType.READY);
  }
  // Byte by byte too.
  const got = decodeAll(
    stream,
    Array.from({ length: stream.length }, () => 1),
  );
  t.is(got.length, 4);
  // A frame inside one received piece is not copied: its chunks are views of that piece.
  const inPlace = decodeAll(stream, []);
  const first = decodeStore(inPlace[0]!).chunks[0]!.data;
  t.is(first.buffer, stream.buffer, 'a chunk of a whole frame in one piece is a view of it');
});

test('acks carry every replica, failures included, and read replies carry misses', (t) => {
  const results = [
    { id: 'a', ok: true as const, stamp: 9_007_199_254_740_991, stored: 1, existing: 0 },
    { id: 'b', ok: false as const, code: 'NO_SPACE' as const, message: 'chunk store is full ☃' },
  ];
  t.deepEqual(decodeStoreAck(frame(FrameType.STORE_ACK, 1, encodeStoreAck(results))), results);
  const cs = chunks(3);
  const meta = encodeReadReplyMeta([
    { hash: cs[0]!.hash, data: cs[0]!.data },
    { hash: cs[1]!.hash, data: undefined },
    { hash: cs[2]!.hash, data: cs[2]!.data },
  ]);
  const r = decodeReadReply(
    frame(FrameType.READ_REPLY, 3, meta, Buffer.concat([cs[0]!.data, cs[2]!.data]), FLAG_MORE),
  );
  t.deepEqual(
    r.chunks.map((c) => c.data),
    [cs[0]!.data, cs[2]!.data],
  );
  t.deepEqual(r.missing, [cs[1]!.hash]);
  const hashes = cs.map((c) => c.hash);
  t.deepEqual(decodeRead(frame(FrameType.READ, 4, encodeReadMeta(hashes))), hashes);
  const e = decodeError(
    frame(FrameType.ERROR, 4, encodeErrorMeta('UNAUTHENTICATED', 'wrong cluster secret')),
  );
  t.true(isStdchkError(e, 'UNAUTHENTICATED'));
  t.is(e.message, 'wrong cluster secret');
  t.true(isStdchkError(decodeError(frame(FrameType.ERROR, 4, Buffer.from([200, 1]))), 'INTERNAL'));
});

test('a malformed header is refused from its 16 bytes, before its body is buffered', (t) => {
  const good = encodeHeader({ type: FrameType.STORE, flags: 0, id: 1, metaLength: 10, dataLength: 10 });
  const cases: [string, (b: Buffer) => void, RegExp, string][] = [
    ['magic', (b) => (b[0] = 0x47), /not a stdchk data frame/, 'INVALID_ARGUMENT'],
    ['version', (b) => (b[1] = 2), /frame version 2/, 'INVALID_ARGUMENT'],
    ['type', (b) => (b[2] = 99), /unexpected frame: unknown type 99/, 'INVALID_ARGUMENT'],
    ['flags', (b) => (b[3] = 0x80), /unknown flags 0x80/, 'INVALID_ARGUMENT'],
    ['MORE on a STORE', (b) => (b[3] = FLAG_MORE), /unknown flags 0x1/, 'INVALID_ARGUMENT'],
    [
      'metadata length',
      (b) => b.writeUInt32LE(MAX_META_BYTES + 1, 8),
      /metadata of 4194305 bytes/,
      'TOO_LARGE',
    ],
    ['data length', (b) => b.writeUInt32LE(0xffffffff, 12), /data of 4294967295 bytes; at most/, 'TOO_LARGE'],
  ];
  for (const [what, change, re, code] of cases) {
    const h = Buffer.from(good);
    change(h);
    let frames = 0;
    const d = new FrameDecoder(ALL, () => frames++);
    const e = t.throws(() => d.push(h), undefined, what);
    t.true(e instanceof ProtocolError, what);
    t.true(isStdchkError(e, code as 'INVALID_ARGUMENT'), `${what}: ${String(e)}`);
    t.regex(e!.message, re, what);
    t.is(d.buffered, 0, `${what}: nothing of the body was buffered`);
    d.push(Buffer.concat(frameParts(FrameType.READY, 0, Buffer.alloc(0))));
    t.is(frames, 0, `${what}: a failed decoder takes nothing more`);
  }
  // A type this side does not accept here (a handshake frame on a ready connection).
  const limits = { ...ALL, types: new Set<number>([FrameType.STORE, FrameType.READ]) };
  const d = new FrameDecoder(limits, () => undefined);
  t.throws(() => d.push(Buffer.concat(frameParts(FrameType.HELLO, 0, Buffer.alloc(4)))), {
    message: /unexpected frame: HELLO/,
  });
  t.is(HEADER_BYTES, 16);
  t.is(good[0], FRAME_MAGIC);
});

test('malformed STORE, READ and ack metadata is refused with INVALID_ARGUMENT and a reason', (t) => {
  const cs = chunks(2);
  const refs = packRefs(cs);
  const data = Buffer.concat(cs.map((c) => c.data));
  const bad = (meta: Buffer, d: Buffer, re: RegExp, decode: (f: Frame) => unknown = decodeStore) => {
    const e = t.throws(() => decode(frame(FrameType.STORE, 5, meta, d)));
    t.true(isStdchkError(e, 'INVALID_ARGUMENT'), String(e));
    t.regex(e!.message, re);
  };
  const meta = encodeStoreMeta(1000, [], refs);
  bad(meta.subarray(0, 3), data, /metadata ends inside timeout/);
  bad(meta.subarray(0, meta.length - 1), data, /2 refs need 72 bytes, the metadata has 71/);
  bad(Buffer.concat([meta, Buffer.from([0])]), data, /2 refs need 72 bytes, the metadata has 73/);
  bad(meta, data.subarray(1), /refs name \d+\+? bytes but the data holds/);
  bad(meta, Buffer.concat([data, Buffer.from([1])]), /refs name \d+ bytes but the data holds \d+/);
  bad(encodeStoreMeta(0, [], refs), data, /timeout 0 ms/);
  bad(encodeStoreMeta(1000, [], Buffer.alloc(0)), Buffer.alloc(0), /0 chunks, not 1\.\.4096/);
  const zeroLength = Buffer.from(refs);
  zeroLength.writeUInt32LE(0, 32);
  bad(encodeStoreMeta(1000, [], zeroLength), data, /chunk 0 has 0 bytes/);
  bad(encodeStoreMeta(1000, [{ id: 'a b', dataAddress: 'x:1' }], refs), data, /malformed hop id/);
  bad(encodeStoreMeta(1000, [{ id: 'ok', dataAddress: 'x y:1' }], refs), data, /malformed hop address/);
  bad(
    encodeStoreMeta(
      1000,
      [
        { id: 'a', dataAddress: 'h:1' },
        { id: 'a', dataAddress: 'h:2' },
      ],
      refs,
    ),
    data,
    /benefactor a twice in the chain/,
  );
  const longChain = Array.from({ length: 16 }, (_, i) => ({ id: `b${i}`, dataAddress: `h:${i + 1}` }));
  bad(encodeStoreMeta(1000, longChain, refs), data, /a chain of 16 more benefactors, at most 15/);
  // READ: counts and lengths must agree, no data, at least one hash.
  bad(encodeReadMeta([]), Buffer.alloc(0), /0 hashes/, decodeRead);
  bad(encodeReadMeta([cs[0]!.hash]).subarray(0, 20), Buffer.alloc(0), /1 hashes need 32 bytes/, decodeRead);
  bad(encodeReadMeta([cs[0]!.hash]), Buffer.from([1]), /unexpected data/, decodeRead);
  // Acks: unknown trailing bytes are refused.
  const ack = encodeStoreAck([{ id: 'a', ok: true, stamp: 1, stored: 1, existing: 0 }]);
  bad(
    Buffer.concat([ack, Buffer.from([7])]),
    Buffer.alloc(0),
    /1 unknown bytes after the last field/,
    decodeStoreAck,
  );
});

test('handshake: both sides prove the secret over both nonces; no proof works on another connection', (t) => {
  const secret = randomBytes(32);
  const server = new ServerHandshake('benefactor-1', secret);
  const client = new ClientHandshake(secret, 'benefactor-1', 'test');
  const welcome = server.onHello(frame(FrameType.HELLO, 0, client.hello()));
  const { proof, id } = client.onWelcome(frame(FrameType.WELCOME, 0, welcome));
  t.is(id, 'benefactor-1');
  t.is(proof.length, PROOF_BYTES);
  t.notThrows(() => server.onProof(frame(FrameType.PROOF, 0, proof)));

  // Replay: the same client proof on a new connection (new server nonce) is refused.
  const server2 = new ServerHandshake('benefactor-1', secret);
  server2.onHello(frame(FrameType.HELLO, 0, client.hello()));
  const replay = t.throws(() => server2.onProof(frame(FrameType.PROOF, 0, proof)));
  t.true(isStdchkError(replay, 'UNAUTHENTICATED'));
  t.regex(replay!.message, /wrong cluster secret/);

  // Reflection: the server's own proof sent back as the client's is refused (the labels differ).
  const server3 = new ServerHandshake('benefactor-1', secret);
  const c3 = new ClientHandshake(secret, '', 'test');
  const w3 = decodeWelcome(
    frame(FrameType.WELCOME, 0, server3.onHello(frame(FrameType.HELLO, 0, c3.hello()))),
  );
  t.throws(() => server3.onProof(frame(FrameType.PROOF, 0, w3.proof)), { message: /wrong cluster secret/ });

  // A client with another secret: it refuses the server, and the server refuses its proof.
  const other = randomBytes(32);
  const server4 = new ServerHandshake('benefactor-1', secret);
  const intruder = new ClientHandshake(other, 'benefactor-1', 'test');
  const w4 = server4.onHello(frame(FrameType.HELLO, 0, intruder.hello()));
  t.throws(() => intruder.onWelcome(frame(FrameType.WELCOME, 0, w4)), {
    message: /did not prove the cluster secret/,
  });
  t.throws(() => server4.onProof(frame(FrameType.PROOF, 0, randomBytes(32))), {
    message: /wrong cluster secret/,
  });
  t.throws(() => server4.onProof(frame(FrameType.PROOF, 0, Buffer.alloc(0))), {
    message: /malformed cluster credentials/,
  });

  // No secret at all on the client: refused at HELLO, before any request.
  const server5 = new ServerHandshake('benefactor-1', secret);
  const none = new ClientHandshake(undefined, '', 'test');
  t.throws(() => server5.onHello(frame(FrameType.HELLO, 0, none.hello())), {
    message: /missing cluster credentials/,
  });

  // A server without the secret: a client that has it refuses it (the server must prove it too).
  const open = new ServerHandshake('benefactor-1', undefined);
  const w6 = open.onHello(frame(FrameType.HELLO, 0, client.hello()));
  t.throws(() => client.onWelcome(frame(FrameType.WELCOME, 0, w6)), {
    message: /did not prove the cluster secret/,
  });

  // The wrong benefactor at an address: both sides say so.
  const elsewhere = new ServerHandshake('benefactor-2', secret);
  t.throws(() => elsewhere.onHello(frame(FrameType.HELLO, 0, client.hello())), {
    message: /this is benefactor benefactor-2, not benefactor-1/,
  });
  const anyone = new ClientHandshake(secret, '', 'test');
  const w7 = elsewhere.onHello(frame(FrameType.HELLO, 0, anyone.hello()));
  t.notThrows(() => anyone.onWelcome(frame(FrameType.WELCOME, 0, w7)));
  const picky = new ClientHandshake(secret, 'benefactor-1', 'test');
  t.throws(() => picky.onWelcome(frame(FrameType.WELCOME, 0, w7)), {
    message: /is benefactor benefactor-2, not benefactor-1/,
  });
});

test('handshake: malformed HELLO and WELCOME are refused', (t) => {
  const server = new ServerHandshake('b', randomBytes(32));
  const hello = encodeHello({ hasSecret: true, nonce: randomBytes(NONCE_BYTES), expectId: '' });
  for (const [meta, re] of [
    [hello.subarray(0, 10), /metadata ends inside nonce/],
    [Buffer.concat([hello, Buffer.from([1])]), /unknown bytes after the last field/],
    [Buffer.concat([Buffer.from([0x82]), hello.subarray(1)]), /unknown flags 0x82/],
    [
      encodeHello({ hasSecret: true, nonce: randomBytes(NONCE_BYTES), expectId: 'x y' }),
      /malformed expected id/,
    ],
  ] as [Buffer, RegExp][]) {
    const e = t.throws(() => server.onHello(frame(FrameType.HELLO, 0, meta)));
    t.regex(e!.message, re);
  }
  const client = new ClientHandshake(randomBytes(32), '', 'test');
  t.throws(() => client.onWelcome(frame(FrameType.WELCOME, 0, Buffer.alloc(5))), {
    message: /metadata ends inside/,
  });
});
