import test from 'ava';
import type { ExecutionContext } from 'ava';
import { status as GrpcStatus } from '@grpc/grpc-js';
import * as v from '../../src/validation/index.ts';
import { StdchkError, isStdchkError, toServiceError, wellFormed } from '../../src/errors/index.ts';
import { normalizePath } from '../../src/config/paths.ts';
import { parseJobFile } from '../../src/jobs/spec.ts';
import { parseDuration, parseSize } from '../../src/config/units.ts';
import { EncodedRequest, MalformedMessage, guardedDefinition } from '../../src/rpc/server-guard.ts';
import { protoDefinition, protos } from '../../src/rpc/index.ts';
import {
  MAX_CHUNKS_PER_MESSAGE,
  MAX_DATA_BYTES_PER_MESSAGE,
  encodeStoreRequest,
  splitChunks,
} from '../../src/rpc/chunk-frames.ts';
import { REF_BYTES } from '../../src/chunking/refs.ts';
import { hashChunk } from '../../src/hashing/index.ts';

const refused = (t: ExecutionContext, fn: () => unknown, re: RegExp) => {
  const e = t.throws(fn);
  t.true(isStdchkError(e, 'INVALID_ARGUMENT'), String(e));
  t.regex((e as Error).message, re);
};

test('numbers: NaN, infinities, fractions, negatives and unsafe integers are refused', (t) => {
  t.is(v.uint(5, 'n'), 5);
  for (const bad of [NaN, Infinity, -1, 1.5, 2 ** 53, '3', undefined])
    refused(t, () => v.uint(bad, 'n'), /^n must be/);
  refused(t, () => v.uint(11, 'n', 10), /from 0 to 10/);
  t.is(v.int(-3, 'n', -5, 5), -3);
  t.is(v.finite(0.25, 'seconds', 0, 10), 0.25);
  for (const bad of [NaN, Infinity, -Infinity, -0.1, 11])
    refused(t, () => v.finite(bad, 'seconds', 0, 10), /seconds/);
});

test('ids, hosts and addresses have one rule each', (t) => {
  t.is(v.id('116bfd8e-05bb-400f-a081-5f4092f7e9d3', 'benefactor id'), '116bfd8e-05bb-400f-a081-5f4092f7e9d3');
  for (const bad of ['', 'a/b', '..', 'a\0b', 'x'.repeat(65), 5])
    refused(t, () => v.id(bad, 'id'), /^id must be/);
  t.is(v.workerId('host-1.example'), 'host-1.example');
  refused(t, () => v.workerId('.hidden'), /worker id/);
  t.is(v.address('[::1]:7070'), '[::1]:7070');
  for (const bad of ['host', 'host:0', 'host:65536', ':80', 'a b:1'])
    refused(t, () => v.address(bad), /HOST:PORT/);
  refused(t, () => v.host('a b'), /host/);
});

test('values quoted in errors are bounded, and every status message is bounded and well-formed', (t) => {
  const long = 'x'.repeat(100_000);
  const e = t.throws(() => v.id(long, 'id')) as Error;
  t.true(e.message.length < 200, e.message);
  t.regex(e.message, /100002 characters/);
  const se = toServiceError(new StdchkError('INVALID_ARGUMENT', long));
  t.is(se.code, GrpcStatus.INVALID_ARGUMENT);
  t.true((se.details ?? '').length <= 1024);
  t.is(v.clipText(`a\0b${long}`, 10), 'abxxxxxxxx... (cut)');
  // grpc-js sends the message through encodeURI, which throws on a lone surrogate (that
  // exception ended the scheduler): quoted lone surrogates and pairs split by the cut are replaced.
  for (const message of [`unknown field "\ud800"`, `x${'🙂'.repeat(1000)}`, '\udfff\ud800']) {
    const details = toServiceError(new StdchkError('INVALID_ARGUMENT', message)).details ?? '';
    t.notThrows(() => encodeURI(details), JSON.stringify(details.slice(-20)));
  }
  t.is(wellFormed('a\ud800b\udc00🙂'), 'a\ufffdb\ufffd🙂');
  t.notThrows(() => encodeURI((t.throws(() => v.id('🙂'.repeat(100), 'id')) as Error).message));
  refused(t, () => v.bounded([1, 2, 3], 'states', 2), /at most 2/);
  refused(t, () => v.oneOf('RUNNING', 'state', ['running']), /one of running/);
  refused(t, () => v.packedHashes(Buffer.alloc(33), 'hashes'), /multiple of 32/);
  refused(t, () => v.packedHashes(Buffer.alloc(32 * 3), 'hashes', 2), /3 hashes, at most 2/);
});

test('paths: "..", NUL, empty, relative and overlong are refused; doubled slashes are normalised', (t) => {
  t.is(normalizePath('/a//b/'), '/a/b');
  for (const bad of ['', 'a/b', '/a/../b', '/..', '/a/./b', '/a\0b']) {
    refused(t, () => normalizePath(bad), /^path: /);
  }
  // Overlong: NAME_TOO_LONG (ENAMETOOLONG at the mount, INVALID_ARGUMENT over gRPC).
  for (const long of [`/${'x'.repeat(256)}`, '/a/'.repeat(1500)]) {
    const e = t.throws(() => normalizePath(long));
    t.true(isStdchkError(e, 'NAME_TOO_LONG'), String(e));
    t.regex((e as Error).message, /^path: .*longer than/);
  }
});

test('job files: absurd intervals, MTBFs, memory and argument counts are refused', (t) => {
  const job = (extra: Record<string, unknown>) =>
    JSON.stringify({ kind: 'process', args: ['sleep', '1'], ...extra });
  refused(
    t,
    () => parseJobFile(job({ checkpoint: { interval: '400d' } })),
    /checkpoint.interval" must be at most a year/,
  );
  refused(
    t,
    () => parseJobFile(job({ checkpoint: { interval: 30 } })),
    /checkpoint.interval" must be a duration/,
  );
  refused(t, () => parseJobFile(job({ checkpoint: { mtbf: '1e400h' } })), /checkpoint.mtbf/);
  refused(t, () => parseJobFile(job({ resources: { memory: -5 } })), /resources.memory/);
  refused(t, () => parseJobFile(job({ resources: { memory: 1.5 } })), /resources.memory/);
  refused(t, () => parseJobFile(job({ args: Array(5000).fill('x') })), /at most 4096/);
  refused(t, () => parseDuration('1'.repeat(200), '--timeout'), /--timeout: not a duration/);
  refused(t, () => parseSize(-1, '--capacity'), /--capacity: not a size/);
});

test('request deserializers never throw: they keep the bytes; undecodable ones decode to a MalformedMessage', (t) => {
  const def = guardedDefinition(protoDefinition());
  const stat = (def['stdchk.v1.Manager'] as Record<string, { requestDeserialize(b: Buffer): EncodedRequest }>)
    .Stat!;
  const bad = stat.requestDeserialize(Buffer.from([0x17, 0x01, 0x02]));
  t.true(bad instanceof EncodedRequest);
  t.deepEqual(bad.bytes, Buffer.from([0x17, 0x01, 0x02]), 'the bytes the token is checked against');
  t.true(bad.decode() instanceof MalformedMessage);
  t.deepEqual(stat.requestDeserialize(Buffer.from([0x0a, 0x01, 0x2f])).decode(), { path: '/' });
});

test('packed StoreRequests: ragged refs, too many chunks or bytes, bad lengths and leftovers are refused', (t) => {
  const chunks = [Buffer.from('one'), Buffer.from('second chunk')].map((data) => ({
    hash: hashChunk(data),
    data,
  }));
  // The hand encoder's bytes are ordinary protobuf: the service's decoder reads them back.
  const frame = encodeStoreRequest(7, chunks);
  const decode = (
    protos().Benefactor.service.StoreChunks as unknown as {
      requestDeserialize(b: Buffer): EncodedRequest;
    }
  ).requestDeserialize;
  const req = decode(frame).decode() as { seq: number; refs: Buffer; data: Buffer };
  t.is(req.seq, 7);
  const back = splitChunks(req.refs, req.data, 'StoreChunks');
  t.deepEqual(
    back.map((c) => c.data.toString()),
    ['one', 'second chunk'],
  );
  t.true(back.every((c, i) => c.hash.equals(chunks[i]!.hash)));

  const refs = (lengths: number[]) => {
    const out = Buffer.alloc(lengths.length * REF_BYTES);
    lengths.forEach((n, i) => out.writeUInt32LE(n, i * REF_BYTES + 32));
    return out;
  };
  refused(t, () => splitChunks(Buffer.alloc(REF_BYTES + 1), Buffer.alloc(1), 'S'), /multiple of 36/);
  refused(
    t,
    () => splitChunks(refs(Array(MAX_CHUNKS_PER_MESSAGE + 1).fill(1)), Buffer.alloc(4097), 'S'),
    /4097 chunks, at most 4096/,
  );
  const big = t.throws(() => splitChunks(refs([1]), Buffer.alloc(MAX_DATA_BYTES_PER_MESSAGE + 1), 'S'));
  t.true(isStdchkError(big, 'TOO_LARGE'), String(big));
  refused(t, () => splitChunks(refs([0]), Buffer.alloc(0), 'S'), /chunk 0 has 0 bytes/);
  refused(t, () => splitChunks(refs([2 ** 32 - 1]), Buffer.alloc(1), 'S'), /chunk 0 has 4294967295 bytes/);
  refused(t, () => splitChunks(refs([3, 4]), Buffer.alloc(5), 'S'), /refs name 7\+ bytes but data holds 5/);
  refused(t, () => splitChunks(refs([3]), Buffer.alloc(5), 'S'), /refs name 3 bytes but data holds 5/);
});
