import test from 'ava';
import type { ExecutionContext } from 'ava';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { appendFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { cleanupAll, startGrid, waitFor } from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import type { GridProcess } from '../../src/grid/local-grid.ts';
import { readSecretFile } from '../../src/config/secret.ts';
import { AUTH_HEADER, makeToken } from '../../src/rpc/auth.ts';
import { connectScheduler, unary } from '../../src/rpc/index.ts';
import type { SchedulerClient } from '../../src/rpc/index.ts';
import type { StorageClient } from '../../src/client/storage-client.ts';
import {
  MessageFuzzer,
  Rng,
  UNKNOWN_METHOD,
  callRaw,
  learn,
  misbehaviour,
  mutate,
  newPools,
  randomBytesMessage,
  randomWire,
  rawClient,
  serviceMethods,
} from '../helpers/fuzz.ts';
import type { FuzzMethod, FuzzPools, Outcome, ServiceName } from '../helpers/fuzz.ts';
import { makeDataCase, recordProof, runDataCase } from '../helpers/data-fuzz.ts';
import type { DataTargetInfo } from '../helpers/data-fuzz.ts';

// Thousands of malformed and random gRPC requests to each service, running
// as real `stdchk` processes on loopback. Reproduce a failure with the seed
// this prints: STDCHK_FUZZ_SEED=<seed> (and STDCHK_FUZZ_CONCURRENCY=1 for the
// exact same order of arrival); more requests with STDCHK_FUZZ_ITERATIONS=N.
// See docs/bad-input.md.

const env = (name: string, dflt: number) => {
  const v = process.env[name];
  const n = v === undefined || v === '' ? dflt : Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number, not ${v}`);
  return n;
};
const SEED = env('STDCHK_FUZZ_SEED', randomInt(2 ** 31));
/** Requests per service. */
const ITERATIONS = env('STDCHK_FUZZ_ITERATIONS', 6_000);
/** Stop sending new requests to a service after this long (the run stays bounded on a slow machine). */
const SECONDS = env('STDCHK_FUZZ_SECONDS', 20);
const CONCURRENCY = Math.max(1, env('STDCHK_FUZZ_CONCURRENCY', 8));
const DEADLINE_MS = 30_000;
/** STDCHK_FUZZ_ONLY=I,J: generate every request but send only these (to replay a failure). */
const ONLY = process.env.STDCHK_FUZZ_ONLY
  ? new Set(process.env.STDCHK_FUZZ_ONLY.split(',').map(Number))
  : undefined;

const MiB = 1024 * 1024;

/** Methods that change nothing: only they may name the committed files and chunks. */
const READ_ONLY = new Set([
  'Stat',
  'List',
  'OpenVersion',
  'LocateChunks',
  'PrepareChunks',
  'Status',
  'RenewLeases',
  'ReadChunks',
  'Info',
  'ListJobs',
  'GetJob',
  'JobLogs',
  'ListWorkers',
]);

let grid: LocalGrid;
let secret: Buffer;
let storage: StorageClient;
let scheduler: SchedulerClient;
/** Files committed before the fuzzing, with their SHA-256. */
const committed = new Map<string, string>();
const keptHashes: Buffer[] = [];
let keptJob: { id: string; specJson: string };

test.before(async (t) => {
  t.log(`fuzz seed ${SEED} (reproduce: STDCHK_FUZZ_SEED=${SEED}); ${ITERATIONS} requests per service`);
  grid = await startGrid({ benefactors: 3, managerArgs: ['--heartbeat-timeout', '4s'] });
  await grid.startScheduler(['--heartbeat-timeout', '3s', '--heartbeat-interval', '500ms']);
  secret = readSecretFile(grid.secretFile);
  storage = grid.client();
  scheduler = connectScheduler(grid.schedulerAddress, { secret });
  await storage.mkdir('/keep/sub/dir', { parents: true });
  await storage.mkdir('/after', { parents: true });
  for (const [name, size] of [
    ['/keep/big.bin', 3 * MiB + 12_345],
    ['/keep/small.txt', 100],
    ['/keep/sub/dir/one-chunk', 20_000],
  ] as const) {
    const data = randomBytes(size);
    committed.set(name, sha256(data)); // before the write: the writer takes the buffer over
    const w = await storage.openWriter(name, { replicas: 2 });
    await w.write(data);
    await w.close();
  }
  for (const p of committed.keys()) {
    const r = await storage.openReader(p);
    keptHashes.push(...r.refs.map((ref) => ref.hash));
    await r.close();
  }
  const spec = JSON.stringify({
    name: 'kept',
    kind: 'process',
    args: ['sleep', '1000'],
    resources: { slots: 1 },
  });
  const job = await unary(scheduler, 'submitJob', { specJson: spec });
  keptJob = { id: job.id, specJson: job.specJson };
});

test.after.always(async () => {
  scheduler?.close();
  storage?.close();
  await cleanupAll();
});

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function processes(): GridProcess[] {
  return [grid.manager, ...grid.benefactors, grid.scheduler].filter((p): p is GridProcess => !!p);
}

function assertAllRunning(t: ExecutionContext): void {
  for (const p of processes()) {
    t.true(
      p.child.exitCode === null && p.child.signalCode === null,
      `${p.name} exited (${p.child.exitCode ?? p.child.signalCode}); see ${grid.logDir}/${p.name}.log`,
    );
  }
}

/** Log lines at level error (50) or above in a process's log, from byte `from` on. */
function errorLines(p: GridProcess, from: number): string[] {
  const text = readFileSync(path.join(grid.logDir, `${p.name}.log`))
    .subarray(from)
    .toString();
  return text.split('\n').filter((l) => {
    try {
      return (JSON.parse(l) as { level?: number }).level! >= 50;
    } catch {
      return l.trim().length > 0; // anything that is not pino JSON (a crash trace) counts
    }
  });
}

function logSizes(): Map<string, number> {
  return new Map(
    processes().map((p) => [p.name, readFileSync(path.join(grid.logDir, `${p.name}.log`)).length]),
  );
}

/** After the fuzzing: everything runs, serves valid clients, and lost nothing. */
async function assertHealthy(t: ExecutionContext): Promise<void> {
  assertAllRunning(t);
  // Benefactors the fuzzer registered expire; valid clients should not be sent to them.
  await waitFor(
    'only the real benefactors alive',
    async () => {
      const s = await storage.status();
      return s.benefactors.filter((b) => b.alive).length === 3;
    },
    60_000,
  );
  for (const [p, digest] of committed) {
    const r = await storage.openReader(p);
    const data = await r.read(0, r.size);
    await r.close();
    t.is(sha256(data), digest, `${p} reads back identical`);
  }
  const data = randomBytes(2 * MiB + 7);
  const name = `/after/${randomBytes(4).toString('hex')}`;
  const w = await storage.openWriter(name, { replicas: 2 });
  await w.write(Buffer.from(data)); // a copy: the writer takes its buffer over
  await w.close();
  const r = await storage.openReader(name);
  const back = await r.read(0, r.size);
  await r.close();
  t.true(back.equals(data), 'a put/get round trip after the fuzzing is byte-identical');

  const job = await unary(scheduler, 'submitJob', {
    specJson: JSON.stringify({ name: 'after', kind: 'process', args: ['true'] }),
  });
  const status = await unary(scheduler, 'getJob', { id: job.id });
  t.is(status.id, job.id);
  t.true(['queued', 'running'].includes(status.state), `a new job is ${status.state}`);
  const kept = await unary(scheduler, 'getJob', { id: keptJob.id });
  t.is(kept.specJson, keptJob.specJson, 'the job submitted before the fuzzing is intact');
}

// ---------------------------------------------------------------- the fuzzer

type Mode = 'structured' | 'mutated' | 'random' | 'wire' | 'unauthenticated' | 'unknown-method';

interface Case {
  index: number;
  method: FuzzMethod | { name: string; path: string; requestStream: false; responseStream: false };
  mode: Mode;
  payloads: Buffer[];
  requests: (Record<string, unknown> | undefined)[];
  metadata: grpc.Metadata;
  cancelAfterMs?: number;
  token: string;
  /** The server to send it to (default: by index). */
  target?: number;
}

/** What a valid token covers: the one request message of a call, nothing for a client stream. */
const bound = (m: { requestStream: boolean }, payloads: Buffer[]) =>
  m.requestStream ? undefined : payloads[0];

/** Tokens the services accepted, with the requests they carried: replayed, they must be refused. */
const accepted: { path: string; token: string; payloads: Buffer[]; target: number }[] = [];

function badToken(rng: Rng, m: FuzzMethod, all: FuzzMethod[]): string | undefined {
  const now = Date.now();
  const valid = makeToken(secret, m.path);
  return rng.pick([
    undefined,
    '',
    'garbage',
    'v1',
    'v1...',
    'v1.x.y.z',
    `v1.${now}.abcd.${'0'.repeat(64)}`,
    makeToken(randomBytes(32), m.path),
    makeToken(secret, m.path, undefined, now - 10 * 60_000), // expired
    makeToken(secret, m.path, undefined, now + 10 * 60_000), // from the future
    makeToken(secret, all.find((o) => o.path !== m.path)?.path ?? '/other/Method'), // another method's
    makeToken(secret, m.path, m.requestStream ? Buffer.from('a request') : Buffer.from('another request')), // another request's
    `v1.${now}.${randomBytes(8).toString('hex')}.${'a'.repeat(64)}`, // the old format
    valid.replace(/^v2/, 'v3'),
    `${valid}.x`,
    valid.slice(0, -1),
    `v2.NaN.${valid.split('.')[2]}.${valid.split('.')[3]}`,
    `v1.1e400.x.${'a'.repeat(64)}`,
    'v1.' + 'x'.repeat(4000),
    rng
      .bytes(rng.int(1, 200))
      .toString('base64')
      .replace(/[^ -~]/g, ''),
  ]);
}

function payloadFor(
  rng: Rng,
  fuzzer: MessageFuzzer,
  m: FuzzMethod,
  mode: Mode,
): [Buffer, Record<string, unknown>?] {
  const structured = (): [Buffer, Record<string, unknown>] => {
    for (;;) {
      const req = fuzzer.message(m.requestType, READ_ONLY.has(m.name));
      try {
        return [m.encode(req), req];
      } catch {
        // a value protobufjs refuses to encode: draw another
      }
    }
  };
  switch (mode) {
    case 'structured':
      return structured();
    case 'mutated':
      return [mutate(rng, structured()[0])];
    case 'random':
      return [randomBytesMessage(rng)];
    case 'wire':
      return [randomWire(rng)];
    default:
      return rng.chance(0.5) ? structured() : [randomBytesMessage(rng)];
  }
}

function makeCase(
  rng: Rng,
  fuzzer: MessageFuzzer,
  methods: FuzzMethod[],
  index: number,
  service: ServiceName,
): Case {
  if (rng.chance(0.005)) {
    const path = `/stdchk.v1.${service}/${UNKNOWN_METHOD}`;
    const md = new grpc.Metadata();
    const token = makeToken(secret, path);
    md.set(AUTH_HEADER, token);
    return {
      index,
      method: { name: UNKNOWN_METHOD, path, requestStream: false, responseStream: false },
      mode: 'unknown-method',
      payloads: [randomBytesMessage(rng)],
      requests: [undefined],
      metadata: md,
      token,
    };
  }
  const m = rng.pick(methods);
  const mode = rng.weighted<Mode>([
    [45, 'structured'],
    [15, 'mutated'],
    [12, 'random'],
    [13, 'wire'],
    [15, 'unauthenticated'],
  ]);
  const n = m.requestStream
    ? rng.weighted([
        [1, 0],
        [6, 1],
        [3, rng.int(2, 5)],
      ])
    : 1;
  const payloads: Buffer[] = [];
  const requests: (Record<string, unknown> | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    // A stream may mix well-formed and malformed messages.
    const [p, req] = payloadFor(rng, fuzzer, m, i > 0 && rng.chance(0.3) ? 'structured' : mode);
    payloads.push(p);
    requests.push(req);
  }
  const md = new grpc.Metadata();
  let token =
    mode === 'unauthenticated' ? badToken(rng, m, methods) : makeToken(secret, m.path, bound(m, payloads));
  const used = mode === 'unauthenticated' && rng.chance(0.2) ? accepted.filter((a) => a.path === m.path) : [];
  if (used.length > 0) {
    // A token the service already accepted, replayed with its own request or with this one.
    const u = rng.pick(used);
    token = u.token;
    if (rng.chance(0.5)) payloads.splice(0, payloads.length, ...u.payloads);
  }
  if (token !== undefined) md.set(AUTH_HEADER, token);
  const c: Case = { index, method: m, mode, payloads, requests, metadata: md, token: token ?? '(none)' };
  // To the server that accepted it: each server remembers its own nonces (docs/security.md).
  if (used.length > 0) c.target = (used.find((u) => u.token === token) as { target: number }).target;
  if ((m.requestStream || m.responseStream) && rng.chance(0.1)) c.cancelAfterMs = rng.int(0, 300);
  return c;
}

const LEARN_FROM_REQUESTS = new Set([
  'id',
  'benefactorId',
  'workerId',
  'incarnation',
  'jobId',
  'path',
  'from',
  'to',
]);

/** Feedback: ids and numbers the service accepted or handed out, reused to reach deeper code. */
function learnFrom(pools: FuzzPools, c: Case, o: Outcome): void {
  if (o.code !== grpc.status.OK || !('decodeReply' in c.method)) return;
  for (const req of c.requests) {
    for (const [k, v] of Object.entries(req ?? {})) {
      if (LEARN_FROM_REQUESTS.has(k) && (typeof v === 'string' || typeof v === 'number')) learn(pools, k, v);
    }
  }
  const m = c.method;
  const reply = o.replies[0];
  if (!reply || m.responseStream) return;
  let r: any;
  try {
    r = m.decodeReply(reply);
  } catch {
    return;
  }
  if (m.name === 'SubmitJob') {
    learn(pools, 'jobId', r.id);
    learn(pools, 'id', r.id);
  } else if (m.name === 'WorkerHeartbeat') {
    for (const a of r.assignments ?? []) {
      learn(pools, 'jobId', a.jobId);
      learn(pools, 'epoch', a.epoch);
      learn(pools, 'restoreSeq', a.restoreSeq);
    }
  } else if (m.name === 'BeginCheckpoint') {
    learn(pools, 'seq', r.seq);
  } else if (m.name === 'OpenVersion') {
    learn(pools, 'leaseIds', r.leaseId);
    learn(pools, 'version', r.info?.version);
  }
}

/** STDCHK_FUZZ_TRACE=FILE: one line per request (index, method, mode, sizes, status), for debugging. */
function trace(c: Case, o: Outcome): void {
  const file = process.env.STDCHK_FUZZ_TRACE;
  if (!file) return;
  const sizes = c.payloads.map((p) => p.length).join('+');
  const replied = o.replies.reduce((n, r) => n + r.length, 0);
  appendFileSync(
    file,
    `${new Date().toISOString()} #${c.index} ${c.method.path} ${c.mode} ${c.token.slice(0, 60)} ${sizes} -> ${grpc.status[o.code]} (${replied} bytes back) ${o.details.slice(0, 120)}\n`,
  );
}

interface Report {
  sent: number;
  byMode: Record<string, number>;
  byCode: Record<string, number>;
  failures: string[];
  seconds: number;
}

function describe(c: Case, o: Outcome, why: string, seed: number): string {
  const hex = c.payloads.map((p) =>
    p.length > 96 ? `${p.subarray(0, 96).toString('hex')}... (${p.length} bytes)` : p.toString('hex'),
  );
  return (
    `#${c.index} ${c.method.path} [${c.mode}] -> ${grpc.status[o.code] ?? o.code} "${o.details.slice(0, 200)}": ${why}` +
    ` (seed ${seed}; payloads ${hex.join(' | ')}; token ${c.token.slice(0, 40)})`
  );
}

/** Statuses after which the service may not have seen (and remembered) the token. */
const NOT_SEEN = new Set([
  grpc.status.CANCELLED,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.UNAVAILABLE,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.UNAUTHENTICATED,
]);

async function fuzzService(
  t: ExecutionContext,
  service: ServiceName,
  addresses: string[],
  seed: number,
  pools: FuzzPools,
): Promise<Report> {
  const rng = new Rng(seed);
  const fuzzer = new MessageFuzzer(rng, pools);
  const methods = serviceMethods(service);
  const clients = addresses.map((a) => rawClient(service, a));
  const report: Report = { sent: 0, byMode: {}, byCode: {}, failures: [], seconds: 0 };
  const started = Date.now();
  const stopAt = started + SECONDS * 1000;
  let index = 0;
  const worker = async () => {
    while (index < ITERATIONS && Date.now() < stopAt && report.failures.length < 20) {
      const c = makeCase(rng, fuzzer, methods, index++, service);
      if (ONLY && !ONLY.has(c.index)) continue;
      const target = c.target ?? c.index % clients.length;
      const client = clients[target] as grpc.Client;
      const o = await callRaw(client, c.method, c.payloads, {
        metadata: c.metadata,
        deadlineMs: DEADLINE_MS,
        ...(c.cancelAfterMs !== undefined ? { cancelAfterMs: c.cancelAfterMs } : {}),
      });
      report.sent++;
      trace(c, o);
      if (
        (c.mode === 'structured' || c.mode === 'mutated' || c.mode === 'random' || c.mode === 'wire') &&
        !NOT_SEEN.has(o.code)
      ) {
        accepted.push({ path: c.method.path, token: c.token, payloads: c.payloads, target });
        if (accepted.length > 500) accepted.splice(0, 100);
      }
      report.byMode[c.mode] = (report.byMode[c.mode] ?? 0) + 1;
      const code = grpc.status[o.code] ?? String(o.code);
      report.byCode[code] = (report.byCode[code] ?? 0) + 1;
      const why = misbehaviour(
        o,
        c.mode === 'unauthenticated'
          ? 'unauthenticated'
          : c.mode === 'unknown-method'
            ? 'unimplemented'
            : 'any',
      );
      if (why) report.failures.push(describe(c, o, why, seed));
      learnFrom(pools, c, o);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  for (const c of clients) c.close();
  report.seconds = (Date.now() - started) / 1000;
  t.log(
    `${service}: ${report.sent} requests in ${report.seconds.toFixed(1)} s; modes ${JSON.stringify(report.byMode)}; statuses ${JSON.stringify(report.byCode)}`,
  );
  return report;
}

/** The real benefactors' addresses, in grid order (the manager may also list ones the fuzzer registered). */
async function benefactorAddresses(): Promise<string[]> {
  const s = await storage.status();
  return grid.benefactors.map((_, i) => {
    const id = readFileSync(path.join(grid.benefactorStore(i), 'benefactor.id'), 'utf8').trim();
    const b = s.benefactors.find((x) => x.id === id);
    if (!b) throw new Error(`benefactor-${i} (${id}) is not registered`);
    return b.address;
  });
}

/** Keeps the grid's logs of a failed run (the grid's folder is removed afterwards). */
function keepLogs(t: ExecutionContext): void {
  const dest = path.join(os.tmpdir(), `stdchk-fuzz-logs-${SEED}`);
  cpSync(grid.logDir, dest, { recursive: true });
  t.log(`logs kept in ${dest}`);
}

function recordReport(service: string, r: Report): void {
  const file = process.env.STDCHK_FUZZ_REPORT;
  if (!file) return;
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    // first service
  }
  all[service] = { seed: SEED, ...r };
  writeFileSync(file, JSON.stringify(all, null, 2));
}

// ---------------------------------------------------------------- oversized messages

function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

test.serial('oversized messages are refused with RESOURCE_EXHAUSTED before they are buffered', async (t) => {
  const SIZE = 100 * MiB;
  const huge = Buffer.alloc(SIZE, 0x0a);
  const benefactor = (await benefactorAddresses())[0] as string;
  const benefactorPid = grid.benefactors[0]?.child.pid as number;
  // A small valid StoreRequest first, so the refusal races an ack in flight.
  const storeMethod = serviceMethods('Benefactor').find((m) => m.name === 'StoreChunks') as FuzzMethod;
  const small = storeMethod.encode({ seq: 1 });
  const cases: [ServiceName, string, number, string, Buffer[]][] = [
    ['Manager', grid.managerAddress, grid.manager?.child.pid as number, 'CommitVersion', [huge]],
    ['Manager', grid.managerAddress, grid.manager?.child.pid as number, 'ReportInventory', [huge]],
    ['Benefactor', benefactor, benefactorPid, 'StoreChunks', [small, huge]],
    ['Benefactor', benefactor, benefactorPid, 'ReadChunks', [huge]],
    ['Scheduler', grid.schedulerAddress, grid.scheduler?.child.pid as number, 'SubmitJob', [huge]],
  ];
  for (const [service, address, pid, name, payloads] of cases) {
    const m = serviceMethods(service).find((x) => x.name === name) as FuzzMethod;
    const client = rawClient(service, address);
    const md = new grpc.Metadata();
    md.set(AUTH_HEADER, makeToken(secret, m.path));
    writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
    const before = memoryOf(pid);
    const o = await callRaw(client, m, payloads, { metadata: md, deadlineMs: 60_000 });
    const after = memoryOf(pid);
    client.close();
    const grew = after.hwm - before.rss;
    t.log(
      `${service}.${name}: ${grpc.status[o.code]} "${o.details}"; peak RSS grew by ${(grew / MiB).toFixed(1)} MiB (RSS ${(before.rss / MiB).toFixed(0)} -> ${(after.rss / MiB).toFixed(0)} MiB)`,
    );
    t.is(o.code, grpc.status.RESOURCE_EXHAUSTED, `${service}.${name} refuses a 100 MiB message`);
    t.true(
      grew < SIZE / 4,
      `${service}.${name}: the server did not buffer the message (peak grew ${grew} bytes)`,
    );
  }
  assertAllRunning(t);
});

test.serial('requests that once crashed a service or hung its caller get a proper status', async (t) => {
  const benefactor = (await benefactorAddresses())[0] as string;
  const send = async (service: ServiceName, address: string, name: string, requests: object[] | Buffer[]) => {
    const m = serviceMethods(service).find((x) => x.name === name) as FuzzMethod;
    const payloads = requests.map((r) => (Buffer.isBuffer(r) ? r : m.encode(r)));
    const md = new grpc.Metadata();
    md.set(AUTH_HEADER, makeToken(secret, m.path, bound(m, payloads)));
    const client = rawClient(service, address);
    try {
      return await callRaw(client, m, payloads, { metadata: md, deadlineMs: 30_000 });
    } finally {
      client.close();
    }
  };
  const job = (extra: Record<string, unknown>) =>
    JSON.stringify({ kind: 'process', args: ['sleep', '1'], ...extra });
  const BAD = grpc.status.INVALID_ARGUMENT;
  const cases: [string, ServiceName, string, string, object[] | Buffer[], grpc.status][] = [
    // A lone surrogate in the status message: grpc-js's encodeURI threw and the scheduler exited.
    [
      'job file key "\\ud800"',
      'Scheduler',
      grid.schedulerAddress,
      'SubmitJob',
      [{ specJson: job({ '\ud800': 1 }) }],
      BAD,
    ],
    [
      'env name "a\\udfffb"',
      'Scheduler',
      grid.schedulerAddress,
      'SubmitJob',
      [{ specJson: job({ env: { 'a\udfffb': 'v' } }) }],
      BAD,
    ],
    [
      'a cut splitting a pair',
      'Scheduler',
      grid.schedulerAddress,
      'SubmitJob',
      [{ specJson: job({ [`x${'🙂'.repeat(3000)}`]: 1 }) }],
      BAD,
    ],
    // A 92 KB id echoed in the status: a trailer over the client's header limit hung the call.
    ['a 92 KB job id', 'Scheduler', grid.schedulerAddress, 'GetJob', [{ id: 'x'.repeat(92_000) }], BAD],
    // A malformed message after a good one: the good one's ack raced the refusal and hung the call.
    [
      'StoreChunks: good, then malformed',
      'Benefactor',
      benefactor,
      'StoreChunks',
      [
        serviceMethods('Benefactor')
          .find((x) => x.name === 'StoreChunks')!
          .encode({ seq: 1 }),
        Buffer.from([0xff, 0xff]),
      ],
      BAD,
    ],
  ];
  for (const [what, service, address, name, requests, code] of cases) {
    const o = await send(service, address, name, requests);
    t.is(o.code, code, `${what}: ${grpc.status[o.code]} "${o.details.slice(0, 200)}"`);
    t.notThrows(() => encodeURI(o.details), `${what}: the status message is well-formed`);
  }
  // Undecodable bytes without a token: grpc-js answered INTERNAL (it decoded before we authenticated).
  const client = rawClient('Manager', grid.managerAddress);
  const stat = serviceMethods('Manager').find((x) => x.name === 'Stat') as FuzzMethod;
  const garbage = Buffer.from([0x17, 0x01, 0x02]);
  const unauthenticated = await callRaw(client, stat, [garbage], { deadlineMs: 30_000 });
  const md = new grpc.Metadata();
  md.set(AUTH_HEADER, makeToken(secret, stat.path, garbage));
  const malformed = await callRaw(client, stat, [garbage], { metadata: md, deadlineMs: 30_000 });
  client.close();
  t.is(unauthenticated.code, grpc.status.UNAUTHENTICATED);
  t.is(malformed.code, grpc.status.INVALID_ARGUMENT);
  t.regex(malformed.details, /^malformed request to \/stdchk.v1.Manager\/Stat: /);
  assertAllRunning(t);
});

for (const [i, service] of (['Manager', 'Benefactor', 'Scheduler'] as const).entries()) {
  test.serial(
    `fuzz: ${service} survives thousands of malformed, random and unauthenticated requests`,
    async (t) => {
      const pools = newPools();
      pools.protectedPaths.push('/keep', ...committed.keys());
      pools.protectedHashes.push(...keptHashes);
      pools.protectedIds.add(keptJob.id);
      const before = logSizes();
      const addresses =
        service === 'Manager'
          ? [grid.managerAddress]
          : service === 'Scheduler'
            ? [grid.schedulerAddress]
            : await benefactorAddresses();
      const report = await fuzzService(t, service, addresses, SEED + i, pools);
      recordReport(service, report);
      if (report.failures.length) keepLogs(t);
      for (const f of report.failures) t.log(f);
      t.deepEqual(report.failures, [], `every refusal is a proper status (seed ${SEED})`);
      t.true(report.sent > 0);
      for (const p of processes()) {
        const errors = errorLines(p, before.get(p.name) ?? 0).filter((l) => l.includes('request failed'));
        for (const e of errors.slice(0, 5)) t.log(`${p.name}: ${e.slice(0, 500)}`);
        t.is(errors.length, 0, `${p.name} logged no unexpected request failures`);
      }
      await assertHealthy(t);
    },
  );
}

// ---------------------------------------------------------------- the framed chunk stream

test.serial(
  "fuzz: the benefactors' data port survives thousands of malformed, random and unauthenticated frames",
  async (t) => {
    const before = logSizes();
    const s = await storage.status();
    const targets: DataTargetInfo[] = grid.benefactors.map((_, i) => {
      const id = readFileSync(path.join(grid.benefactorStore(i), 'benefactor.id'), 'utf8').trim();
      const b = s.benefactors.find((x) => x.id === id);
      if (!b?.dataAddress) throw new Error(`benefactor-${i} (${id}) has no data port`);
      return { id, dataAddress: b.dataAddress };
    });
    const seed = SEED + 3;
    const rng = new Rng(seed);
    const recorded = await Promise.all(targets.map((x) => recordProof(x, secret)));
    const report: Report = { sent: 0, byMode: {}, byCode: {}, failures: [], seconds: 0 };
    const started = Date.now();
    const stopAt = started + SECONDS * 1000;
    let index = 0;
    const worker = async () => {
      while (index < ITERATIONS && Date.now() < stopAt && report.failures.length < 20) {
        const c = makeDataCase(rng, index++, targets, keptHashes);
        if (ONLY && !ONLY.has(c.index)) continue;
        const why = await runDataCase(c, secret, recorded, 15_000).catch(
          (e: unknown) => `the case failed to run: ${(e as Error).message}`,
        );
        report.sent++;
        const mode = c.hello ? `unauthenticated:${c.hello}` : c.mode;
        report.byMode[mode] = (report.byMode[mode] ?? 0) + 1;
        if (process.env.STDCHK_FUZZ_TRACE) {
          appendFileSync(
            process.env.STDCHK_FUZZ_TRACE,
            `${new Date().toISOString()} data #${c.index} ${mode} ${c.payload.length} bytes -> ${why ?? 'ok'}\n`,
          );
        }
        if (why) {
          const hex =
            c.payload.length > 96
              ? `${c.payload.subarray(0, 96).toString('hex')}... (${c.payload.length} bytes)`
              : c.payload.toString('hex');
          report.failures.push(
            `#${c.index} [${mode}] to ${c.target.id}: ${why} (seed ${seed}; payload ${hex})`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    report.seconds = (Date.now() - started) / 1000;
    t.log(
      `data port: ${report.sent} connections in ${report.seconds.toFixed(1)} s; modes ${JSON.stringify(report.byMode)}`,
    );
    recordReport('DataPort', report);
    if (report.failures.length) keepLogs(t);
    for (const f of report.failures) t.log(f);
    t.deepEqual(report.failures, [], `every frame got a proper answer (seed ${SEED})`);
    t.true(report.sent > 0);
    for (const p of processes()) {
      const errors = errorLines(p, before.get(p.name) ?? 0);
      for (const e of errors.slice(0, 5)) t.log(`${p.name}: ${e.slice(0, 500)}`);
      t.is(errors.length, 0, `${p.name} logged no errors`);
    }
    await assertHealthy(t);
  },
);
