import test from 'ava';
import { randomBytes } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { NonceCache } from '../../src/rpc/nonce-cache.ts';
import { AUTH_HEADER, MAX_SKEW_MS, START_SLACK_MS, TokenVerifier, makeToken } from '../../src/rpc/auth.ts';
import { isStdchkError } from '../../src/errors/index.ts';

const secret = Buffer.from('a-cluster-secret-of-enough-length');
const T0 = 1_800_000_000_000;
const MIN = 60_000;

function md(token: string): Metadata {
  const m = new Metadata();
  m.set(AUTH_HEADER, token);
  return m;
}

test('a nonce is remembered until its token expires, then forgotten', (t) => {
  const c = new NonceCache(1000, T0);
  const n = randomBytes(16);
  t.is(c.add(n, T0 + 5 * MIN, T0), 'added');
  t.is(c.add(n, T0 + 5 * MIN, T0 + 1), 'replay');
  t.is(c.add(Buffer.from(n), T0 + 5 * MIN, T0 + 5 * MIN - 1000), 'replay', 'a copy of the same bytes');
  t.is(c.add(n, T0 + 20 * MIN, T0 + 6 * MIN), 'added', 'expired: a slot like any other');
});

test('the cache refuses new nonces when full of live ones, rather than forget one; space returns as they expire', (t) => {
  const c = new NonceCache(3000, T0);
  const nonces = Array.from({ length: 3000 }, () => randomBytes(16));
  nonces.forEach((n, i) => t.is(c.add(n, T0 + 5 * MIN, T0 + i), 'added'));
  t.is(c.add(randomBytes(16), T0 + 5 * MIN, T0 + 3000), 'full');
  t.is(c.add(randomBytes(16), T0 + 5 * MIN, T0 + 3001), 'full', 'still full within the second');
  // Every remembered nonce is still refused while full.
  for (const n of nonces.slice(0, 200)) t.is(c.add(n, T0 + 5 * MIN, T0 + 4000), 'replay');
  // Once they expire, new ones are taken again and the table does not grow past its bound.
  t.is(c.add(randomBytes(16), T0 + 12 * MIN, T0 + 5 * MIN + 2000), 'added');
  t.true(c.capacity <= 8192, `capacity ${c.capacity}`);
  t.true(c.size <= 3000);
});

test('the cache grows with what it holds and finds every entry again (200,000 nonces)', (t) => {
  const c = new NonceCache(1_000_000, T0);
  const nonces = Array.from({ length: 200_000 }, () => randomBytes(16));
  for (const n of nonces) if (c.add(n, T0 + 5 * MIN, T0) !== 'added') t.fail('a fresh nonce was not added');
  let replays = 0;
  for (const n of nonces) if (c.add(n, T0 + 5 * MIN, T0 + 1000) === 'replay') replays++;
  t.is(replays, nonces.length);
  t.true(c.capacity >= 200_000 / 0.7 && c.capacity <= 1 << 20, `capacity ${c.capacity}`);
});

test('a token is good once, for its method and its request only', (t) => {
  const v = new TokenVerifier(secret, { now: T0 });
  const REMOVE = '/stdchk.v1.Manager/Remove';
  const request = Buffer.from('remove /a');
  const token = makeToken(secret, REMOVE, request, T0 + 1000);
  const parsed = (method = REMOVE, now = T0 + 2000) => v.parse(md(token), method, now);
  const refused = (fn: () => void, re: RegExp) => {
    const e = t.throws(fn);
    t.true(isStdchkError(e, 'UNAUTHENTICATED'), String(e));
    t.regex((e as Error).message, re);
  };
  // From the metadata alone: another method, another secret.
  refused(() => parsed('/stdchk.v1.Manager/Rename'), /credentials made for another method/);
  refused(
    () =>
      new TokenVerifier(Buffer.from('another-secret-of-enough-length'), { now: T0 }).parse(
        md(token),
        REMOVE,
        T0 + 2000,
      ),
    /wrong cluster secret/,
  );
  // With the request: another request, or none (as if it were a stream).
  refused(
    () => v.verify(parsed(), Buffer.from('remove /b'), T0 + 2000),
    /credentials made for another request/,
  );
  refused(() => v.verify(parsed(), undefined, T0 + 2000), /not for a stream/);
  t.is(v.remembered, 0, 'a refused token is not remembered: the real request may still come');
  t.notThrows(() => v.verify(parsed(), request, T0 + 2000));
  // Spent: refused from the metadata, before the request is read.
  refused(() => parsed(REMOVE, T0 + 3000), /replayed/);
  t.is(v.remembered, 1);

  // Two calls racing with one token: both pass the metadata check, only the first is served.
  const raced = makeToken(secret, REMOVE, request, T0 + 1000);
  const a = v.parse(md(raced), REMOVE, T0 + 2000);
  const b = v.parse(md(raced), REMOVE, T0 + 2000);
  t.notThrows(() => v.verify(a, request, T0 + 2000));
  refused(() => v.verify(b, request, T0 + 2000), /replayed/);

  // A stream's token binds the method and the call.
  const STORE = '/stdchk.v1.Benefactor/StoreChunks';
  const stream = makeToken(secret, STORE, undefined, T0 + 1000);
  refused(() => v.verify(v.parse(md(stream), STORE, T0 + 1000), Buffer.from('x')), /another request/);
  t.notThrows(() => v.verify(v.parse(md(stream), STORE, T0 + 1000), undefined));
  refused(() => v.parse(md(stream), STORE, T0 + 1000), /replayed/);
});

test('tokens from another time, an older stdchk or before the server started are refused from the metadata', (t) => {
  const v = new TokenVerifier(secret, { now: T0 });
  const refused = (token: string, now: number, re: RegExp) => {
    const e = t.throws(() => v.parse(md(token), '/m', now));
    t.true(isStdchkError(e, 'UNAUTHENTICATED'), String(e));
    t.regex((e as Error).message, re);
  };
  const at = (ms: number) => makeToken(secret, '/m', Buffer.alloc(0), ms);
  refused(at(T0 + MIN), T0 + MIN + MAX_SKEW_MS + 1, /expired cluster credentials/);
  refused(at(T0 + MIN + MAX_SKEW_MS + 1), T0 + MIN, /expired cluster credentials/);
  refused(at(T0 - START_SLACK_MS - 1), T0 + 1000, /minted before this server started/);
  t.notThrows(() => v.parse(md(at(T0 - START_SLACK_MS + 1000)), '/m', T0 + 1000), 'calls in flight at start');
  refused(`v1.${T0}.0011223344556677.${'a'.repeat(64)}`, T0, /older stdchk \(token v1\)/);
  const h = (n: number) => 'a'.repeat(n);
  for (const bad of [
    '',
    'v2',
    'v2....',
    `v2.${T0}.xyz.${h(64)}.${h(64)}`,
    `v2.1e3.${h(32)}.${h(64)}.${h(64)}`,
    `v2.${T0}.${h(32)}.${h(64)}`,
    `v2.${T0}.${h(32)}.${h(63)}.${h(64)}`,
  ]) {
    refused(bad, T0, /missing|malformed/);
  }
  t.is(v.remembered, 0);
});
