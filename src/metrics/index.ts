import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../errors/index.ts';
import { PACKAGE_ROOT } from '../config/package-root.ts';
import type { HttpRoute } from './http.ts';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of one daemon (prom-client): one Registry per daemon,
 * families named `stdchk_<role>_...` in base units (`_seconds`, `_bytes`,
 * counters ending `_total`). The README ("Metrics") lists every family.
 */

/** Latency of quick operations: RPCs, FUSE operations, fsyncs (0.1 ms to 30 s). */
export const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
/** Durations of checkpoints, restores and failovers (10 ms to 30 min). */
export const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800];
/** Sizes of checkpoints (4 KiB to 64 GiB, by 4x). */
export const SIZE_BUCKETS = exponentialBuckets(4096, 4, 13);
/** Sizes of single writes (512 B to 1 MiB, by 2x: FUSE writes are at most 128 KiB here). */
export const WRITE_SIZE_BUCKETS = exponentialBuckets(512, 2, 12);

export type Role = 'manager' | 'benefactor' | 'mount' | 'scheduler' | 'worker';

/** A daemon's registry: process and Node.js default metrics, and `stdchk_build_info{role,version}`. */
export function daemonRegistry(role: Role, version = packageVersion()): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const info = new Gauge({
    name: 'stdchk_build_info',
    help: 'Always 1; the labels say which daemon and version this is',
    labelNames: ['role', 'version'],
    registers: [registry],
  });
  info.set({ role, version }, 1);
  return registry;
}

/** The version in stdchk's package.json. */
function packageVersion(): string {
  try {
    const v = (
      JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: unknown }
    ).version;
    return typeof v === 'string' ? v : 'unknown';
  } catch {
    return 'unknown';
  }
}

type Labels = Record<string, string>;
type Reading = number | [Labels, number][];

function apply(
  metric: { set(l: Labels, v: number): void; set(v: number): void; reset(): void },
  r: Reading,
): void {
  if (typeof r === 'number') {
    metric.set(r);
    return;
  }
  metric.reset();
  for (const [labels, value] of r) metric.set(labels, value);
}

/** A gauge read at scrape time. */
export function gaugeFrom(
  registry: Registry,
  name: string,
  help: string,
  read: () => Reading,
  labelNames: string[] = [],
): Gauge {
  return new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      apply(this, read());
    },
  });
}

/**
 * A counter whose value some component already keeps (a running total that
 * only grows), read at scrape time.
 */
export function counterFrom(
  registry: Registry,
  name: string,
  help: string,
  read: () => Reading,
  labelNames: string[] = [],
): Counter {
  return new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      const r = read();
      this.reset();
      if (typeof r === 'number') this.inc(Math.max(0, r));
      else for (const [labels, value] of r) this.inc(labels, Math.max(0, value));
    },
  });
}

/** Seconds since `start` (a performance.now() reading). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

/** What a gRPC server reports per call (src/rpc unaryHandler). */
export type RpcObserver = (path: string, code: string, seconds: number) => void;

/** `stdchk_rpc_server_seconds{method,code}`: every unary call a daemon served. */
export function rpcMetrics(registry: Registry): RpcObserver {
  const histogram = new Histogram({
    name: 'stdchk_rpc_server_seconds',
    help: 'Time to handle a gRPC call, by method (Service/Method) and status code',
    labelNames: ['method', 'code'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  return (path, code, seconds) => {
    // "/stdchk.v1.Manager/Stat" -> "Manager/Stat"
    const method = path.replace(/^\/stdchk\.v1\./, '');
    histogram.observe({ method, code }, seconds);
  };
}

/** The routes of a --metrics-listen listener: /metrics, and /healthz when the daemon says how it is. */
export function metricsRoutes(
  registry: Registry,
  health?: () => HealthReport | Promise<HealthReport>,
): Record<string, HttpRoute> {
  const routes: Record<string, HttpRoute> = {
    '/metrics': async () => ({ type: registry.contentType, body: await registry.metrics() }),
  };
  if (health) {
    routes['/healthz'] = async () => {
      let report: HealthReport;
      try {
        report = await health();
      } catch (e) {
        report = { ok: false, detail: errorMessage(e) };
      }
      return {
        status: report.ok ? 200 : 503,
        type: 'application/json',
        body: JSON.stringify(report) + '\n',
      };
    };
  }
  return routes;
}

export interface HealthReport {
  ok: boolean;
  detail: string;
  [key: string]: unknown;
}
