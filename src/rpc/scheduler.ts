import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as SchedulerProto } from '../generated/scheduler.ts';
import type { SchedulerClient } from '../generated/stdchk/v1/Scheduler.ts';
import { authInterceptor } from './auth.ts';
import type { ConnectOptions } from './index.ts';

export type { SchedulerClient };

const PROTO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../proto');

/** Scheduler messages are small; logs travel in windows of at most 4 MiB. */
export const SCHEDULER_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

let loaded: SchedulerProto['stdchk']['v1'] | undefined;

/** The Scheduler service definition (loaded once, like the storage services in ./index.ts). */
export function schedulerProtos(): SchedulerProto['stdchk']['v1'] {
  if (!loaded) {
    const def = protoLoader.loadSync(['scheduler.proto'], {
      includeDirs: [PROTO_DIR],
      keepCase: false,
      longs: Number,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    loaded = (grpc.loadPackageDefinition(def) as unknown as SchedulerProto).stdchk.v1;
  }
  return loaded;
}

export function connectScheduler(address: string, opts: ConnectOptions = {}): SchedulerClient {
  return new (schedulerProtos().Scheduler)(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': SCHEDULER_MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': SCHEDULER_MAX_MESSAGE_BYTES,
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 1_000,
    interceptors: opts.secret ? [authInterceptor(opts.secret)] : [],
  });
}
