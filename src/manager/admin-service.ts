import type * as grpc from '@grpc/grpc-js';
import { toServiceError, StdchkError } from '../errors/index.ts';
import { normalizePath } from '../config/paths.ts';
import { isPeerConnected, protos, unaryHandler } from '../rpc/index.ts';
import * as v from '../validation/index.ts';
import { MAX_BATCH_REFS } from '../validation/index.ts';
import type { ServerOptions } from '../rpc/index.ts';
import type { AdminHandlers } from '../generated/stdchk/v1/Admin.ts';
import type { Empty__Output } from '../generated/stdchk/v1/Empty.ts';
import type { LocationsRequest__Output } from '../generated/stdchk/v1/LocationsRequest.ts';
import type { LocationsPart } from '../generated/stdchk/v1/LocationsPart.ts';
import type { DumpPart } from '../generated/stdchk/v1/DumpPart.ts';
import { toFileInfo } from './service.ts';
import type { MetadataStore } from './metadata-store.ts';

/** gRPC handlers of the Admin service (proto/manager.proto): validate, call admin.ts, translate. */
export function adminHandlers(store: MetadataStore, opts: ServerOptions): AdminHandlers {
  const handle = <Req, Res>(fn: (req: Req) => Promise<Res> | Res) => unaryHandler<Req, Res>(opts, fn);
  const admin = store.admin();
  return {
    FileChunks: handle(async (req) => {
      const r = await admin.fileChunks(normalizePath(req.path));
      return { info: toFileInfo(r.info), versions: r.versions };
    }),

    CheckIndex: handle(async () => admin.checkIndex()),

    ListLocations: streamHandler<LocationsRequest__Output, LocationsPart>(opts, (req) => {
      const id = v.id(req.benefactorId, 'benefactor id');
      return (async function* () {
        for (const hashes of admin.locations(id)) yield { hashes };
      })();
    }),

    DropLocations: handle(async (req) => {
      const id = v.id(req.benefactorId, 'benefactor id');
      v.packedHashes(req.hashes, 'hashes', MAX_BATCH_REFS);
      return { dropped: await admin.dropLocations(id, req.hashes) };
    }),

    DumpMetadata: streamHandler<Empty__Output, DumpPart>(opts, () => admin.dump()),

    CollectGarbage: handle(async (req) => admin.collectNow(req.dryRun === true, isPeerConnected)),

    DrainBenefactor: handle(async (req) => {
      const b = await admin.startDrain(v.id(req.benefactorId, 'benefactor id'));
      const status = store.status().benefactors.find((s) => s.id === b.id);
      if (!status) throw new StdchkError('INTERNAL', `benefactor ${b.id} is not in the status`);
      return status;
    }),
  };
}

/** A server stream fed by an async iterable, writing only as fast as the client reads. */
function streamHandler<Req, Res>(
  opts: ServerOptions,
  source: (req: Req) => AsyncIterable<Res>,
): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    let cancelled = false;
    call.on('cancelled', () => (cancelled = true));
    void (async () => {
      try {
        for await (const part of source(call.request)) {
          if (cancelled) return;
          if (!call.write(part)) await new Promise((resolve) => call.once('drain', resolve));
        }
        call.end();
      } catch (e) {
        if (!(e instanceof StdchkError) || e.code === 'INTERNAL')
          opts.logger.error({ err: e, method: call.getPath() }, 'request failed');
        if (!cancelled) call.emit('error', toServiceError(e));
      }
    })();
  };
}

/** Adds the Admin service to the manager's gRPC server. */
export function addAdminService(server: grpc.Server, store: MetadataStore, opts: ServerOptions): void {
  server.addService(protos().Admin.service, adminHandlers(store, opts));
}
