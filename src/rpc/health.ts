import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from '../generated/health.ts';
import type { HealthClient } from '../generated/grpc/health/v1/Health.ts';
import type { HealthCheckRequest__Output } from '../generated/grpc/health/v1/HealthCheckRequest.ts';
import type { HealthCheckResponse } from '../generated/grpc/health/v1/HealthCheckResponse.ts';
import { PACKAGE_ROOT } from '../config/package-root.ts';

/**
 * The standard gRPC health service (grpc.health.v1, proto/health.proto) on
 * every server createServer() makes: "" (the server as a whole) and the name
 * of every service added ("stdchk.v1.Manager", ...) are SERVING once bind()
 * has bound the port and NOT_SERVING from shutdown() on. It needs no
 * credentials (server-guard.ts lets it through): it tells only whether the
 * process serves. Probes: grpc_health_probe, Kubernetes' grpc probe, or
 * `stdchk health HOST:PORT`.
 */

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

export const HEALTH_PATH_PREFIX = '/grpc.health.v1.Health/';

let loaded: ProtoGrpcType['grpc']['health']['v1'] | undefined;

function healthProto(): ProtoGrpcType['grpc']['health']['v1'] {
  loaded ??= (
    grpc.loadPackageDefinition(
      protoLoader.loadSync('health.proto', {
        includeDirs: [path.join(PACKAGE_ROOT, 'proto')],
        keepCase: false,
        enums: String,
        defaults: true,
      }),
    ) as unknown as ProtoGrpcType
  ).grpc.health.v1;
  return loaded;
}

export class HealthStatus {
  private status: ServingStatus = 'NOT_SERVING';
  private readonly services = new Set<string>(['']);
  private readonly watchers = new Set<(s: ServingStatus) => void>();

  addService(name: string): void {
    this.services.add(name);
  }

  get current(): ServingStatus {
    return this.status;
  }

  set(status: ServingStatus): void {
    if (status === this.status) return;
    this.status = status;
    for (const w of this.watchers) w(status);
  }

  knows(service: string): boolean {
    return this.services.has(service);
  }

  watch(fn: (s: ServingStatus) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }
}

const healthOf = new WeakMap<grpc.Server, HealthStatus>();

/** Adds the health service to a new server; services added later are named in it. */
export function addHealthService(server: grpc.Server): HealthStatus {
  const health = new HealthStatus();
  healthOf.set(server, health);
  const addService = server.addService.bind(server);
  server.addService = (service, implementation) => {
    const first = Object.values(service)[0] as { path?: string } | undefined;
    const name = first?.path?.split('/')[1];
    if (name) health.addService(name);
    addService(service, implementation);
  };
  addService(healthProto().Health.service, {
    Check: (
      call: grpc.ServerUnaryCall<HealthCheckRequest__Output, HealthCheckResponse>,
      callback: grpc.sendUnaryData<HealthCheckResponse>,
    ) => {
      const service = call.request.service ?? '';
      if (!health.knows(service)) {
        callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${JSON.stringify(service)}` });
        return;
      }
      callback(null, { status: health.current });
    },
    Watch: (call: grpc.ServerWritableStream<HealthCheckRequest__Output, HealthCheckResponse>) => {
      const service = call.request.service ?? '';
      if (!health.knows(service)) {
        call.write({ status: 'SERVICE_UNKNOWN' });
        return;
      }
      call.write({ status: health.current });
      const stop = health.watch((status) => call.write({ status }));
      call.on('cancelled', stop);
      call.on('close', stop);
    },
  });
  return health;
}

/** The health of a server made by createServer(). */
export function serverHealth(server: grpc.Server): HealthStatus | undefined {
  return healthOf.get(server);
}

/** A client of a server's health service (the same credentials as any call, none needed). */
export function connectHealth(
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): HealthClient {
  return new (healthProto().Health)(address, credentials);
}
