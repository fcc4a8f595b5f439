import * as grpc from '@grpc/grpc-js';
import { HEALTH_PATH_PREFIX } from './health.ts';
import type { PackageDefinition } from '@grpc/proto-loader';
import { StdchkError, errorMessage, invalid, toServiceError, wellFormed } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import { reuseSerialized } from './auth.ts';
import type { ParsedToken, TokenVerifier } from './auth.ts';

/**
 * What every stdchk server does before a handler sees a call, in one place:
 *
 *   1. authenticate the caller before its request is read (UNAUTHENTICATED,
 *      logged): the token's form, time, call MAC and freshness from the
 *      metadata (auth.ts); its request MAC at once for a client stream, or,
 *      for a call with one request message, against that message's bytes
 *      when they arrive, before they are decoded;
 *   2. turn a request that is not valid protobuf into INVALID_ARGUMENT.
 *      grpc-js answers a deserializer that throws with INTERNAL, which
 *      reads as a server bug; so request deserializers here do not decode
 *      at all (see guardedDefinition): they hand over the bytes, and this
 *      interceptor decodes them once the caller is authenticated.
 *
 * Messages above the server's size limit never reach it: grpc-js refuses
 * them from the 5-byte length prefix, before buffering (RESOURCE_EXHAUSTED).
 */

/** A request message as received: its bytes, decoded by the guard once the call is authenticated. */
export class EncodedRequest {
  constructor(
    readonly bytes: Buffer,
    private readonly decoder: (buf: Buffer) => unknown,
  ) {}

  decode(): unknown {
    try {
      return this.decoder(this.bytes);
    } catch (e) {
      return new MalformedMessage(errorMessage(e));
    }
  }
}

/** A request message that could not be decoded. */
export class MalformedMessage {
  constructor(readonly reason: string) {}
}

/**
 * A copy of the package definition for this process's servers and clients:
 * request deserializers return an EncodedRequest (the guard authenticates,
 * then decodes), and request serializers reuse bytes the auth interceptor
 * already produced. Response (de)serializers are unchanged.
 */
export function guardedDefinition(def: PackageDefinition): PackageDefinition {
  const out: PackageDefinition = {};
  for (const [name, entry] of Object.entries(def)) {
    if ('format' in entry) {
      out[name] = entry; // a message or enum type
      continue;
    }
    const service: Record<string, unknown> = {};
    for (const [method, m] of Object.entries(entry)) {
      const decode = m.requestDeserialize as (buf: Buffer) => unknown;
      service[method] = {
        ...m,
        requestSerialize: reuseSerialized(m.requestSerialize),
        requestDeserialize: (buf: Buffer) => new EncodedRequest(buf, decode),
      };
    }
    out[name] = service as typeof entry;
  }
  return out;
}

export interface GuardOptions {
  logger: Logger;
  /** Set when every call must carry a valid token of the cluster secret. */
  tokens?: TokenVerifier | undefined;
}

export function guardInterceptor(opts: GuardOptions): grpc.ServerInterceptor {
  return (method, call) => {
    // The standard health service answers probes without credentials (health.ts).
    if (method.path.startsWith(HEALTH_PATH_PREFIX)) return new grpc.ServerInterceptingCall(call);
    let refused = false;
    const refuse = (e: unknown) => {
      refused = true;
      const err = e instanceof StdchkError ? e : new StdchkError('INTERNAL', errorMessage(e), { cause: e });
      const { code, details, metadata } = toServiceError(err);
      call.sendStatus({
        code: code ?? grpc.status.INTERNAL,
        details: details ?? '',
        metadata: metadata ?? null,
      });
    };
    const refuseCaller = (e: unknown) => {
      opts.logger.warn(
        { peer: call.getPeer(), method: method.path, reason: errorMessage(e) },
        'refused call',
      );
      refuse(e);
    };
    const tokens = opts.tokens;
    /** A token that still has to be checked against the request message. */
    let pending: ParsedToken | undefined;
    /** No message is decoded before the caller is authenticated. */
    let authenticated = !tokens;
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, forward) => {
            if (tokens) {
              try {
                const token = tokens.parse(metadata, method.path);
                if (method.requestStream) {
                  tokens.verify(token, undefined);
                  authenticated = true;
                } else {
                  pending = token;
                }
              } catch (e) {
                refuseCaller(e);
                return;
              }
            }
            forward(metadata);
          },
          onReceiveMessage: (message, forward) => {
            if (refused) return;
            const encoded = message as EncodedRequest;
            if (!authenticated) {
              try {
                if (!tokens || !pending)
                  throw new StdchkError('UNAUTHENTICATED', 'missing cluster credentials');
                const token = pending;
                pending = undefined;
                tokens.verify(token, encoded.bytes);
                authenticated = true;
              } catch (e) {
                refuseCaller(e);
                return;
              }
            }
            const decoded = encoded instanceof EncodedRequest ? encoded.decode() : encoded;
            if (decoded instanceof MalformedMessage) {
              opts.logger.warn(
                { peer: call.getPeer(), method: method.path, reason: decoded.reason },
                'refused a malformed request',
              );
              refuse(invalid(`malformed request to ${method.path}: ${decoded.reason}`));
              return;
            }
            forward(decoded);
          },
          onReceiveHalfClose: (forward) => {
            if (!refused) forward();
          },
        }),
      // Once refused, the handler's late replies go nowhere: a reply written
      // after the refusal ended the stream would break it before the status
      // reaches the caller (seen: a StoreChunks ack racing a refused message).
      sendMessage: (message, forward) => {
        if (!refused) forward(message);
      },
      // Every status leaves with a well-formed message, whichever handler made it: grpc-js
      // encodes it with encodeURI, which throws (and ends the process) on a lone surrogate.
      sendStatus: (status, forward) => {
        if (!refused) forward({ ...status, details: wellFormed(status.details) });
      },
    });
  };
}
