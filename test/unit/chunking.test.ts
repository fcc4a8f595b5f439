import test from 'ava';
import type { ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { ChunkStream, chunkBuffer } from '../../src/chunking/chunker.ts';
import type { Chunk } from '../../src/chunking/chunker.ts';
import { chunkLengths, pageHash } from '../../src/chunking/fastcdc.ts';
import { GEAR, GEAR_SEED } from '../../src/chunking/gear.ts';
import {
  CHUNK_FORMAT_VERSION,
  DEFAULT_CHUNKER_PARAMS,
  PAGE_SIZE,
  formatChunkerSpec,
  parseChunkerSpec,
  validateChunkerParams,
} from '../../src/chunking/params.ts';
import type { ChunkerParams } from '../../src/chunking/params.ts';
import { encodeRefs } from '../../src/chunking/refs.ts';
import { WorkerChunker } from '../../src/chunking/worker-chunker.ts';
import { StdchkError } from '../../src/errors/index.ts';
import { ZERO_HASH, hashChunk } from '../../src/hashing/index.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Marsaglia's xorshift128 (own copy, independent of the code under test): reproducible data. */
function xorshift(seed: number): () => number {
  let x = seed | 0 || 1;
  let y = 362436069;
  let z = 521288629;
  let w = 88675123;
  return () => {
    const t = x ^ (x << 11);
    x = y;
    y = z;
    z = w;
    w = (w ^ (w >>> 19) ^ (t ^ (t >>> 8))) | 0;
    return w >>> 0;
  };
}

function seededBytes(seed: number, n: number): Buffer {
  const next = xorshift(seed);
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 4) {
    const w = next();
    for (let k = 0; k < 4 && i + k < n; k++) out[i + k] = (w >>> (8 * k)) & 0xff;
  }
  return out;
}

function randomData(n: number): Buffer {
  return randomFillSync(Buffer.allocUnsafe(n));
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Splits `data` into pieces of random sizes between 1 and maxPiece. */
function randomPieces(data: Buffer, seed: number, maxPiece: number): Buffer[] {
  const next = xorshift(seed);
  const pieces: Buffer[] = [];
  for (let pos = 0; pos < data.length;) {
    // Mostly small pieces, sometimes large ones, sometimes single bytes.
    const r = next();
    const size = r % 7 === 0 ? 1 : 1 + (next() % (r % 3 === 0 ? maxPiece : 4 * KiB));
    pieces.push(data.subarray(pos, pos + size));
    pos += size;
  }
  return pieces;
}

function streamChunks(pieces: Iterable<Buffer>, params: ChunkerParams): Chunk[] {
  const s = new ChunkStream(params);
  const out: Chunk[] = [];
  for (const p of pieces) out.push(...s.push(p));
  out.push(...s.finish());
  return out;
}

function assertSameChunks(t: ExecutionContext, got: Chunk[], want: Chunk[], what: string) {
  t.is(got.length, want.length, `${what}: chunk count`);
  for (let i = 0; i < Math.min(got.length, want.length); i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (g.length !== w.length || !g.hash.equals(w.hash) || g.zero !== w.zero) {
      t.fail(`${what}: chunk ${i} differs: ${g.length}/${w.length}`);
      return;
    }
    if (!g.zero && !g.data!.equals(w.data!)) {
      t.fail(`${what}: chunk ${i} data differs`);
      return;
    }
  }
  t.pass();
}

/** Share of `after`'s bytes whose chunks also occur in `before`. */
function sharedShare(before: Chunk[], after: Chunk[]): number {
  const known = new Set(before.map((c) => c.hash.toString('hex')));
  let shared = 0;
  let total = 0;
  for (const c of after) {
    total += c.length;
    if (known.has(c.hash.toString('hex'))) shared += c.length;
  }
  return shared / total;
}

// ---- The format: any change here breaks dedup against stored data. ----

test('format version and gear table are pinned', (t) => {
  t.is(CHUNK_FORMAT_VERSION, 1);
  t.is(GEAR_SEED, 0x73746463);
  t.is(GEAR.length, 256);
  const le = Buffer.alloc(1024);
  GEAR.forEach((v, i) => le.writeUInt32LE(v, 4 * i));
  t.is(sha256(le), 'b2edcffa1bbf191881cc502e8bf977471087312c5aebf745db88bf48c4f1556a');
  t.is(GEAR[0], 1814760735);
  t.is(GEAR[255], 2089676693);
});

test('page hash is pinned, and equal on aligned and unaligned memory', (t) => {
  const p = seededBytes(3, 3 * PAGE_SIZE);
  t.deepEqual(
    [0, PAGE_SIZE, 2 * PAGE_SIZE].map((o) => pageHash(p, o)),
    [2875412682, 2730520309, 956136781],
  );
  t.is(pageHash(Buffer.alloc(PAGE_SIZE), 0), 4067316310);
  // The page cutter reads 32-bit words when the chunk is 4-byte aligned, bytes otherwise.
  const params = parseChunkerSpec('pages:16k');
  const data = seededBytes(4, 2 * MiB);
  const odd = Buffer.alloc(data.length + 3);
  data.copy(odd, 3);
  t.deepEqual(chunkLengths(odd.subarray(3), params), chunkLengths(data, params));
});

// 1 MiB of xorshift128 data (seed 1), default params (fastcdc 4k/16k/64k): [length, BLAKE3].
const EXPECTED_FASTCDC_16K: [number, string][] = [
  [23769, 'd0844c760badb5bd128f2380af85da35f976536ac535524be02ef58289a13a5a'],
  [28518, '7c12b56b16b1c5ca7752c36e176b38350c96677d2b1f101c7c9dcea92279eab8'],
  [26372, '445947735109878158198ded7f9fbab36d0536f14448527fee28ecd470d12a58'],
  [21778, 'e7751411ac11ea5313a6f5b00d866677e34a6ae3d3cf74cbe9548f33259112bc'],
  [23736, '375434ec37f21a5b98fcebed7358c2e1c94106a7e7e2c79893dcb9557a0d8ab0'],
  [18324, 'cb0d15d6cce44b60f6010d1363a3bb913e94817f205e97fef2622471bdb5682b'],
  [22341, '4f8271326d19a81b42f5ff5c8a0662f7a91d975914676788b1f2e133d85d438a'],
  [20361, 'e2dbdb84b9709c18710ed2ae09063484b12ecd4519c33e7e99d1af946f88fb25'],
  [17860, 'ea2d729de1f30c6c2109506f947cac7f0b47446ea0033e154fe99731efd5dfe4'],
  [10097, 'd60e50b31c3eab4200e624145a57040e0148fb43942e613d760d33fd637b346d'],
  [16662, 'd8c01dd52fa72364f34f836032a11c50589d802a1cc135eb2655d3ad9828e387'],
  [9604, '0faa145bcabe94e3e2809bbe6f73d168ac3066941a58cb1cf1bd0095b021add8'],
  [18987, 'b8fcefa2541f4409d1cbf1d92f9a4d0c8ac1ecfc13c00570b48195e95975cf45'],
  [24988, '3671aed3adce555fb47c613cc325036d096c43eb93ce9052d9a7812437809b91'],
  [16527, '873fde9cf303fb17920cf89f00ef0ef0a1f75cf955cda9e0a248f42b6115182f'],
  [23260, '922a860e3e457743f9a65d49fbbedf7310089129ffa528917d555ad0d6002b1b'],
  [6861, 'f16d7706bafc5ca8e3f0a972a43767fa388335bf1819a26cdddaa91d7d36b816'],
  [19774, 'a3d3a5f30bee64937285a125586a5eaf6daed0dc85728626d61d55ea8da90522'],
  [20849, '22a9e05535d1d8633de0c0e641489598914362e3aaf59795af7ced48594a346d'],
  [7301, 'ceadf8e8e82cd996986788b8364c46a7c99014426de6dd22881ad63708faaa57'],
  [17728, 'a479b93c5a6db5a4f02bea616e00eca096dd837f979e7db358ad19ed4a037599'],
  [18703, 'd6d1e2bdfbd717c3d0b2936c2536545499836fc97dacbaf8a40bcc74c30f7563'],
  [26956, '1963da8e3aadd3ad5013439b511c0c912c0cb92d47dc5984665236d25328e82f'],
  [20228, '098a4b5f03a48c90488961f403fc28b5bbaee00b35cd5a17cfd84c9a318cf36c'],
  [33692, 'dc272235a0a09fd9cf5f47daa5ab18d62cd401e22cf384e1f423f1b598fbcb3a'],
  [19061, 'f88ab54d602e8dad612b4fb6aa2cdced07c9a286e4426787dc147a4b37822659'],
  [17770, '9a565248bf251882b4aa8defa31980d391adc727f92365c2eca90f6f064c3038'],
  [22595, '850220b82500ed85c55dce3a9b07c24c64d8dd6ba5b97a8a46b5c0f64152dd70'],
  [26988, '54d3c49fe21df544ce33cc0009c153ff988ae7959da134c7c0f8316b90d36438'],
  [10740, '6704073d59ae9a405620527dff684a1c776138d8093ecad3d96dd46637faf24b'],
  [16982, '12b704d8f895e47907e16ef562a5ff0d3f8a1bbdeb6f4fd15930ed31e3a8e337'],
  [16575, '3a7b52766d3634f8cc2cc4c45f1872d5ce7941652c01129f84da4b0c3386c7f5'],
  [11074, '5a15841b5865ea3974b543fa2a1b43775b4d5109d24731c6637dbf9c64b506df'],
  [12923, 'd4d8d45fb7b111c570adf763831790d1d689c3559faf74f2b8a2823a07d5e19e'],
  [16913, 'ee9ba5848b28ab89466eef1b0d04e8a7bf6ef4cb296d703484f95d0173df8b66'],
  [18315, '65216d2f95d3041c428370ed19f9255f937b7700c40dcea9e1bf5d8215b492d6'],
  [25899, '2a6b29a800441674f890e651c4fd150361b961596a0048e5a22fe0f38882bd68'],
  [25517, '47613390e0c5e314e993fcada4ba7672555bcc045d53b090150f2b4a81c74336'],
  [17778, 'b23d7af0f8733eaf54bf195cb1b97b7dbc9195de9adf5a465505a05b9d7aff39'],
  [14586, '155d252ba977426bf82d8a635f6a86f7a1bf3609dbcefa99d2cd2223ee32894d'],
  [19253, '0b9afd8b3b8a2c5e96522afefeb3523d4f57f3e8023c58bf7f5985a76850d113'],
  [21357, '1c5122a5375a51058f69f313eeb1b779523b968ee17f8bbc7bb91788afb99b0f'],
  [18810, '6ff32f2758f5a687f8480381848b46b42d9b073f5a644e91ae538f8b5c832103'],
  [21074, '482a33ffb9370edbfb0c73b9a93cb93a628ff00b455354190cbdd9f00f20f70f'],
  [12474, '9fb36cbcbd04d37cfcc5efaaaa3efaf17d2b7734a476bed5f153f5facb2f48f9'],
  [10319, 'b3b50a28a7ff80552171b9d449314ac78f10675fffad86966caa1c944fe6ec73'],
  [19073, '01b0ded4bb563332bf0de572cbcecc057334c7273d818fe449a5f4ea1f347977'],
  [18885, '234723bdeb1d3b30f9398c5d0f885af5d1fa2ca6f63ad3813fb44a5f6a6ddace'],
  [27055, 'a5608dd37c9656598716c2e09f25ed3e04b84fe19407e7becd3aea1ab69d417a'],
  [19284, '49f5cd86adf3f8edce16f71483041ccc4256abeeeeb15d05899030882bf6212d'],
  [22076, '268a7b1881f66aafad31a1135cb3e8263a4b14da0902c06fb18598c1fe337e41'],
  [16927, '6c2d5557d47b4552e4396390a5f5836b10a62c36abc22e44f3dce4f98b347b2c'],
  [18757, '4625733dca6310655383888413605577479cb80ffc95e6d8daadd3498d0228a0'],
  [17502, 'e35206a2fbfadf0c264d0a5f795715ddd8c4f1ef268461956451e6a3c1d944db'],
  [16738, '0d078707fecf95603b59feecc50a20eccf3ac82db116500b02059a84234e8f86'],
];

test('fastcdc:16k: pinned cut points and digests', (t) => {
  const data = seededBytes(1, MiB);
  t.is(sha256(data), 'e6ea89623d3176ed61f30f22afcc11dd30049b9b955e3a7fe5a0e1f03e36c163', 'test data');
  const got = chunkBuffer(data, parseChunkerSpec('fastcdc:16k')).map((c): [number, string] => [
    c.length,
    c.hash.toString('hex'),
  ]);
  t.deepEqual(got, EXPECTED_FASTCDC_16K);
});

test('other chunkers (pages:16k is the default): pinned cut points', (t) => {
  const data = seededBytes(2, 4 * MiB);
  const pinned: [string, number, number[], string][] = [
    [
      'pages:16k',
      238,
      [8192, 24576, 4096, 32768, 4096, 4096, 4096, 28672, 36864, 36864, 36864, 28672],
      'f06bb06873e3bded0d01f4b3df3ac1eebe9abd45f32fcd7cb5ecab0da32f8cb0',
    ],
    [
      'fixed:64k',
      64,
      Array<number>(12).fill(65536),
      '9ce5db626d386dd84499ef95a5028fb8f645affd89104ef5f5d3fbcc2f183ee6',
    ],
    [
      'fastcdc:4k',
      903,
      [4281, 5225, 2460, 4365, 4098, 4614, 6585, 4212, 5332, 5157, 4363, 4153],
      '120c8b13d4c255aa2189df7899b3a0293416587806c7387f1f7a8d8e6a3eff41',
    ],
    [
      'fastcdc:64k',
      56,
      [82146, 68959, 77696, 129905, 67072, 107787, 72362, 64552, 79257, 76222, 84460, 83741],
      '130a0f04dd300afd74e1b41788cb2981a0ad04d43c6bc6d8174cadf6c645ec26',
    ],
  ];
  for (const [spec, count, first, refsDigest] of pinned) {
    const chunks = chunkBuffer(data, parseChunkerSpec(spec));
    t.is(chunks.length, count, spec);
    t.deepEqual(
      chunks.slice(0, first.length).map((c) => c.length),
      first,
      spec,
    );
    t.is(sha256(encodeRefs(chunks)), refsDigest, spec);
  }
});

// ---- Behaviour ----

test('chunks carry BLAKE3 of their bytes and cover the input exactly', (t) => {
  const data = randomData(3 * MiB + 77);
  for (const spec of ['fastcdc:16k', 'pages:16k', 'fixed:64k']) {
    const chunks = chunkBuffer(data, parseChunkerSpec(spec));
    t.is(
      chunks.reduce((n, c) => n + c.length, 0),
      data.length,
      spec,
    );
    t.true(Buffer.concat(chunks.map((c) => c.data!)).equals(data), spec);
    t.true(
      chunks.every((c) => !c.zero && c.hash.equals(hashChunk(c.data!))),
      spec,
    );
  }
});

test('all-zero input gives zero chunks: ZERO_HASH, no data, cut at max', (t) => {
  for (const spec of ['fastcdc:16k', 'pages:16k', 'fixed:64k']) {
    const params = parseChunkerSpec(spec);
    const chunks = chunkBuffer(Buffer.alloc(MiB + 100), params);
    t.true(
      chunks.every((c) => c.zero && c.hash === ZERO_HASH && c.data === undefined),
      spec,
    );
    t.deepEqual(
      chunks.map((c) => c.length),
      [...Array<number>(MiB / params.maxSize).fill(params.maxSize), 100],
      spec,
    );
  }
  // Zeros inside data: only all-zero chunks are holes.
  const mixed = randomData(2 * MiB);
  mixed.fill(0, 256 * KiB, 1536 * KiB);
  mixed[MiB] = 1;
  const chunks = chunkBuffer(mixed);
  t.true(chunks.some((c) => c.zero));
  for (const c of chunks) {
    if (c.zero) t.is(c.data, undefined);
    else t.false(c.data!.every((b) => b === 0));
  }
  t.deepEqual(new ChunkStream().finish(), [], 'empty stream: no chunks');
});

test('cut points do not depend on how the input is split', (t) => {
  const data = randomData(6 * MiB);
  data.fill(0, MiB, MiB + 300 * KiB); // a zero run across pieces
  for (const spec of ['fastcdc:16k', 'pages:16k', 'fixed:64k', 'fastcdc:1k', 'pages:64k', 'fixed:1000']) {
    const params = parseChunkerSpec(spec);
    const whole = chunkBuffer(data, params);
    for (const seed of [1, 2]) {
      // Chunk data is checked after all pushes: emitted data must never be overwritten.
      assertSameChunks(
        t,
        streamChunks(randomPieces(data, seed, 3 * MiB), params),
        whole,
        `${spec} seed ${seed}`,
      );
    }
    // Byte by byte over the first 200 KiB.
    const head = data.subarray(0, 200 * KiB);
    const bytes = Array.from({ length: head.length }, (_, i) => head.subarray(i, i + 1));
    assertSameChunks(t, streamChunks(bytes, params), chunkBuffer(head, params), `${spec} 1-byte pieces`);
  }
});

test('pushed Uint8Arrays at odd offsets chunk like Buffers', (t) => {
  const data = randomData(MiB);
  const padded = new Uint8Array(data.length + 5);
  padded.set(data, 5);
  for (const spec of ['fastcdc:16k', 'pages:16k']) {
    const params = parseChunkerSpec(spec);
    const s = new ChunkStream(params);
    const got = [...s.push(padded.subarray(5)), ...s.finish()];
    assertSameChunks(t, got, chunkBuffer(data, params), spec);
  }
});

test('min and max sizes are respected; averages are near the target', (t) => {
  const data = randomData(32 * MiB);
  for (const spec of ['fastcdc:16k', 'fastcdc:4k', 'fastcdc:64k', 'pages:16k', 'pages:64k', 'fixed:64k']) {
    const p = parseChunkerSpec(spec);
    const lengths = chunkLengths(data, p);
    const body = lengths.slice(0, -1);
    t.true(
      body.every((n) => n >= p.minSize && n <= p.maxSize),
      spec,
    );
    t.true(lengths[lengths.length - 1]! <= p.maxSize, spec);
    if (p.algorithm === 'pages')
      t.true(
        body.every((n) => n % PAGE_SIZE === 0),
        spec,
      );
    const mean = data.length / lengths.length;
    // FastCDC's normalized chunking lands a little above the nominal average.
    t.true(mean > p.avgSize * 0.8 && mean < p.avgSize * 1.3, `${spec}: mean ${mean.toFixed(0)}`);
  }
});

test('an insertion keeps >= 95% of the bytes in shared chunks', (t) => {
  const original = randomData(64 * MiB);
  const insert = randomData(MiB + 17);
  const cases: [string, Buffer][] = [
    // Any offset for byte-level CDC, at the start and in the middle.
    ['fastcdc:16k', Buffer.concat([insert, original])],
    [
      'fastcdc:16k',
      Buffer.concat([original.subarray(0, 20 * MiB + 5), insert, original.subarray(20 * MiB + 5)]),
    ],
    // Page-aligned insertion for page-aware CDC (CRIU images shift by whole pages).
    ['pages:16k', Buffer.concat([insert.subarray(0, MiB), original])],
    [
      'pages:16k',
      Buffer.concat([original.subarray(0, 40 * MiB), insert.subarray(0, MiB), original.subarray(40 * MiB)]),
    ],
  ];
  for (const [spec, changed] of cases) {
    const params = parseChunkerSpec(spec);
    const share = sharedShare(chunkBuffer(original, params), chunkBuffer(changed, params));
    t.log(`${spec}: ${(share * 100).toFixed(1)}% of the bytes in shared chunks`);
    t.true(share >= 0.95, `${spec}: ${(share * 100).toFixed(1)}% shared`);
  }
});

// ---- Parameters ----

test('parseChunkerSpec: the documented specs', (t) => {
  t.deepEqual({ ...parseChunkerSpec('pages:16k') }, { ...DEFAULT_CHUNKER_PARAMS });
  t.deepEqual(
    { ...parseChunkerSpec('pages:16k') },
    { algorithm: 'pages', minSize: 4 * KiB, avgSize: 16 * KiB, maxSize: 64 * KiB },
  );
  t.deepEqual(
    { ...parseChunkerSpec('fixed:64k') },
    { algorithm: 'fixed', minSize: 64 * KiB, avgSize: 64 * KiB, maxSize: 64 * KiB },
  );
  t.deepEqual(
    { ...parseChunkerSpec(' FastCDC:1MiB ') },
    { algorithm: 'fastcdc', minSize: 256 * KiB, avgSize: MiB, maxSize: 4 * MiB },
  );
  t.deepEqual(
    { ...parseChunkerSpec('pages:8k') },
    { algorithm: 'pages', minSize: 4 * KiB, avgSize: 8 * KiB, maxSize: 32 * KiB },
  );
  t.deepEqual(
    { ...parseChunkerSpec('fastcdc:2k:8k:128k') },
    { algorithm: 'fastcdc', minSize: 2 * KiB, avgSize: 8 * KiB, maxSize: 128 * KiB },
  );
  t.is(parseChunkerSpec('fixed:1000').avgSize, 1000);
  for (const spec of [
    'fastcdc:16k',
    'pages:16k',
    'fixed:64k',
    'fastcdc:2k:8k:128k',
    'fixed:1000',
    'fastcdc:1m',
  ]) {
    t.is(formatChunkerSpec(parseChunkerSpec(spec)), spec);
  }
  t.true(Object.isFrozen(DEFAULT_CHUNKER_PARAMS));
});

test('parseChunkerSpec: clear INVALID_ARGUMENT errors', (t) => {
  const bad: [string, RegExp][] = [
    ['rabin:16k', /unknown algorithm "rabin"/],
    ['fastcdc', /expected ALGORITHM:AVG/],
    ['fastcdc:', /"" is not a size/],
    ['fastcdc:lots', /"lots" is not a size/],
    ['fastcdc:16k:64k', /expected ALGORITHM:AVG/],
    ['fastcdc:24k', /not a power of two/],
    ['fastcdc:128', /min size 32 is below 64/],
    ['fastcdc:8m', /max size 33554432 is above/],
    ['fixed:32', /min size 32 is below 64/],
    ['fixed:32m', /above the 16777216-byte chunk limit/],
    ['pages:6k', /not a power of two/],
    ['pages:4k:16k:63k', /multiples of 4096/],
    ['fastcdc:16k:4k:64k', /min <= avg <= max/],
    ['fixed:64k:64k:128k', /min = avg = max/],
  ];
  for (const [spec, message] of bad) {
    const e = t.throws(() => parseChunkerSpec(spec), { instanceOf: StdchkError, message }, spec);
    t.is(e?.code, 'INVALID_ARGUMENT', spec);
  }
  t.throws(
    () => validateChunkerParams({ algorithm: 'fastcdc', minSize: 4096.5, avgSize: 16384, maxSize: 65536 }),
    {
      message: /not an integer/,
    },
  );
  t.throws(() => new ChunkStream({ algorithm: 'nope' as 'fixed', minSize: 64, avgSize: 64, maxSize: 64 }), {
    instanceOf: StdchkError,
  });
});

// ---- Off the main thread ----

test('WorkerChunker gives exactly the chunks of ChunkStream', async (t) => {
  const data = randomData(24 * MiB + 5);
  data.fill(0, 3 * MiB, 5 * MiB);
  for (const spec of ['fastcdc:16k', 'pages:16k']) {
    const params = parseChunkerSpec(spec);
    const want = chunkBuffer(data, params);
    const w = await WorkerChunker.create(params);
    try {
      const got: Chunk[] = [];
      // Pieces that own their memory are transferred; subarrays are copied. Both in flight at once.
      const pieces = randomPieces(data, 7, 4 * MiB).map((p, i) => (i % 2 ? Buffer.from(p) : p));
      const replies = await Promise.all(pieces.map((p) => w.push(p)));
      for (const r of replies) got.push(...r);
      got.push(...(await w.finish()));
      assertSameChunks(t, got, want, spec);
      t.true(got.filter((c) => c.zero).every((c) => c.hash === ZERO_HASH && c.data === undefined));
      // The stream starts over after finish().
      const again = [...(await w.push(Buffer.from(data.subarray(0, MiB)))), ...(await w.finish())];
      assertSameChunks(t, again, chunkBuffer(data.subarray(0, MiB), params), `${spec} reuse`);
    } finally {
      await w.close();
    }
  }
});

test('WorkerChunker transfers whole buffers and copies views', async (t) => {
  const w = await WorkerChunker.create();
  try {
    const owned = Buffer.from(randomData(MiB));
    const view = randomData(2 * MiB).subarray(100, MiB + 100);
    await w.push(owned);
    t.is(owned.length, 0, 'a buffer owning its memory is handed over');
    await w.push(view);
    t.is(view.length, MiB, 'a view is copied, never detached');
    const kept = Buffer.from(randomData(MiB));
    await w.push(kept, { transfer: false });
    t.is(kept.length, MiB, 'transfer: false copies');
    t.deepEqual(await w.push(Buffer.alloc(0)), []);
  } finally {
    await w.close();
  }
});

test('WorkerChunker rejects after close, and when the worker dies', async (t) => {
  const w = await WorkerChunker.create(parseChunkerSpec('fixed:64k'));
  t.deepEqual(
    (await w.push(Buffer.alloc(100 * KiB, 1))).map((c) => c.length),
    [64 * KiB],
  );
  const pending = w.push(Buffer.from(randomData(32 * MiB)));
  await w.close();
  await t.throwsAsync(pending, { instanceOf: StdchkError, message: /closed/ });
  await t.throwsAsync(w.push(Buffer.alloc(10)), { instanceOf: StdchkError, message: /closed/ });
  await t.throwsAsync(w.finish(), { message: /closed/ });
  await w.close(); // idempotent

  const dying = await WorkerChunker.create();
  const inFlight = dying.push(Buffer.from(randomData(32 * MiB)));
  // Simulate a crash: kill the thread behind its back.
  await (dying as unknown as { worker: Worker }).worker.terminate();
  await t.throwsAsync(inFlight, { instanceOf: StdchkError, message: /exited unexpectedly/ });
  await t.throwsAsync(dying.push(Buffer.alloc(10)), { message: /exited unexpectedly/ });
  await dying.close();
});

test('WorkerChunker starts under plain `node --import <tsx>`, from any cwd, with per-process flags', (t) => {
  // Like bin/stdchk: tsx given by URL, a flag Node refuses in workers, and a foreign cwd.
  const module = new URL('../../src/chunking/worker-chunker.ts', import.meta.url).href;
  const code = `
    const { WorkerChunker } = await import(${JSON.stringify(module)});
    const w = await WorkerChunker.create();
    const chunks = [...(await w.push(Buffer.alloc(300000, 1))), ...(await w.finish())];
    await w.close();
    console.log(chunks.reduce((n, c) => n + c.length, 0));`;
  const r = spawnSync(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), '--max-old-space-size=512', '--input-type=module', '-e', code],
    { cwd: os.tmpdir(), encoding: 'utf8', timeout: 60_000 },
  );
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), '300000');
});
