import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { StdchkError, errorMessage } from '../errors/index.ts';

/**
 * A plain HTTP listener for the daemons that serve no gRPC (the mount, the
 * worker): `GET /healthz` answers 200 `{"status":"ok",...}` while the daemon
 * serves, 503 `{"status":"starting"}` before it is ready and
 * `{"status":"stopping"}` once it stops. Other routes can
 * be added on the same listener (Prometheus /metrics, issue 16). Bind it to
 * loopback or a management network: it needs no credentials and tells only
 * whether the process serves.
 */

export type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

export interface HealthListener {
  /** The bound HOST:PORT. */
  address: string;
  /** Serves another path on this listener. */
  route(path: string, handler: Route): void;
  /** The daemon serves: /healthz answers 200 from now on. */
  ready(): void;
  /** The daemon is going away: /healthz answers 503 from now on. */
  stopping(): void;
  close(): Promise<void>;
}

export interface HealthInfo {
  /** Daemon role, reported in the body. */
  role: string;
  /** Extra fields for the body (an id, the mountpoint). */
  details?: () => Record<string, unknown>;
}

export async function startHealthListener(listen: string, info: HealthInfo): Promise<HealthListener> {
  const m = /^(.*):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || !(port >= 0 && port <= 65535))
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `--health-listen must be HOST:PORT, not ${JSON.stringify(listen)}`,
    );
  const host = m[1].replace(/^\[(.*)\]$/, '$1');
  const started = Date.now();
  let state: 'starting' | 'ok' | 'stopping' = 'starting';
  const routes = new Map<string, Route>();
  routes.set('/healthz', (req, res) => {
    const body = JSON.stringify({
      status: state,
      role: info.role,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      ...(info.details?.() ?? {}),
    });
    res.writeHead(state === 'ok' ? 200 : 503, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body + '\n');
  });
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = routes.get(path);
    if (!route || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(route ? 405 : 404, { 'content-type': 'text/plain' });
      res.end(route ? 'method not allowed\n' : 'not found\n');
      return;
    }
    Promise.resolve(route(req, res)).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`${errorMessage(e)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(
        new StdchkError('UNAVAILABLE', `cannot listen on ${listen} (--health-listen): ${errorMessage(e)}`),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return {
    address: `${host.includes(':') ? `[${host}]` : host}:${bound.port}`,
    route: (path, handler) => void routes.set(path, handler),
    ready: () => {
      if (state === 'starting') state = 'ok';
    },
    stopping: () => {
      state = 'stopping';
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
