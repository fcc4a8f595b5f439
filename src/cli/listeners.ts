import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Registry } from 'prom-client';
import type { Logger } from '../logging/index.ts';
import type { TlsMaterial } from '../rpc/credentials.ts';
import { checkHttpListen, startHttpListener } from '../metrics/http.ts';
import type { HttpListener, HttpRoute } from '../metrics/http.ts';
import { metricsRoutes } from '../metrics/index.ts';
import type { HealthReport } from '../metrics/index.ts';
import type { Stoppable } from './daemon.ts';
import { dashboardRoutes } from '../dashboard/index.ts';
import type { SnapshotSources } from '../dashboard/index.ts';

/**
 * The HTTP listeners of the daemons: --metrics-listen (Prometheus /metrics,
 * and /healthz on the mount and the worker) and --http-listen (the
 * dashboard). Loopback only unless the daemon has the cluster's TLS
 * (src/metrics/http.ts).
 */

export interface MetricsFlags {
  metricsListen?: string;
  metricsAddressFile?: string;
}

export interface HttpFlags {
  httpListen?: string;
  httpAddressFile?: string;
}

export function addMetricsOptions(cmd: Command, what = '/metrics'): Command {
  return cmd
    .option(
      '--metrics-listen <host:port>',
      `serve Prometheus metrics (${what}) on HOST:PORT over HTTP; beyond loopback only with --tls-* (port 0 picks a free one)`,
    )
    .option('--metrics-address-file <file>', 'write the bound metrics HOST:PORT to this file once serving');
}

export function addHttpOptions(cmd: Command): Command {
  return cmd
    .option(
      '--http-listen <host:port>',
      'serve the read-only web dashboard on HOST:PORT; beyond loopback only with --tls-* (port 0 picks a free one)',
    )
    .option('--http-address-file <file>', 'write the bound dashboard HOST:PORT to this file once serving');
}

/** Validates the listen flags before the daemon starts (one clear line on a bad one). */
export function checkListenerFlags(
  flags: { metricsListen?: string | undefined; httpListen?: string | undefined },
  tls: TlsMaterial | undefined,
): void {
  if (flags.metricsListen !== undefined) checkHttpListen(flags.metricsListen, tls, '--metrics-listen');
  if (flags.httpListen !== undefined) checkHttpListen(flags.httpListen, tls, '--http-listen');
}

export interface ListenerSpec {
  listen: string | undefined;
  addressFile: string | undefined;
  flag: string;
  routes: () => Record<string, HttpRoute>;
  /** Logged with the address. */
  what: string;
}

export function metricsListener(
  flags: MetricsFlags,
  registry: Registry | undefined,
  health?: () => HealthReport | Promise<HealthReport>,
): ListenerSpec {
  return {
    listen: flags.metricsListen,
    addressFile: flags.metricsAddressFile,
    flag: '--metrics-listen',
    routes: () => metricsRoutes(registry as Registry, health),
    what: 'metrics',
  };
}

export function dashboardListener(flags: HttpFlags, sources: () => SnapshotSources): ListenerSpec {
  return {
    listen: flags.httpListen,
    addressFile: flags.httpAddressFile,
    flag: '--http-listen',
    routes: () => dashboardRoutes(sources()),
    what: 'dashboard',
  };
}

/**
 * Starts the listeners that were asked for, once the daemon runs; the result
 * stops them with the daemon. If one cannot bind, the daemon is stopped and
 * the error (one line) is thrown.
 */
export async function withListeners(
  daemon: Stoppable,
  specs: ListenerSpec[],
  tls: TlsMaterial | undefined,
  logger: Logger,
): Promise<Stoppable> {
  const started: HttpListener[] = [];
  try {
    for (const s of specs) {
      if (s.listen === undefined) continue;
      const l = await startHttpListener({ listen: s.listen, routes: s.routes(), tls, logger, flag: s.flag });
      started.push(l);
      logger.info({ address: l.address, url: `${l.scheme}://${l.address}/` }, `${s.what} serving`);
      if (s.addressFile) writeFileSync(s.addressFile, l.address + '\n');
    }
  } catch (e) {
    await Promise.all(started.map((l) => l.stop()));
    await daemon.stop();
    throw e;
  }
  return {
    async stop() {
      await Promise.all(started.map((l) => l.stop()));
      await daemon.stop();
    },
  };
}
