import * as grpc from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { StdchkError, errorMessage, invalid, toServiceError, wellFormed } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';

/**
 * What every stdchk server does before a handler sees a call, in one place:
 *
 *   1. authenticate the caller from its metadata, before a byte of its
 *      request is decoded (UNAUTHENTICATED, logged);
 *   2. turn a request that is not valid protobuf into INVALID_ARGUMENT.
 *      grpc-js answers a deserializer that throws with INTERNAL, which
 *      reads as a server bug; so request deserializers never throw here
 *      (see safeRequestDeserializers) and hand over a MalformedMessage
 *      instead, which this interceptor refuses.
 *
 * Messages above the server's size limit never reach it: grpc-js refuses
 * them from the 5-byte length prefix, before buffering (RESOURCE_EXHAUSTED).
 */

/** A request message that could not be decoded. */
export class MalformedMessage {
  constructor(readonly reason: string) {}
}

/**
 * A copy of the package definition whose request deserializers return a
 * MalformedMessage instead of throwing. Clients only use the serializers and
 * response deserializers, so they are unaffected.
 */
export function safeRequestDeserializers(def: PackageDefinition): PackageDefinition {
  const out: PackageDefinition = {};
  for (const [name, entry] of Object.entries(def)) {
    if ('format' in entry) {
      out[name] = entry; // a message or enum type
      continue;
    }
    const service: Record<string, unknown> = {};
    for (const [method, m] of Object.entries(entry)) {
      const decode = m.requestDeserialize;
      service[method] = {
        ...m,
        requestDeserialize: (buf: Buffer) => {
          try {
            return decode(buf);
          } catch (e) {
            return new MalformedMessage(errorMessage(e));
          }
        },
      };
    }
    out[name] = service as typeof entry;
  }
  return out;
}

export interface GuardOptions {
  logger: Logger;
  /** Throws UNAUTHENTICATED unless the metadata carries valid credentials for the method. */
  authenticate(call: { metadata: grpc.Metadata; getPeer(): string; getPath(): string }): void;
}

export function guardInterceptor(opts: GuardOptions): grpc.ServerInterceptor {
  return (method, call) => {
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
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, forward) => {
            try {
              opts.authenticate({ metadata, getPeer: () => call.getPeer(), getPath: () => method.path });
            } catch (e) {
              refuse(e);
              return;
            }
            forward(metadata);
          },
          onReceiveMessage: (message, forward) => {
            if (refused) return;
            if (message instanceof MalformedMessage) {
              opts.logger.warn(
                { peer: call.getPeer(), method: method.path, reason: message.reason },
                'refused a malformed request',
              );
              refuse(invalid(`malformed request to ${method.path}: ${message.reason}`));
              return;
            }
            forward(message);
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
