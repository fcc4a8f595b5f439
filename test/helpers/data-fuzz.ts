import { hashChunk } from '../../src/hashing/index.ts';
import {
  FLAG_MORE,
  FrameDecoder,
  FrameType,
  HEADER_BYTES,
  MAX_DATA_BYTES,
  MAX_META_BYTES,
  ProtocolError,
  decodeError,
  encodeHeader,
  encodeReadMeta,
  encodeStoreMeta,
  frameParts,
  packRefs,
} from '../../src/transport/frames.ts';
import type { ChainHop, Frame } from '../../src/transport/frames.ts';
import { ClientHandshake, encodeHello } from '../../src/transport/handshake.ts';
import { authenticatedPeer, rawPeer } from './data-stream.ts';
import type { RawPeer } from './data-stream.ts';
import { mutate } from './fuzz.ts';
import type { Rng } from './fuzz.ts';

/**
 * A seeded fuzzer of the benefactors' framed chunk stream (docs/data-path.md,
 * docs/bad-input.md). Each case is one connection: either an unauthenticated
 * peer (garbage, frames before the handshake, a HELLO without the secret, a
 * wrong or replayed proof), or an authenticated one sending structured,
 * mutated, random-header or random frames. What the benefactor must answer
 * is worked out by running the same bytes through the frame decoder with
 * the server's limits: an ERROR (or an ack) for every complete request up to
 * the first frame that breaks the format, then ERROR 0 and the connection
 * closed. Never an INTERNAL error, never silence, never READY for a peer
 * without the secret.
 */

export type DataMode = 'structured' | 'mutated' | 'header' | 'random' | 'unauthenticated';

export interface DataTargetInfo {
  id: string;
  dataAddress: string;
}

export interface DataCase {
  index: number;
  mode: DataMode;
  target: DataTargetInfo;
  /** Unauthenticated cases: how the handshake goes wrong. */
  hello?: 'garbage' | 'request-first' | 'no-secret' | 'wrong-proof' | 'replayed-proof' | 'bad-hello';
  payload: Buffer;
}

export interface DataOutcome {
  /** Final replies by request id (STORE_ACK, last READ_REPLY, ERROR). */
  replies: Map<number, Frame[]>;
  errors: { id: number; code: string; message: string }[];
  closed: boolean;
  ready: boolean;
  timedOut: boolean;
}

const REQUEST_TYPES = new Set<number>([FrameType.STORE, FrameType.READ]);

function chunk(rng: Rng, goodHash: boolean): { hash: Buffer; data: Buffer } {
  const data = rng.bytes(
    rng.weighted([
      [6, rng.int(1, 4096)],
      [3, rng.int(4096, 65_536)],
      [1, rng.int(65_536, 256 * 1024)],
    ]),
  );
  return { hash: goodHash ? hashChunk(data) : rng.bytes(32), data };
}

function hop(rng: Rng, targets: DataTargetInfo[]): ChainHop {
  const real = rng.pick(targets);
  return rng.weighted<ChainHop>([
    [4, { id: real.id, dataAddress: real.dataAddress }],
    [2, { id: rng.pick(['x', 'nobody', real.id.slice(0, 8)]), dataAddress: real.dataAddress }],
    [2, { id: real.id, dataAddress: `127.0.0.1:${rng.pick([1, 9, 65_535])}` }],
    [1, { id: 'y', dataAddress: rng.pick(['[::1]:1', 'localhost:1', '127.0.0.1:0']) }],
  ]);
}

/** One well-formed request (sometimes with lies in its fields), as bytes. */
function structuredFrame(rng: Rng, id: number, targets: DataTargetInfo[], known: Buffer[]): Buffer {
  if (rng.chance(0.55)) {
    const n = rng.int(1, 8);
    const chunks = Array.from({ length: n }, () => chunk(rng, rng.chance(0.75)));
    let refs = packRefs(chunks);
    if (rng.chance(0.1)) refs = refs.subarray(0, refs.length - rng.int(1, 36));
    const chain: ChainHop[] = [];
    for (
      let k = rng.weighted([
        [5, 0],
        [3, 1],
        [2, rng.int(2, 3)],
      ]);
      k > 0;
      k--
    ) {
      const h = hop(rng, targets);
      if (!chain.some((c) => c.id === h.id)) chain.push(h);
    }
    const timeout = rng.pick([1, 1000, 5000, 30_000, 600_000, 0, 600_001, 0xffffffff]);
    let data = chunks.map((c) => c.data);
    if (rng.chance(0.1)) data = [Buffer.concat(data).subarray(0, rng.int(0, Buffer.concat(data).length))];
    if (rng.chance(0.05)) data.push(rng.bytes(rng.int(1, 100)));
    return Buffer.concat(frameParts(FrameType.STORE, id, encodeStoreMeta(timeout, chain, refs), data));
  }
  const n = rng.int(1, 64);
  const hashes = Array.from({ length: n }, () =>
    known.length && rng.chance(0.5) ? rng.pick(known) : rng.bytes(32),
  );
  let meta = encodeReadMeta(hashes);
  if (rng.chance(0.1)) meta.writeUInt32LE(rng.pick([0, n + 1, 0xffffffff, 65_537]), 0);
  if (rng.chance(0.05)) meta = Buffer.concat([meta, rng.bytes(rng.int(1, 40))]);
  return Buffer.concat(frameParts(FrameType.READ, id, meta, rng.chance(0.05) ? [rng.bytes(10)] : []));
}

function randomHeader(rng: Rng, id: number): Buffer {
  const h = encodeHeader({
    type: rng.weighted([
      [4, FrameType.STORE],
      [3, FrameType.READ],
      [2, rng.pick(Object.values(FrameType))],
      [1, rng.int(0, 255)],
    ]),
    flags: rng.chance(0.8) ? 0 : rng.int(0, 255),
    id: rng.chance(0.1) ? 0 : id,
    metaLength: rng.weighted([
      [6, rng.int(0, 300)],
      [2, rng.pick([MAX_META_BYTES, MAX_META_BYTES + 1])],
      [1, rng.int(0, 0xffffffff)],
    ]),
    dataLength: rng.weighted([
      [6, rng.int(0, 2000)],
      [2, rng.pick([MAX_DATA_BYTES, MAX_DATA_BYTES + 1])],
      [1, rng.int(0, 0xffffffff)],
    ]),
  });
  if (rng.chance(0.1)) h[0] = rng.int(0, 255);
  if (rng.chance(0.1)) h[1] = rng.int(0, 255);
  // Some of the body it promised (the rest never comes: the benefactor must not hang on it forever).
  return Buffer.concat([h, rng.bytes(rng.int(0, 2000))]);
}

export function makeDataCase(rng: Rng, index: number, targets: DataTargetInfo[], known: Buffer[]): DataCase {
  const target = rng.pick(targets);
  const mode = rng.weighted<DataMode>([
    [40, 'structured'],
    [20, 'mutated'],
    [12, 'header'],
    [10, 'random'],
    [18, 'unauthenticated'],
  ]);
  let id = rng.int(1, 1000);
  const frames = () => {
    const parts: Buffer[] = [];
    for (let k = rng.int(1, 4); k > 0; k--) parts.push(structuredFrame(rng, id++, targets, known));
    return Buffer.concat(parts);
  };
  switch (mode) {
    case 'structured':
      return { index, mode, target, payload: frames() };
    case 'mutated':
      return { index, mode, target, payload: mutate(rng, frames()) };
    case 'header':
      return { index, mode, target, payload: randomHeader(rng, id) };
    case 'random':
      return { index, mode, target, payload: rng.bytes(rng.length(8192)) };
    default: {
      const hello = rng.pick([
        'garbage',
        'request-first',
        'no-secret',
        'wrong-proof',
        'replayed-proof',
        'bad-hello',
      ] as const);
      const payload =
        hello === 'garbage'
          ? rng.bytes(rng.int(HEADER_BYTES, 600))
          : hello === 'request-first'
            ? structuredFrame(rng, id, targets, known)
            : hello === 'bad-hello'
              ? Buffer.concat(
                  frameParts(
                    FrameType.HELLO,
                    0,
                    mutate(rng, encodeHello({ hasSecret: true, nonce: rng.bytes(32), expectId: target.id })),
                  ),
                )
              : Buffer.alloc(0);
      return { index, mode, target, hello, payload };
    }
  }
}

/** What the benefactor must do with `payload` on a ready connection: which ids it answers, and whether it closes. */
export function expectations(payload: Buffer): { ids: Map<number, number>; closes: boolean } {
  const ids = new Map<number, number>();
  let closes = false;
  const d = new FrameDecoder(
    { maxMetaBytes: MAX_META_BYTES, maxDataBytes: MAX_DATA_BYTES, types: REQUEST_TYPES },
    (f) => {
      if (f.id === 0) throw new ProtocolError('INVALID_ARGUMENT', 'id 0');
      ids.set(f.id, (ids.get(f.id) ?? 0) + 1);
    },
  );
  try {
    d.push(payload);
  } catch {
    closes = true;
  }
  return { ids, closes };
}

/** Collects the benefactor's answers until it closed, every expected id was answered, or `timeoutMs`. */
async function collect(
  peer: RawPeer,
  expect: { ids: Map<number, number>; closes: boolean },
  timeoutMs: number,
): Promise<DataOutcome> {
  const out: DataOutcome = { replies: new Map(), errors: [], closed: false, ready: false, timedOut: false };
  const pending = new Map(expect.ids);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = !expect.closes && [...pending.values()].every((n) => n <= 0);
    if (done) break;
    const left = deadline - Date.now();
    if (left <= 0) {
      out.timedOut = true;
      break;
    }
    let f: Frame;
    try {
      f = await peer.next(left);
    } catch (e) {
      if ((e as Error).message === 'connection closed') out.closed = true;
      else out.timedOut = true;
      break;
    }
    if (f.type === FrameType.ERROR) {
      const e = decodeError(f);
      out.errors.push({ id: f.id, code: e.code, message: e.message });
    }
    if (f.type === FrameType.READY) out.ready = true;
    const final = f.type !== FrameType.READ_REPLY || (f.flags & FLAG_MORE) === 0;
    if (final && f.id !== 0) {
      const list = out.replies.get(f.id) ?? [];
      list.push(f);
      out.replies.set(f.id, list);
      pending.set(f.id, (pending.get(f.id) ?? 0) - 1);
    }
  }
  return out;
}

/** A proof recorded from a real handshake, for the replay cases. */
export interface RecordedProof {
  nonce: Buffer;
  proof: Buffer;
}

/** Runs one case; returns why it misbehaved, or undefined. */
export async function runDataCase(
  c: DataCase,
  secret: Buffer,
  recorded: RecordedProof[],
  timeoutMs: number,
): Promise<string | undefined> {
  if (c.mode === 'unauthenticated') return runUnauthenticated(c, secret, recorded, timeoutMs);
  const peer = await authenticatedPeer(c.target.dataAddress, c.target.id, secret);
  try {
    const expect = expectations(c.payload);
    peer.send(c.payload);
    const o = await collect(peer, expect, timeoutMs);
    const internal = o.errors.find((e) => e.code === 'INTERNAL');
    if (internal) return `INTERNAL error: ${internal.message}`;
    if (o.timedOut) {
      const missing = [...expect.ids]
        .filter(([id, n]) => (o.replies.get(id)?.length ?? 0) < n)
        .map(([id]) => id);
      return expect.closes
        ? 'the benefactor neither closed the connection nor answered in time'
        : `no answer in time to request(s) ${missing.slice(0, 5).join(', ')}`;
    }
    if (expect.closes && !o.errors.some((e) => e.id === 0)) return 'closed without saying why (no ERROR 0)';
    if (!expect.closes && o.closed) return 'closed a connection that broke no rule';
    return undefined;
  } finally {
    peer.close();
  }
}

async function runUnauthenticated(
  c: DataCase,
  secret: Buffer,
  recorded: RecordedProof[],
  timeoutMs: number,
): Promise<string | undefined> {
  const peer = await rawPeer(c.target.dataAddress);
  try {
    let expectClose = true;
    switch (c.hello) {
      case 'garbage':
      case 'request-first':
      case 'bad-hello':
        peer.send(c.payload);
        // Garbage may look like an incomplete HELLO: then the benefactor rightly waits (until its handshake timeout).
        if (c.hello === 'garbage' && !handshakeBreaks(c.payload)) expectClose = false;
        break;
      case 'no-secret':
        peer.send(
          frameParts(FrameType.HELLO, 0, new ClientHandshake(undefined, c.target.id, 'fuzz').hello()),
        );
        break;
      case 'wrong-proof': {
        const hs = new ClientHandshake(Buffer.alloc(32, 1), c.target.id, 'fuzz');
        peer.send(frameParts(FrameType.HELLO, 0, hs.hello()));
        await peer.next(timeoutMs);
        peer.send(frameParts(FrameType.PROOF, 0, Buffer.alloc(32, 1)));
        break;
      }
      case 'replayed-proof': {
        // A proof a real client sent on another connection, with that connection's nonce.
        const r = recorded[c.index % Math.max(1, recorded.length)];
        if (!r) return undefined;
        peer.send(
          frameParts(
            FrameType.HELLO,
            0,
            encodeHello({ hasSecret: true, nonce: r.nonce, expectId: c.target.id }),
          ),
        );
        await peer.next(timeoutMs);
        peer.send(frameParts(FrameType.PROOF, 0, r.proof));
        break;
      }
    }
    if (!expectClose) {
      const f = await peer.next(300).catch(() => undefined);
      return f?.type === FrameType.READY ? 'READY without a handshake' : undefined;
    }
    const o = await collect(peer, { ids: new Map(), closes: true }, timeoutMs);
    if (o.ready) return `READY for a peer without the secret (${c.hello})`;
    if (o.timedOut) return `no refusal in time (${c.hello})`;
    const e = o.errors.find((x) => x.id === 0);
    if (!e) return `closed without saying why (${c.hello})`;
    if (!['UNAUTHENTICATED', 'INVALID_ARGUMENT', 'TOO_LARGE', 'NOT_FOUND'].includes(e.code)) {
      return `refused with ${e.code}: ${e.message}`;
    }
    if (
      (c.hello === 'no-secret' || c.hello === 'wrong-proof' || c.hello === 'replayed-proof') &&
      e.code !== 'UNAUTHENTICATED'
    ) {
      return `refused with ${e.code}, not UNAUTHENTICATED (${c.hello}): ${e.message}`;
    }
    return undefined;
  } finally {
    peer.close();
  }
}

/** Whether these bytes, as the first of a connection, break the handshake's format (or just stop short). */
function handshakeBreaks(payload: Buffer): boolean {
  const d = new FrameDecoder(
    { maxMetaBytes: 512, maxDataBytes: 0, types: new Set([FrameType.HELLO]) },
    () => {
      throw new Error('a HELLO');
    },
  );
  try {
    d.push(payload);
    return false;
  } catch {
    return true;
  }
}

/** A real handshake whose client nonce and proof are kept for replaying. */
export async function recordProof(target: DataTargetInfo, secret: Buffer): Promise<RecordedProof> {
  const peer = await rawPeer(target.dataAddress);
  try {
    const hs = new ClientHandshake(secret, target.id, 'fuzz');
    peer.send(frameParts(FrameType.HELLO, 0, hs.hello()));
    const { proof } = hs.onWelcome(await peer.next());
    peer.send(frameParts(FrameType.PROOF, 0, proof));
    const ready = await peer.next();
    if (ready.type !== FrameType.READY) throw new Error('the recorded handshake failed');
    return { nonce: hs.nonce, proof };
  } finally {
    peer.close();
  }
}
