import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { StdchkError, errorMessage } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import type { TlsMaterial } from '../rpc/credentials.ts';
import { isLoopbackHost } from '../cli/common.ts';

/**
 * The small HTTP listener every daemon can have: `/metrics` (Prometheus),
 * `/healthz`, and the dashboard's page and JSON. Read-only: GET and HEAD.
 *
 * Who may connect (docs/security.md, "HTTP listeners"): on loopback, plain
 * HTTP, like the gRPC ports of `stdchk up`; beyond loopback only HTTPS with
 * the node's certificate, and every client must present a certificate the
 * cluster CA signed (mutual TLS: the cluster's credentials). Without TLS
 * material such a listener does not start.
 */

export interface HttpReply {
  status?: number;
  type: string;
  body: string | Buffer;
  headers?: Record<string, string>;
}

export type HttpRoute = (url: URL) => Promise<HttpReply> | HttpReply;

export interface HttpListenerOptions {
  /** HOST:PORT; port 0 picks a free one. */
  listen: string;
  /** Path -> handler. */
  routes: Record<string, HttpRoute>;
  /** Required beyond loopback (mutual TLS). */
  tls?: TlsMaterial | undefined;
  logger: Logger;
  /** The flag named in errors, e.g. "--metrics-listen". */
  flag: string;
}

export interface HttpListener {
  /** The bound HOST:PORT. */
  address: string;
  /** http or https. */
  scheme: 'http' | 'https';
  stop(): Promise<void>;
}

/** HOST:PORT split; throws one clear line for anything else. */
export function parseListen(listen: string, flag: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535)
    throw new StdchkError('INVALID_ARGUMENT', `${flag} must be HOST:PORT, not ${JSON.stringify(listen)}`);
  return { host: (m[1] as string).replace(/^\[(.*)\]$/, '$1'), port };
}

/**
 * Refuses (one line) an HTTP listener beyond loopback without the cluster's
 * TLS material. Call before starting anything.
 */
export function checkHttpListen(listen: string, tls: TlsMaterial | undefined, flag: string): void {
  const { host } = parseListen(listen, flag);
  if (isLoopbackHost(host) || tls) return;
  throw new StdchkError(
    'INVALID_ARGUMENT',
    `${flag} ${listen} is beyond loopback: it needs the cluster's TLS (--tls-ca, --tls-cert, --tls-key; clients then present a certificate the cluster CA signed), or listen on 127.0.0.1`,
  );
}

export async function startHttpListener(opts: HttpListenerOptions): Promise<HttpListener> {
  checkHttpListen(opts.listen, opts.tls, opts.flag);
  const { host, port } = parseListen(opts.listen, opts.flag);
  const secure = !isLoopbackHost(host);
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    void serve(req, res, opts);
  };
  const server: http.Server = secure
    ? https.createServer(
        {
          key: opts.tls?.key,
          cert: opts.tls?.cert,
          ca: opts.tls?.ca,
          requestCert: true,
          rejectUnauthorized: true,
          minVersion: 'TLSv1.2',
        },
        handler,
      )
    : http.createServer(handler);
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error) => {
      reject(new StdchkError('UNAVAILABLE', `${opts.flag}: cannot listen on ${opts.listen}: ${e.message}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (e) => opts.logger.error({ err: e }, `${opts.flag} listener failed`));
  const bound = (server.address() as AddressInfo).port;
  const address = host.includes(':') ? `[${host}]:${bound}` : `${host}:${bound}`;
  let stopping: Promise<void> | undefined;
  return {
    address,
    scheme: secure ? 'https' : 'http',
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

async function serve(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  opts: HttpListenerOptions,
): Promise<void> {
  const send = (r: HttpReply) => {
    if (res.headersSent) return;
    res.writeHead(r.status ?? 200, {
      'content-type': r.type,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...r.headers,
    });
    res.end(req.method === 'HEAD' ? undefined : r.body);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send({
      status: 405,
      type: 'text/plain',
      body: 'read-only: GET and HEAD only\n',
      headers: { allow: 'GET, HEAD' },
    });
    return;
  }
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    send({ status: 400, type: 'text/plain', body: 'bad request\n' });
    return;
  }
  const route = opts.routes[url.pathname];
  if (!route) {
    send({
      status: 404,
      type: 'text/plain',
      body: `no ${url.pathname} here; try ${Object.keys(opts.routes).join(', ')}\n`,
    });
    return;
  }
  try {
    send(await route(url));
  } catch (e) {
    opts.logger.warn({ err: e, path: url.pathname }, `${opts.flag}: ${url.pathname} failed`);
    send({ status: 500, type: 'text/plain', body: `${errorMessage(e)}\n` });
  }
}
