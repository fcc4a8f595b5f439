import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Interceptor, Metadata } from '@grpc/grpc-js';
import { InterceptingCall } from '@grpc/grpc-js';
import { StdchkError } from '../errors/index.ts';

/**
 * Shared-secret authentication. Every call carries
 *   x-stdchk-auth: v1.<unix ms>.<nonce>.<hex HMAC-SHA256(secret, "<ms>.<nonce>.<method path>")>
 * so a captured token is bound to one method and expires after MAX_SKEW_MS.
 */
export const AUTH_HEADER = 'x-stdchk-auth';
const MAX_SKEW_MS = 5 * 60_000;

function mac(secret: Buffer, ts: string, nonce: string, method: string): string {
  return createHmac('sha256', secret).update(`${ts}.${nonce}.${method}`).digest('hex');
}

export function makeToken(secret: Buffer, method: string, now = Date.now()): string {
  const ts = String(now);
  const nonce = randomBytes(8).toString('hex');
  return `v1.${ts}.${nonce}.${mac(secret, ts, nonce, method)}`;
}

/** Throws UNAUTHENTICATED unless the metadata carries a valid token for this method. */
export function verifyToken(secret: Buffer, metadata: Metadata, method: string, now = Date.now()): void {
  const value = metadata.get(AUTH_HEADER)[0];
  if (typeof value !== 'string' || value.length === 0) {
    throw new StdchkError('UNAUTHENTICATED', 'missing cluster credentials (is --secret-file set?)');
  }
  const parts = value.split('.');
  if (parts.length !== 4 || parts[0] !== 'v1') {
    throw new StdchkError('UNAUTHENTICATED', 'malformed cluster credentials');
  }
  const [, ts, nonce, given] = parts as [string, string, string, string];
  const t = Number(ts);
  if (!Number.isFinite(t) || Math.abs(now - t) > MAX_SKEW_MS) {
    throw new StdchkError('UNAUTHENTICATED', 'expired cluster credentials (clock skew over 5 minutes?)');
  }
  const expected = Buffer.from(mac(secret, ts, nonce, method), 'hex');
  const actual = Buffer.from(given, 'hex');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new StdchkError('UNAUTHENTICATED', 'wrong cluster secret');
  }
}

/** Client interceptor adding a fresh token to every call. */
export function authInterceptor(secret: Buffer): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set(AUTH_HEADER, makeToken(secret, options.method_definition.path));
        next(metadata, listener);
      },
    });
}
