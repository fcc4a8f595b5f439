import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Interceptor, Listener, Metadata } from '@grpc/grpc-js';
import { InterceptingCall } from '@grpc/grpc-js';
import { StdchkError } from '../errors/index.ts';
import { NonceCache } from './nonce-cache.ts';

/**
 * Shared-secret authentication (docs/security.md). Every call carries
 *
 *   x-stdchk-auth: v2.<unix ms>.<nonce: 32 hex>.<call MAC: 64 hex>.<request MAC: 64 hex>
 *   call MAC    = HMAC-SHA256(secret, "stdchk-token-v2/call" NUL ms NUL nonce NUL method path)
 *   request MAC = HMAC-SHA256(secret, "stdchk-token-v2/request" NUL ms NUL nonce NUL method path NUL binding)
 *
 * where `binding` says what the token authorises:
 *
 * - a call with one request message (unary, and ReadChunks' server stream):
 *   "sha256:" + the SHA-256 of the serialized request. The client mints the
 *   token when the message is sent; the server checks it against the bytes it
 *   received, before decoding them. A token therefore authorises exactly one
 *   request to one method.
 * - a client or bidirectional stream (StoreChunks, ReportInventory): the
 *   token goes out before any message, so it binds the method and the call
 *   itself ("stream"): the nonce makes it good for one call, and the
 *   messages ride that call's HTTP/2 stream. Messages are not covered one by
 *   one: adding them to a call needs the connection itself, where only TLS
 *   protects (see docs/security.md), and hashing every chunk message again
 *   would cost the data path (chunks are verified by their BLAKE3 hash on
 *   the benefactor anyway).
 *
 * The call MAC is checked from the metadata alone, with the nonce not used
 * before: a caller without the secret (or with a spent token) is refused
 * before its request is even read. The request MAC is checked once the
 * request's bytes are in; only then is the nonce remembered.
 *
 * A server accepts a token within MAX_SKEW_MS of its clock, minted no more
 * than START_SLACK_MS before the server started (a restart does not reopen
 * the window for tokens seen before it), and only once: each accepted
 * nonce is remembered until its token expires (nonce-cache.ts).
 */
export const AUTH_HEADER = 'x-stdchk-auth';
export const TOKEN_VERSION = 'v2';
export const MAX_SKEW_MS = 5 * 60_000;
/** Tokens minted this long before a server started are still taken (calls in flight while it came up). */
export const START_SLACK_MS = 10_000;
/** Tokens remembered at most by one server: 2 M (48 MiB), i.e. ~6,500 calls/s sustained over the window. */
export const DEFAULT_MAX_NONCES = 2 * 1024 * 1024;

const NONCE_BYTES = 16;
const STREAM_BINDING = 'stream';

/** What a token authorises: the request's bytes, or (undefined) the call of a client stream. */
export function requestBinding(request: Uint8Array | undefined): string {
  if (request === undefined) return STREAM_BINDING;
  return `sha256:${createHash('sha256').update(request).digest('hex')}`;
}

function callMac(secret: Buffer, ts: string, nonce: string, method: string): Buffer {
  return createHmac('sha256', secret)
    .update(`stdchk-token-${TOKEN_VERSION}/call\0${ts}\0${nonce}\0${method}`)
    .digest();
}

function requestMac(secret: Buffer, ts: string, nonce: string, method: string, binding: string): Buffer {
  return createHmac('sha256', secret)
    .update(`stdchk-token-${TOKEN_VERSION}/request\0${ts}\0${nonce}\0${method}\0${binding}`)
    .digest();
}

/**
 * A token for one call to `method`: for a request message, pass its
 * serialized bytes; for a client stream, pass undefined.
 */
export function makeToken(secret: Buffer, method: string, request?: Uint8Array, now = Date.now()): string {
  const ts = String(now);
  const nonce = randomBytes(NONCE_BYTES).toString('hex');
  const call = callMac(secret, ts, nonce, method).toString('hex');
  const req = requestMac(secret, ts, nonce, method, requestBinding(request)).toString('hex');
  return `${TOKEN_VERSION}.${ts}.${nonce}.${call}.${req}`;
}

/** A token whose form, time, call MAC and freshness were checked; `TokenVerifier.verify` finishes. */
export interface ParsedToken {
  ts: string;
  time: number;
  nonce: string;
  method: string;
  requestMac: Buffer;
}

const unauthenticated = (message: string) => new StdchkError('UNAUTHENTICATED', message);
const REPLAYED = 'replayed cluster credentials (this token was already used)';

/** A server's check of the tokens on its calls, with the nonces it has accepted. */
export class TokenVerifier {
  readonly startedAt: number;
  private readonly nonces: NonceCache;

  constructor(
    private readonly secret: Buffer,
    opts: { maxNonces?: number; now?: number } = {},
  ) {
    this.startedAt = opts.now ?? Date.now();
    this.nonces = new NonceCache(opts.maxNonces ?? DEFAULT_MAX_NONCES, this.startedAt);
  }

  /** Nonces remembered (for tests and logs). */
  get remembered(): number {
    return this.nonces.size;
  }

  /**
   * Checks what the metadata shows, before the request is read: a token is
   * there, well formed, within its time window, made with the secret for
   * this method, and not used before. Throws UNAUTHENTICATED otherwise.
   */
  parse(metadata: Metadata, method: string, now = Date.now()): ParsedToken {
    const value = metadata.get(AUTH_HEADER)[0];
    if (typeof value !== 'string' || value.length === 0) {
      throw unauthenticated('missing cluster credentials (is --secret-file set?)');
    }
    const parts = value.split('.');
    if (parts[0] === 'v1' && parts.length === 4) {
      throw unauthenticated(
        'cluster credentials of an older stdchk (token v1): run the same version on every node',
      );
    }
    if (parts.length !== 5 || parts[0] !== TOKEN_VERSION) {
      throw unauthenticated('malformed cluster credentials');
    }
    const [, ts, nonce, call, req] = parts as [string, string, string, string, string];
    const hex64 = /^[0-9a-f]{64}$/;
    if (!/^\d{1,15}$/.test(ts) || !/^[0-9a-f]{32}$/.test(nonce) || !hex64.test(call) || !hex64.test(req)) {
      throw unauthenticated('malformed cluster credentials');
    }
    const time = Number(ts);
    if (Math.abs(now - time) > MAX_SKEW_MS) {
      throw unauthenticated('expired cluster credentials (clock skew over 5 minutes?)');
    }
    if (time < this.startedAt - START_SLACK_MS) {
      throw unauthenticated(
        'cluster credentials minted before this server started (a replay, or a clock behind this server by over 10 s)',
      );
    }
    if (!timingSafeEqual(Buffer.from(call, 'hex'), callMac(this.secret, ts, nonce, method))) {
      throw unauthenticated('wrong cluster secret, or credentials made for another method');
    }
    if (this.nonces.has(Buffer.from(nonce, 'hex'), now)) throw unauthenticated(REPLAYED);
    return { ts, time, nonce, method, requestMac: Buffer.from(req, 'hex') };
  }

  /**
   * Checks the token's request MAC for this request (undefined: the call of
   * a client stream), then remembers its nonce. Throws UNAUTHENTICATED on a
   * mismatch or a replay (two calls racing with one token: the second),
   * UNAVAILABLE when too many tokens are remembered.
   */
  verify(token: ParsedToken, request: Uint8Array | undefined, now = Date.now()): void {
    const expected = requestMac(this.secret, token.ts, token.nonce, token.method, requestBinding(request));
    if (!timingSafeEqual(token.requestMac, expected)) {
      throw unauthenticated(
        request === undefined
          ? 'credentials made for a call with a request, not for a stream'
          : 'credentials made for another request',
      );
    }
    const result = this.nonces.add(Buffer.from(token.nonce, 'hex'), token.time + MAX_SKEW_MS, now);
    if (result === 'replay') throw unauthenticated(REPLAYED);
    if (result === 'full') {
      throw new StdchkError(
        'UNAVAILABLE',
        'too many calls within the 5-minute credentials window to remember them all; retry shortly',
      );
    }
  }
}

/**
 * Serialized request messages, kept from the moment the interceptor hashed
 * them until grpc-js serializes the same object again (synchronously, right
 * after): see reuseSerialized.
 */
const serialized = new WeakMap<object, Buffer>();

/** Wraps a client request serializer so a message the auth interceptor already serialized is not encoded twice. */
export function reuseSerialized<T>(serialize: (value: T) => Buffer): (value: T) => Buffer {
  return (value: T) => {
    if (typeof value === 'object' && value !== null) {
      const bytes = serialized.get(value);
      if (bytes) {
        serialized.delete(value);
        return bytes;
      }
    }
    return serialize(value);
  };
}

/**
 * Client interceptor adding a fresh token to every call. For calls with one
 * request message the metadata is held back until that message is sent, so
 * the token can cover it.
 */
export function authInterceptor(secret: Buffer): Interceptor {
  return (options, nextCall) => {
    const def = options.method_definition;
    if (def.requestStream) {
      return new InterceptingCall(nextCall(options), {
        start(metadata, listener, next) {
          metadata.set(AUTH_HEADER, makeToken(secret, def.path));
          next(metadata, listener);
        },
      });
    }
    let held:
      { metadata: Metadata; listener: Listener; next: (m: Metadata, l: Listener) => void } | undefined;
    return new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        held = { metadata, listener, next };
      },
      sendMessage(message, next) {
        const bytes = def.requestSerialize(message);
        if (typeof message === 'object' && message !== null) {
          // Taken by grpc-js in this same turn; dropped after it in any case, so a message object
          // reused later (changed, or on another client) is never sent with stale bytes.
          serialized.set(message as object, bytes);
          queueMicrotask(() => serialized.delete(message as object));
        }
        if (held) {
          const h = held;
          held = undefined;
          h.metadata.set(AUTH_HEADER, makeToken(secret, def.path, bytes));
          h.next(h.metadata, h.listener);
        }
        next(message);
      },
    });
  };
}
