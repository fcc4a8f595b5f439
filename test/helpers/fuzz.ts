import * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition, ServiceDefinition } from '@grpc/proto-loader';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { protoDefinition } from '../../src/rpc/index.ts';
import { hashChunk } from '../../src/hashing/index.ts';
import { REF_BYTES } from '../../src/chunking/refs.ts';

/**
 * A gRPC fuzzer for the stdchk services, driven by a seeded PRNG so that a
 * failing run reproduces (same seed, same requests in the same order).
 *
 * Two kinds of requests:
 *   - format-agnostic: random bytes, protobuf-looking random wire data, and
 *     truncated/mutated encodings of generated requests, sent as raw messages
 *     to every method path through a generic client with identity serializers;
 *   - structured: requests built from the message descriptors proto-loader
 *     read from proto/ (so they follow the .proto as it changes), valid
 *     protobuf with bad field values: huge counts and lengths, wrong hash
 *     sizes, paths with "..", NUL, empty, very long or unicode, negative and
 *     overflowing numbers, unknown ids, random enum strings.
 */

// ---------------------------------------------------------------- PRNG

export class Rng {
  private readonly g;

  constructor(readonly seed: number) {
    this.g = xoroshiro128plus(seed);
  }

  /** An integer in [lo, hi], both included. */
  int(lo: number, hi: number): number {
    return uniformInt(this.g, lo, hi);
  }

  chance(p: number): boolean {
    return this.int(0, 999_999) < p * 1_000_000;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)] as T;
  }

  /** Picks by weight: [[weight, value], ...]. */
  weighted<T>(table: readonly (readonly [number, T])[]): T {
    const total = table.reduce((n, [w]) => n + w, 0);
    let r = this.int(0, total - 1);
    for (const [w, v] of table) {
      if (r < w) return v;
      r -= w;
    }
    return (table[table.length - 1] as readonly [number, T])[1];
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) out.writeInt32LE(this.g.next(), i);
    for (; i < n; i++) out[i] = this.int(0, 255);
    return out;
  }

  /** A length with most mass on small values and a tail up to `max`. */
  length(max = 1 << 16): number {
    return this.weighted([
      [30, this.int(0, 8)],
      [30, this.int(0, 64)],
      [25, this.int(0, 1024)],
      [10, this.int(0, Math.min(max, 16_384))],
      [5, this.int(0, max)],
    ]);
  }

  hex(bytes: number): string {
    return this.bytes(bytes).toString('hex');
  }
}

// ---------------------------------------------------------------- services

export type ServiceName = 'Manager' | 'Benefactor' | 'Scheduler';

export interface FuzzMethod {
  name: string;
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  /** Full name of the request message, e.g. stdchk.v1.SetAttrRequest. */
  requestType: string;
  /** The real protobuf encoder of the request. */
  encode(request: object): Buffer;
  /** The real protobuf decoder of a reply. */
  decodeReply(reply: Buffer): any;
}

type FieldDescriptor = {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
};

function messageType(name: string): MessageTypeDefinition<object, object> {
  const all = protoDefinition();
  const fullName = name.replace(/^\./, '');
  const def = (all[fullName] ?? all[`stdchk.v1.${fullName}`]) as
    MessageTypeDefinition<object, object> | undefined;
  if (!def || def.format !== 'Protocol Buffer 3 DescriptorProto') throw new Error(`no message ${fullName}`);
  return def;
}

function fields(fullName: string): FieldDescriptor[] {
  return (messageType(fullName).type as { field: FieldDescriptor[] }).field;
}

/** The methods of a service as the protos define them. */
export function serviceMethods(service: ServiceName): FuzzMethod[] {
  const def = protoDefinition()[`stdchk.v1.${service}`] as ServiceDefinition;
  return Object.entries(def).map(([name, m]) => {
    const descriptor = m.requestType.type as { name: string };
    return {
      name,
      path: m.path,
      requestStream: m.requestStream,
      responseStream: m.responseStream,
      requestType: `stdchk.v1.${descriptor.name}`,
      encode: (request: object) => m.requestSerialize(request),
      decodeReply: (reply: Buffer) => m.responseDeserialize(reply),
    };
  });
}

export const UNKNOWN_METHOD = 'NoSuchMethod';

/**
 * A generic client for every method of `service` (and one the service does
 * not have) with identity serializers: it sends whatever bytes it is given.
 */
export function rawClient(
  service: ServiceName,
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): grpc.Client {
  const identity = (b: Buffer) => b;
  const methods: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  for (const m of [
    ...serviceMethods(service),
    {
      name: UNKNOWN_METHOD,
      path: `/stdchk.v1.${service}/${UNKNOWN_METHOD}`,
      requestStream: false,
      responseStream: false,
    },
  ]) {
    methods[m.name] = {
      path: m.path,
      requestStream: m.requestStream,
      responseStream: m.responseStream,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    };
  }
  const Client = grpc.makeGenericClientConstructor(methods, service);
  return new Client(address, credentials, {
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1_000,
  });
}

// ---------------------------------------------------------------- calls

export interface Outcome {
  code: grpc.status;
  details: string;
  /** The stdchk error code the server put in the trailers, if any (a refusal by our code). */
  errorCode: string | undefined;
  replies: Buffer[];
  /** The client cancelled the call on purpose. */
  cancelled: boolean;
  /** No status arrived, not even the deadline's. */
  hung?: boolean;
}

export interface CallOptions {
  metadata?: grpc.Metadata;
  deadlineMs: number;
  /** Cancel the call (streams) after this long instead of ending it. */
  cancelAfterMs?: number;
}

const ERROR_CODE_KEY = 'x-stdchk-error-code';

function carried(md: grpc.Metadata | undefined): string | undefined {
  const v = md?.get(ERROR_CODE_KEY)[0];
  return typeof v === 'string' ? v : undefined;
}

/** Sends raw messages to one method and waits for the call's status. */
export function callRaw(
  client: grpc.Client,
  method: Pick<FuzzMethod, 'name' | 'requestStream' | 'responseStream'>,
  payloads: Buffer[],
  opts: CallOptions,
): Promise<Outcome> {
  const md = opts.metadata ?? new grpc.Metadata();
  const deadline = new Date(Date.now() + opts.deadlineMs);
  const fn = (client as unknown as Record<string, (...args: unknown[]) => any>)[method.name];
  if (!fn) throw new Error(`no method ${method.name}`);
  return new Promise<Outcome>((resolve) => {
    const replies: Buffer[] = [];
    let cancelled = false;
    let settled = false;
    const watchdog = setTimeout(
      () => finish({ code: grpc.status.UNKNOWN, details: 'no status', metadata: new grpc.Metadata() }, true),
      opts.deadlineMs + 10_000,
    );
    function finish(s: Partial<grpc.StatusObject>, hung = false) {
      if (settled) return;
      settled = true;
      clearTimeout(watchdog);
      resolve({
        code: s.code ?? grpc.status.UNKNOWN,
        details: s.details ?? '',
        errorCode: carried(s.metadata),
        replies,
        cancelled,
        ...(hung ? { hung: true } : {}),
      });
    }
    const onReply = (err: grpc.ServiceError | null, reply?: Buffer) => {
      if (err) finish(err);
      else {
        if (reply) replies.push(reply);
        finish({ code: grpc.status.OK, details: 'OK' });
      }
    };
    const cancelLater = (call: { cancel(): void }) => {
      if (opts.cancelAfterMs === undefined) return false;
      setTimeout(() => {
        cancelled = true;
        call.cancel();
      }, opts.cancelAfterMs);
      return true;
    };
    const feed = (call: grpc.ClientWritableStream<Buffer>) => {
      call.on('error', () => undefined);
      for (const p of payloads) call.write(p);
      if (!cancelLater(call)) call.end();
    };
    try {
      if (!method.requestStream && !method.responseStream) {
        fn.call(client, payloads[0] ?? Buffer.alloc(0), md, { deadline }, onReply);
      } else if (method.requestStream && !method.responseStream) {
        feed(fn.call(client, md, { deadline }, onReply));
      } else if (!method.requestStream && method.responseStream) {
        const call = fn.call(client, payloads[0] ?? Buffer.alloc(0), md, { deadline });
        call.on('data', (d: Buffer) => replies.push(d));
        call.on('error', () => undefined);
        call.on('status', (s: grpc.StatusObject) => finish(s));
        cancelLater(call);
      } else {
        const call = fn.call(client, md, { deadline });
        call.on('data', (d: Buffer) => replies.push(d));
        call.on('status', (s: grpc.StatusObject) => finish(s));
        feed(call);
      }
    } catch (e) {
      finish({ code: grpc.status.UNKNOWN, details: `client threw: ${String(e)}` });
    }
  });
}

/**
 * Why an outcome shows a bug, or undefined if it is a proper answer to bad
 * input: OK, or a refusal with a meaningful status. UNKNOWN and INTERNAL are
 * bugs; UNAVAILABLE counts only when our code said so (a transport failure,
 * e.g. a crashed server, also looks like UNAVAILABLE); CANCELLED only when
 * the client cancelled; DEADLINE_EXCEEDED means the call hung.
 */
export function misbehaviour(
  o: Outcome,
  expect: 'any' | 'unauthenticated' | 'unimplemented',
): string | undefined {
  if (o.hung) return 'no status at all (the call hung past its deadline)';
  if (o.cancelled && o.code === grpc.status.CANCELLED) return undefined;
  if (expect === 'unauthenticated') {
    if (o.code === grpc.status.UNAUTHENTICATED) return undefined;
    // A message over the size limit is refused by the transport before any handler
    // (and so before the token check) reads it: also a proper refusal.
    if (o.code === grpc.status.RESOURCE_EXHAUSTED && o.details.includes('larger than max')) return undefined;
    return `expected UNAUTHENTICATED`;
  }
  if (expect === 'unimplemented') {
    return o.code === grpc.status.UNIMPLEMENTED ? undefined : `expected UNIMPLEMENTED`;
  }
  switch (o.code) {
    case grpc.status.OK:
    case grpc.status.INVALID_ARGUMENT:
    case grpc.status.OUT_OF_RANGE:
    case grpc.status.NOT_FOUND:
    case grpc.status.ALREADY_EXISTS:
    case grpc.status.FAILED_PRECONDITION:
    case grpc.status.RESOURCE_EXHAUSTED:
    case grpc.status.ABORTED:
    case grpc.status.PERMISSION_DENIED:
      return undefined;
    case grpc.status.UNAVAILABLE:
      return o.errorCode === 'UNAVAILABLE'
        ? undefined
        : 'UNAVAILABLE not raised by the service (transport failure?)';
    case grpc.status.DEADLINE_EXCEEDED:
      return 'DEADLINE_EXCEEDED: the call hung';
    default:
      return `${grpc.status[o.code] ?? o.code} is not a refusal of bad input`;
  }
}

// ---------------------------------------------------------------- raw bytes

/** Truncates, flips, inserts, deletes, duplicates: 1-3 mutations of an encoding. */
export function mutate(rng: Rng, input: Buffer): Buffer {
  let b = Buffer.from(input);
  for (let n = rng.int(1, 3); n > 0; n--) {
    const at = b.length ? rng.int(0, b.length - 1) : 0;
    switch (rng.int(0, 8)) {
      case 0: // truncate
        b = b.subarray(0, rng.int(0, b.length));
        break;
      case 1: // flip bits
        for (let k = rng.int(1, 8); k > 0 && b.length; k--) {
          const i = rng.int(0, b.length - 1);
          b[i] = (b[i] as number) ^ (1 << rng.int(0, 7));
        }
        break;
      case 2: // interesting byte
        if (b.length) b[at] = rng.pick([0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x1a]);
        break;
      case 3: // insert random bytes
        b = Buffer.concat([b.subarray(0, at), rng.bytes(rng.length(64)), b.subarray(at)]);
        break;
      case 4: {
        // delete a range
        const end = Math.min(b.length, at + rng.length(64));
        b = Buffer.concat([b.subarray(0, at), b.subarray(end)]);
        break;
      }
      case 5: {
        // duplicate a range
        const end = Math.min(b.length, at + rng.length(256));
        b = Buffer.concat([b.subarray(0, end), b.subarray(at, end), b.subarray(end)]);
        break;
      }
      case 6: // overlong varint
        b = Buffer.concat([b.subarray(0, at), Buffer.alloc(rng.int(1, 11), 0xff), b.subarray(at)]);
        break;
      case 7: // random tail
        b = Buffer.concat([b, rng.bytes(rng.length(128))]);
        break;
      default: // a length-delimited field whose length runs past the end
        b = Buffer.concat([b, Buffer.from([(rng.int(1, 20) << 3) | 2]), varint(rng.int(1, 1 << 20))]);
    }
  }
  return b;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}

/** Protobuf-looking random data: plausible and impossible tags, wire types and lengths. */
export function randomWire(rng: Rng): Buffer {
  const parts: Buffer[] = [];
  for (let n = rng.int(0, 12); n > 0; n--) {
    const field = rng.weighted([
      [8, rng.int(1, 25)],
      [1, 0],
      [1, rng.int(1, 0x1fffffff)],
    ]);
    const wire = rng.weighted([
      [4, 0],
      [5, 2],
      [1, 1],
      [1, 5],
      [1, rng.int(3, 7)],
    ]);
    parts.push(varint(field * 8 + wire));
    switch (wire) {
      case 0:
        parts.push(
          rng.chance(0.2)
            ? Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
            : varint(rng.int(0, 1 << 30)),
        );
        break;
      case 1:
        parts.push(rng.bytes(8));
        break;
      case 5:
        parts.push(rng.bytes(4));
        break;
      case 2: {
        const len = rng.length(4096);
        const lie = rng.chance(0.15) ? rng.int(0, 1 << 30) : len;
        parts.push(varint(lie), rng.bytes(len));
        break;
      }
      default:
        parts.push(rng.bytes(rng.int(0, 8)));
    }
  }
  return Buffer.concat(parts);
}

/** Random bytes of a random length (rarely large). */
export function randomBytesMessage(rng: Rng): Buffer {
  return rng.bytes(rng.chance(0.02) ? rng.int(0, 1 << 20) : rng.length(8192));
}

// ---------------------------------------------------------------- structured

const PATH_FIELDS = new Set(['path', 'from', 'to', 'target', 'rootfs']);
const ID_FIELDS = new Set([
  'id',
  'benefactorId',
  'workerId',
  'jobId',
  'exclude',
  'leaseIds',
  'incarnation',
  'leaseId',
]);
const NUMBERED_FIELDS = new Set([
  'seq',
  'epoch',
  'version',
  'baseVersion',
  'restoreSeq',
  'restoredFromSeq',
  'offset',
  'lastSeq',
]);

/** At most this many hashes of stored chunks per request (each costs the benefactor a real read). */
const MAX_REAL_HASHES = 64;

const HUGE_PATH = '/' + 'abc/'.repeat(1100);

/** Strings everyone gets wrong. */
function nastyString(rng: Rng): string {
  return rng.pick([
    '',
    ' ',
    '.',
    '..',
    '/',
    '//',
    '\0',
    'a\0b',
    '\n',
    '\r\n',
    '%00',
    '%2e%2e',
    '\\',
    '..\\..\\x',
    '\u202e',
    '\ufeff',
    '\uffff',
    '\ud800',
    '\udfff\ud800',
    '🙂'.repeat(rng.int(1, 100)),
    'ünïcødé',
    '日本語',
    'x'.repeat(rng.int(60, 70)),
    'x'.repeat(rng.int(250, 260)),
    'x'.repeat(4097),
    'x'.repeat(rng.int(10_000, 100_000)),
    '${jndi:ldap://x}',
    "'; DROP TABLE x; --",
    '__proto__',
    'constructor',
    'toString',
    'NaN',
    '-1',
    '18446744073709551616',
    String.fromCharCode(...Array.from({ length: rng.int(1, 40) }, () => rng.int(0, 0xffff))),
  ]);
}

function pathString(rng: Rng): string {
  const name = () => rng.pick(['a', 'b', 'dir', 'f.txt', rng.hex(4), '🙂', 'ü', 'x'.repeat(255)]);
  return rng.pick([
    `/fuzz/${name()}`,
    `/fuzz/${name()}/${name()}`,
    `/fuzz/${name()}/${name()}/${name()}`,
    '/fuzz',
    '/',
    '',
    'relative/path',
    '/fuzz/../etc/passwd',
    '/..',
    '/fuzz/./x',
    '/fuzz/x/.',
    '/fuzz/a\0b',
    '/fuzz\0',
    '/fuzz//double//slash/',
    `/fuzz/${'x'.repeat(256)}`,
    HUGE_PATH,
    '/fuzz/%2e%2e/x',
    '/fuzz/\u202e/x',
    '/fuzz/\ud800',
    '/fuzz/日本語/🙂',
    '\\fuzz\\x',
    '/fuzz/a\nb',
    '/jobs/../fuzz',
    `/fuzz/${nastyString(rng)}`,
    nastyString(rng),
  ]);
}

function idString(rng: Rng): string {
  return rng.pick([
    `fuzz-${rng.hex(3)}`,
    `fuzz-${rng.hex(3)}`,
    rng.hex(16),
    `${rng.hex(4)}-${rng.hex(2)}-${rng.hex(2)}-${rng.hex(2)}-${rng.hex(6)}`,
    'x'.repeat(64),
    'x'.repeat(65),
    'x'.repeat(81),
    '-',
    '_',
    '.',
    '..',
    'job-..-x',
    '../etc',
    'a/b',
    'a b',
    'a\0b',
    nastyString(rng),
  ]);
}

function addressString(rng: Rng): string {
  return rng.pick([
    '127.0.0.1:1',
    `127.0.0.1:${rng.int(1, 65_535)}`,
    'localhost:0',
    'localhost:65536',
    'host:99999999999',
    '[::1]:80',
    '[::1]',
    ':80',
    'host:',
    'host',
    `${'a'.repeat(300)}:1`,
    '127.0.0.1:-1',
    'unix:/tmp/x',
    'dns:///x:1',
    nastyString(rng),
  ]);
}

const JOB_STATES = ['queued', 'running', 'restoring', 'done', 'failed', 'cancelled'];
const PHASES = ['starting', 'restoring', 'running', 'checkpointing', 'paused', 'exited'];

function enumString(rng: Rng, valid: readonly string[]): string {
  return rng.chance(0.5)
    ? rng.pick(valid)
    : rng.pick([...valid.map((v) => v.toUpperCase()), `${rng.pick(valid)}\0`, nastyString(rng)]);
}

/** A job file: a valid one, one with a bad value or two, or not a job file at all. */
export function jobSpecText(rng: Rng): string {
  if (rng.chance(0.15)) {
    return rng.pick([
      '',
      '{',
      'null',
      '[]',
      '"text"',
      '0',
      '{}',
      '['.repeat(rng.int(1000, 100_000)),
      '{"a":'.repeat(rng.int(100, 5000)),
      `"${'x'.repeat(300 * 1024)}"`,
      '\ud800',
      rng.bytes(rng.length(512)).toString('latin1'),
      '{"__proto__": {"kind": "process"}, "args": ["sh"]}',
    ]);
  }
  const spec: Record<string, any> = {
    name: `fuzz-${rng.hex(2)}`,
    kind: 'process',
    args: ['sleep', '1000'],
    env: { A: 'b' },
    checkpoint: { interval: rng.pick(['5s', 'auto', 'off']), keep: 2 },
  };
  if (rng.chance(0.3)) {
    spec.kind = 'container';
    spec.rootfs = 'images/busybox.tar';
  }
  // A bad checkpoint value drawn earlier may have replaced the object.
  const checkpoint = (): Record<string, unknown> => {
    const c: unknown = spec.checkpoint;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) spec.checkpoint = {};
    return spec.checkpoint as Record<string, unknown>;
  };
  const bad: [string, () => void][] = [
    ['name', () => (spec.name = rng.pick([nastyString(rng), 5, null, ['a'], 'x'.repeat(65)]))],
    ['kind', () => (spec.kind = rng.pick(['vm', '', 'PROCESS', 1, null, nastyString(rng)]))],
    [
      'args',
      () =>
        (spec.args = rng.pick([
          [],
          [''],
          ['a\0b'],
          [1],
          'sh',
          Array(rng.int(1, 20_000)).fill('x'),
          [nastyString(rng)],
        ])),
    ],
    [
      'env',
      () =>
        (spec.env = rng.pick([
          [],
          'x',
          { '1A': 'x' },
          { A: 1 },
          { A: 'a\0b' },
          { __proto__: 'x' },
          { [nastyString(rng)]: 'v' },
        ])),
    ],
    [
      'rootfs',
      () => (spec.rootfs = rng.pick(['', '../x.tar', 'a/../../b', '/abs.tar', 'a\0b', 5, pathString(rng)])),
    ],
    ['cwd', () => (spec.cwd = rng.pick(['', 'rel', '/ok', 5, '/a\0b', pathString(rng)]))],
    ['checkpoint', () => (spec.checkpoint = rng.pick([null, 'x', [], { x: 1 }]))],
    [
      'interval',
      () =>
        (checkpoint().interval = rng.pick([
          '0s',
          '-1s',
          0,
          -1,
          0.5,
          1e300,
          'abc',
          '999999999999999999d',
          '1e400s',
          Number.MAX_SAFE_INTEGER,
          null,
        ])),
    ],
    ['mtbf', () => (checkpoint().mtbf = rng.pick(['1ms', '0s', -5, 1e300, '1e400h', 'x', {}, 1.5]))],
    ['keep', () => (checkpoint().keep = rng.pick([0, -1, 1.5, 1001, 1e300, '2', null]))],
    ['resources', () => (spec.resources = rng.pick([null, 'x', [], { gpu: 1 }]))],
    ['slots', () => (spec.resources = { slots: rng.pick([0, -1, 1.5, 1025, 1e300, '1']) })],
    [
      'memory',
      () =>
        (spec.resources = {
          memory: rng.pick([-1, 1.5, 1e300, '-5MiB', 'lots', '1e400', 'NaN', '9007199254740993']),
        }),
    ],
    ['cpus', () => (spec.resources = { cpus: rng.pick([0, -1, 4097, 1e-300, 1e300, '1']) })],
    ['unknown', () => (spec[nastyString(rng)] = 1)],
  ];
  for (
    let n = rng.weighted([
      [3, 0],
      [5, 1],
      [2, 2],
    ]);
    n > 0;
    n--
  ) {
    rng.pick(bad)[1]();
  }
  return JSON.stringify(spec);
}

/** Context a structured request may draw from. */
export interface FuzzPools {
  /** Values the services accepted or returned earlier, by field name (they reach deeper code). */
  learned: Map<string, unknown[]>;
  /** Only for read-only methods: committed paths and stored hashes fuzzing must not destroy. */
  protectedPaths: string[];
  protectedHashes: Buffer[];
  /** Never learned (e.g. a job submitted before the fuzzing that must survive it). */
  protectedIds: Set<string>;
}

export function newPools(): FuzzPools {
  return { learned: new Map(), protectedPaths: [], protectedHashes: [], protectedIds: new Set() };
}

export function learn(pools: FuzzPools, field: string, value: unknown): void {
  if (typeof value === 'string' && (value.length === 0 || value.length > 200)) return;
  if (typeof value === 'string' && pools.protectedIds.has(value)) return;
  if (typeof value === 'string' && pools.protectedPaths.some((p) => value === p || value.startsWith(`${p}/`)))
    return;
  let list = pools.learned.get(field);
  if (!list) pools.learned.set(field, (list = []));
  if (list.length >= 64) list.splice(0, 1);
  if (!list.includes(value)) list.push(value);
}

/** Generates request objects from the message descriptors. */
export class MessageFuzzer {
  constructor(
    private readonly rng: Rng,
    private readonly pools: FuzzPools,
  ) {}

  /** Bytes the current request may still hold (random data is costly to make). */
  private budget = 0;

  /** A request of type `fullName`; `readOnly`: the method changes nothing, so protected values may appear. */
  message(fullName: string, readOnly: boolean): Record<string, unknown> {
    this.budget = this.rng.chance(0.01) ? 24 * 1024 * 1024 : 1024 * 1024;
    return this.build(fullName, readOnly, 0, false);
  }

  private build(fullName: string, readOnly: boolean, depth: number, cheap: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    // Mostly sane values, so some requests are valid and reach deep code.
    const sane = this.rng.chance(0.4);
    for (const f of fields(fullName)) {
      if (this.rng.chance(0.1)) continue;
      const name = f.name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
      if (f.label === 'LABEL_REPEATED') {
        const n = this.rng.weighted([
          [30, 0],
          [40, this.rng.int(1, 3)],
          [20, this.rng.int(4, 40)],
          [this.rng.chance(0.5) ? 3 : 0, this.rng.int(1_000, 20_000)],
        ]);
        const values: unknown[] = [];
        for (let i = 0; i < n; i++)
          values.push(this.value(f, name, sane, readOnly, depth, cheap || n > 1000));
        out[name] = values;
      } else {
        out[name] = this.value(f, name, sane, readOnly, depth, cheap);
      }
    }
    this.fixup(fullName, out);
    return out;
  }

  /** Makes some of the semantically linked fields consistent, so verification passes sometimes. */
  private fixup(fullName: string, msg: Record<string, unknown>): void {
    // A StoreRequest's packed refs name the chunks its data concatenates: half of them are
    // made consistent (so they reach the hash check and the store), with now and then a
    // wrong hash or a length that is one off.
    if (fullName === 'stdchk.v1.StoreRequest' && this.rng.chance(0.5)) {
      this.storeChunks(msg);
    }
  }

  private storeChunks(msg: Record<string, unknown>): void {
    const rng = this.rng;
    const n = rng.weighted([
      [10, 0],
      [60, rng.int(1, 4)],
      [30, rng.int(5, 64)],
    ]);
    const refs = Buffer.alloc(n * REF_BYTES);
    const datas: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const data = this.take(
        rng.weighted([
          [60, rng.int(1, 4096)],
          [35, rng.int(4097, 65_536)],
          [5, rng.int(65_537, 1 << 20)],
        ]),
      );
      if (data.length === 0) break; // out of budget
      const hash = rng.chance(0.9) ? hashChunk(data) : rng.bytes(32);
      hash.copy(refs, i * REF_BYTES);
      const lie = rng.chance(0.05) ? rng.pick([-1, 1]) : 0;
      refs.writeUInt32LE(Math.max(0, data.length + lie), i * REF_BYTES + 32);
      datas.push(data);
    }
    msg.refs = refs.subarray(0, datas.length * REF_BYTES);
    msg.data = Buffer.concat(datas);
  }

  private learned(name: string): unknown {
    const list = this.pools.learned.get(name);
    return list && list.length && this.rng.chance(0.5) ? this.rng.pick(list) : undefined;
  }

  private value(
    f: FieldDescriptor,
    name: string,
    sane: boolean,
    readOnly: boolean,
    depth: number,
    cheap: boolean,
  ): unknown {
    const rng = this.rng;
    switch (f.type) {
      case 'TYPE_STRING': {
        const known = this.learned(name);
        if (known !== undefined) return known;
        if (name === 'specJson') return jobSpecText(rng);
        if (cheap) return rng.chance(0.9) ? `fuzz-${rng.hex(2)}` : nastyString(rng);
        if (PATH_FIELDS.has(name)) {
          if (readOnly && this.pools.protectedPaths.length && rng.chance(0.3))
            return rng.pick(this.pools.protectedPaths);
          return sane ? `/fuzz/${rng.pick(['a', 'b', 'c', rng.hex(2)])}` : pathString(rng);
        }
        if (ID_FIELDS.has(name)) return sane ? `fuzz-${rng.hex(2)}` : idString(rng);
        if (name === 'address') return sane ? '127.0.0.1:1' : addressString(rng);
        if (name === 'host') return sane ? 'fuzz-host' : rng.pick([nastyString(rng), 'h', 'x'.repeat(254)]);
        if (name === 'states') return enumString(rng, JOB_STATES);
        if (name === 'kinds') return enumString(rng, ['container', 'process']);
        if (name === 'phase') return enumString(rng, PHASES);
        return sane ? rng.pick(['', 'x', 'error text']) : nastyString(rng);
      }
      case 'TYPE_BYTES':
        return this.bytesField(name, sane, readOnly, cheap);
      case 'TYPE_BOOL':
        return rng.chance(0.5);
      case 'TYPE_DOUBLE':
      case 'TYPE_FLOAT':
        return sane
          ? rng.pick([0, 0.5, 1, 2.5])
          : rng.pick([
              NaN,
              Infinity,
              -Infinity,
              -0,
              -1,
              0,
              1,
              1e308,
              5e-324,
              1e20,
              -1e20,
              rng.int(-1e6, 1e6) / 7,
            ]);
      case 'TYPE_ENUM':
        return rng.chance(0.5) ? rng.int(-5, 100) : nastyString(rng);
      case 'TYPE_MESSAGE':
        return depth >= 3 ? {} : this.build(f.typeName, readOnly, depth + 1, cheap);
      default:
        return this.number(f.type, name, sane);
    }
  }

  private number(type: string, name: string, sane: boolean): unknown {
    const rng = this.rng;
    if (NUMBERED_FIELDS.has(name)) {
      const known = this.learned(name);
      if (known !== undefined && rng.chance(0.7)) return known;
      if (sane || rng.chance(0.5)) return rng.int(0, 5);
    }
    if (sane) return rng.pick([0, 1, 2, 3, 0o644, 0o755, 1000, 4096]);
    const signed = /INT(32|64)$/.test(type) && !type.includes('UINT');
    const wide = type.endsWith('64');
    const pool: unknown[] = [0, 1, 2, 255, 0o777, 0o7777, 65_535, 65_536, 0x7fffffff, rng.int(0, 0x7fffffff)];
    if (!signed) pool.push(0xffffffff, 0x80000000);
    if (signed) pool.push(-1, -2, -0x80000000, rng.int(-0x7fffffff, 0));
    if (wide) {
      pool.push(2 ** 32, 2 ** 53 - 1, '9007199254740993', 1e15);
      pool.push(signed ? '-9223372036854775808' : '18446744073709551615', '9223372036854775807');
    }
    return rng.pick(pool);
  }

  /** Random bytes within the request's budget. */
  private take(n: number): Buffer {
    const len = Math.max(0, Math.min(n, this.budget));
    this.budget -= len;
    return this.rng.bytes(len);
  }

  private hashes(n: number, readOnly: boolean): Buffer {
    const rng = this.rng;
    n = Math.min(n, Math.floor(this.budget / 32));
    this.budget -= n * 32;
    const parts: Buffer[] = [];
    // Real chunks are few per request: 30% of a 32k-hash ReadChunks made the benefactor
    // send 124 MB (6 s alone), a heavy but valid read that outlasted the 30 s deadline among
    // eight calls in flight on a loaded machine.
    let real = 0;
    for (let i = 0; i < n; i++) {
      if (readOnly && this.pools.protectedHashes.length && real < MAX_REAL_HASHES && rng.chance(0.3)) {
        real++;
        parts.push(rng.pick(this.pools.protectedHashes));
      } else if (rng.chance(0.05)) parts.push(Buffer.alloc(32));
      else parts.push(rng.bytes(32));
    }
    return Buffer.concat(parts);
  }

  private count(): number {
    return this.rng.weighted([
      [10, 0],
      [50, this.rng.int(1, 4)],
      [30, this.rng.int(5, 200)],
      [5, this.rng.int(1_000, 5_000)],
      [1, 65_537],
    ]);
  }

  private bytesField(name: string, sane: boolean, readOnly: boolean, cheap: boolean): Buffer {
    const rng = this.rng;
    const ragged = (b: Buffer) =>
      !sane && rng.chance(0.1) ? Buffer.concat([b, rng.bytes(rng.int(1, 35))]) : b;
    if (name === 'refs') {
      const n = Math.min(cheap ? rng.int(0, 3) : this.count(), Math.floor(this.budget / 36));
      const out = Buffer.alloc(n * 36);
      for (let i = 0; i < n; i++) {
        this.hashes(1, readOnly).copy(out, i * 36);
        const len = sane
          ? rng.pick([1, 4096, 16_384, 65_536])
          : rng.pick([
              0,
              1,
              4096,
              16 * 1024 * 1024,
              16 * 1024 * 1024 + 1,
              0xffffffff,
              rng.int(0, 0x7fffffff),
            ]);
        out.writeUInt32LE(len, i * 36 + 32);
      }
      return ragged(out);
    }
    if (/hashes$/i.test(name)) return ragged(this.hashes(cheap ? rng.int(0, 3) : this.count(), readOnly));
    if (name === 'hash') {
      return sane ? rng.bytes(32) : rng.bytes(rng.pick([0, 1, 31, 32, 33, 64, rng.length(128)]));
    }
    if (name === 'data') {
      if (cheap) return this.take(rng.int(0, 16));
      if (rng.chance(0.05)) return this.take(16 * 1024 * 1024 + 1);
      return this.take(rng.chance(0.2) ? 0 : rng.length(65_536));
    }
    return this.take(rng.length(1024));
  }
}
