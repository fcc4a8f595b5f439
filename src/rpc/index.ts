import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as ManagerProto } from '../generated/manager.ts';
import type { ProtoGrpcType as BenefactorProto } from '../generated/benefactor.ts';
import type { ProtoGrpcType as SchedulerProto } from '../generated/scheduler.ts';
import type { ManagerClient } from '../generated/stdchk/v1/Manager.ts';
import type { BenefactorClient } from '../generated/stdchk/v1/Benefactor.ts';
import type { SchedulerClient } from '../generated/stdchk/v1/Scheduler.ts';
import { StdchkError, cleanTlsReason, fromServiceError, toServiceError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import { TokenVerifier, authInterceptor } from './auth.ts';
import { guardInterceptor, guardedDefinition } from './server-guard.ts';
import { channelCredentials, serverCredentials } from './credentials.ts';
import type { ClusterCredentials, TlsMaterial } from './credentials.ts';
import { PACKAGE_ROOT } from '../config/package-root.ts';

export type { ManagerClient, BenefactorClient, SchedulerClient };

const PROTO_DIR = path.join(PACKAGE_ROOT, 'proto');

/** Largest gRPC message accepted (a commit of a ~10 GiB file's chunk list fits). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

type Services = (ManagerProto & BenefactorProto & SchedulerProto)['stdchk']['v1'];
let definition: protoLoader.PackageDefinition | undefined;
let loaded: Services | undefined;

/** The protos as proto-loader read them (message descriptors included), loaded once. */
export function protoDefinition(): protoLoader.PackageDefinition {
  definition ??= protoLoader.loadSync(['manager.proto', 'benefactor.proto', 'scheduler.proto'], {
    includeDirs: [PROTO_DIR],
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return definition;
}

/** Every stdchk service definition, loaded once (requests are decoded by the guard, after authentication: see server-guard.ts). */
export function protos(): Services {
  loaded ??= (
    grpc.loadPackageDefinition(guardedDefinition(protoDefinition())) as unknown as ManagerProto &
      BenefactorProto &
      SchedulerProto
  ).stdchk.v1;
  return loaded;
}

/**
 * HTTP/2 flow-control windows. Node's default is 64 KiB, which caps a gRPC
 * stream at ~270 MB/s on loopback (a WINDOW_UPDATE round trip per 64 KiB);
 * with these a stream of 1-4 MiB messages takes ~1 GB/s (measured here).
 * The stream window bounds what a paused call buffers.
 */
const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;

/** Called for a TLS connection a server refused (or that the client gave up on). */
type TlsRefusalHook = (err: Error & { code?: string }, socket: TLSSocket) => void;
/**
 * grpc-js builds the HTTP/2 secure server itself, passing our key-cert
 * buffers through by reference; the hook of the server a certificate
 * buffer was made for is found by that buffer's identity.
 */
const tlsRefusalHooks = new WeakMap<Buffer, TlsRefusalHook>();
/** Peer address of each incoming TCP connection, read before TLS starts (a refused socket no longer knows it). */
const peerAddresses = new WeakMap<object, string>();

function formatPeer(host: string | undefined, port: number | undefined): string | undefined {
  if (!host) return undefined;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The peer of a refused TLS socket, from the TCP connection under it. */
export function refusedPeer(socket: TLSSocket): string | null {
  const raw = (socket as TLSSocket & { _parent?: object | null })._parent;
  return (
    (raw ? peerAddresses.get(raw) : undefined) ??
    peerAddresses.get(socket) ??
    formatPeer(socket.remoteAddress, socket.remotePort) ??
    null
  );
}

let serverWindowsRaised = false;
/**
 * grpc-js servers ignore `grpc-node.flow_control_window` (grpc/grpc-node
 * PR #3058 is still open), so every HTTP/2 server this process creates
 * advertises the larger windows. Only grpc-js creates HTTP/2 servers here.
 * TLS servers also get a 'tlsClientError' listener (grpc-js only traces
 * failed handshakes), so refusals are logged.
 */
function raiseServerFlowControlWindows(): void {
  if (serverWindowsRaised) return;
  serverWindowsRaised = true;
  const widen = <F extends (...args: any[]) => http2.Http2Server | http2.Http2SecureServer>(create: F): F =>
    ((options: http2.SecureServerOptions = {}, ...rest: unknown[]) => {
      const server = create(
        { ...options, settings: { ...options.settings, initialWindowSize: STREAM_WINDOW_BYTES } },
        ...rest,
      );
      server.on('session', (session: http2.ServerHttp2Session) => {
        session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
      });
      const certs: unknown[] = Array.isArray(options.cert) ? options.cert : [options.cert];
      const hook = certs.map((c) => Buffer.isBuffer(c) && tlsRefusalHooks.get(c)).find((h) => !!h);
      if (hook) {
        server.prependListener('connection', (raw: Socket) => {
          const peer = formatPeer(raw.remoteAddress, raw.remotePort);
          if (peer) peerAddresses.set(raw, peer);
        });
        // Node reports every refused handshake here: a missing client certificate or a
        // client that is not speaking TLS (OpenSSL's error), and a certificate that does not
        // verify (Node closes the socket; the reason is in socket.authorizationError).
        server.on('tlsClientError', hook);
      }
      return server;
    }) as F;
  const mutable = http2 as {
    createServer: typeof http2.createServer;
    createSecureServer: typeof http2.createSecureServer;
  };
  mutable.createServer = widen(http2.createServer);
  mutable.createSecureServer = widen(http2.createSecureServer);
}

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc-node.flow_control_window': CONNECTION_WINDOW_BYTES,
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 2_000,
};

/** What a client presents: the secret's token on every call, and/or its TLS certificate. */
export type ConnectOptions = ClusterCredentials;

function clientOptions(opts: ConnectOptions, overrides: grpc.ChannelOptions = {}): grpc.ClientOptions {
  return {
    ...CHANNEL_OPTIONS,
    ...overrides,
    interceptors: opts.secret ? [authInterceptor(opts.secret)] : [],
  };
}

export function connectManager(address: string, opts: ConnectOptions = {}): ManagerClient {
  return new (protos().Manager)(address, channelCredentials(opts.tls), clientOptions(opts));
}

export function connectBenefactor(address: string, opts: ConnectOptions = {}): BenefactorClient {
  return new (protos().Benefactor)(address, channelCredentials(opts.tls), clientOptions(opts));
}

export function connectScheduler(address: string, opts: ConnectOptions = {}): SchedulerClient {
  // Workers reconnect quickly: a missed heartbeat window costs them their lease.
  return new (protos().Scheduler)(
    address,
    channelCredentials(opts.tls),
    clientOptions(opts, { 'grpc.max_reconnect_backoff_ms': 1_000 }),
  );
}

// Matches the last overload of a generated unary method: (argument, callback).
type UnaryMethods<C> = {
  [K in keyof C]: C[K] extends (req: infer Req, cb: grpc.requestCallback<infer Res>) => grpc.ClientUnaryCall
    ? K extends Uncapitalize<string & K>
      ? { req: Req; res: Res }
      : never
    : never;
};
type UnaryName<C> = { [K in keyof UnaryMethods<C>]: UnaryMethods<C>[K] extends never ? never : K }[keyof C];

/**
 * Promise form of a unary call. Errors come back as StdchkError (the code the
 * server threw is carried in trailers).
 */
export function unary<C extends grpc.Client, M extends UnaryName<C>>(
  client: C,
  method: M,
  request: UnaryMethods<C>[M] extends { req: infer R } ? R : never,
  options: { timeoutMs?: number } = {},
): Promise<UnaryMethods<C>[M] extends { res: infer R } ? R : never> {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + (options.timeoutMs ?? 30_000));
    const fn = (client as any)[method] as (...args: unknown[]) => unknown;
    fn.call(client, request, new grpc.Metadata(), { deadline }, (err: grpc.ServiceError | null, res: any) => {
      if (err) reject(fromServiceError(err));
      else resolve(res);
    });
  });
}

export interface ServerOptions {
  /** Every call must carry a valid token for this secret. */
  secret?: Buffer | undefined;
  /** Every connection must present a certificate signed by this CA (mutual TLS). */
  tls?: TlsMaterial | undefined;
  logger: Logger;
  /** Refuse messages above this size before buffering them. */
  maxReceiveBytes?: number;
  /** Most tokens remembered against replays (default auth.ts DEFAULT_MAX_NONCES); tests set it low. */
  maxNonces?: number;
  /** Told of every unary call handled: its path, status code and duration (src/metrics rpcMetrics). */
  observeRpc?: ((path: string, code: string, seconds: number) => void) | undefined;
}

/**
 * Wraps an async unary handler: error mapping, logging of unexpected
 * failures. The service keeps running whatever the handler throws. (The
 * caller was authenticated before: see createServer.)
 */
export function unaryHandler<Req, Res>(
  opts: ServerOptions,
  fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const started = performance.now();
    const observe = (code: string) =>
      opts.observeRpc?.(call.getPath(), code, (performance.now() - started) / 1000);
    let result: Promise<Res>;
    try {
      result = Promise.resolve(fn(call.request, call));
    } catch (e) {
      result = Promise.reject(e);
    }
    result.then(
      (res) => {
        observe('OK');
        callback(null, res);
      },
      (e: unknown) => {
        observe(e instanceof StdchkError ? e.code : 'INTERNAL');
        if (!(e instanceof StdchkError) || e.code === 'INTERNAL') {
          opts.logger.error({ err: e, method: call.getPath() }, 'request failed');
        }
        callback(toServiceError(e) as grpc.ServiceError);
      },
    );
  };
}

const serverOptions = new WeakMap<grpc.Server, ServerOptions>();

/**
 * A gRPC server whose every call is authenticated (the secret's token, when
 * a secret is set, each accepted once and only for its request: auth.ts;
 * the TLS handshake, when `tls` is set: see bind) and whose undecodable
 * requests are refused with INVALID_ARGUMENT before any handler runs.
 */
export function createServer(opts: ServerOptions): grpc.Server {
  raiseServerFlowControlWindows();
  const server = new grpc.Server({
    interceptors: [
      guardInterceptor({
        logger: opts.logger,
        tokens: opts.secret
          ? new TokenVerifier(opts.secret, opts.maxNonces !== undefined ? { maxNonces: opts.maxNonces } : {})
          : undefined,
      }),
    ],
    'grpc.max_receive_message_length': opts.maxReceiveBytes ?? MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  } as grpc.ServerOptions);
  serverOptions.set(server, opts);
  return server;
}

/** Refused handshakes logged per window; a flood of them is summarised, not logged line by line. */
const REFUSALS_LOGGED_PER_WINDOW = 20;
const REFUSAL_WINDOW_MS = 10_000;

function tlsRefusalLogger(logger: Logger, where: { listen: string }): TlsRefusalHook {
  let windowStart = 0;
  let logged = 0;
  let suppressed = 0;
  return (err, socket) => {
    const now = Date.now();
    if (now - windowStart > REFUSAL_WINDOW_MS) {
      if (suppressed > 0) {
        logger.warn(
          { listen: where.listen, suppressed },
          `refused ${suppressed} more TLS connections (not logged one by one)`,
        );
      }
      windowStart = now;
      logged = 0;
      suppressed = 0;
    }
    if (logged >= REFUSALS_LOGGED_PER_WINDOW) {
      suppressed++;
      return;
    }
    logged++;
    const authorizationError = (socket as TLSSocket & { authorizationError?: Error | string })
      .authorizationError;
    const reason = authorizationError
      ? `client certificate refused: ${String(authorizationError)}`
      : err.code === 'ECONNRESET'
        ? 'the client closed the connection during the TLS handshake (it may have refused our certificate)'
        : cleanTlsReason(err.message);
    logger.warn(
      { peer: refusedPeer(socket), listen: where.listen, reason, code: err.code ?? null },
      'refused TLS connection',
    );
  };
}

/**
 * Binds HOST:PORT (PORT 0 picks a free one) and resolves with the bound
 * address; on failure the server is shut down. A server created with `tls`
 * serves mutual TLS only.
 */
export function bind(server: grpc.Server, listen: string): Promise<string> {
  const opts = serverOptions.get(server);
  const { credentials, certBuffer } = serverCredentials(opts?.tls);
  const where = { listen };
  if (certBuffer && opts) tlsRefusalHooks.set(certBuffer, tlsRefusalLogger(opts.logger, where));
  return new Promise((resolve, reject) => {
    server.bindAsync(listen, credentials, (err, port) => {
      if (err) {
        // Nothing was bound: release the server so the caller only cleans up its own state.
        server.forceShutdown();
        reject(new StdchkError('UNAVAILABLE', `cannot listen on ${listen}: ${err.message}`));
        return;
      }
      const host = listen.slice(0, listen.lastIndexOf(':'));
      where.listen = `${host}:${port}`;
      resolve(where.listen);
    });
  });
}

export function shutdown(server: grpc.Server, graceMs = 2_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
