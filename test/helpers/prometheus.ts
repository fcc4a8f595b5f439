import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { openSync, closeSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { waitFor } from './grid.ts';

/** The Prometheus server binary (Debian package `prometheus`), or undefined when it is not installed. */
export function prometheusBinary(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' });
  const bin = r.stdout.trim();
  return r.status === 0 && bin ? bin : undefined;
}

/** A free loopback port (bound then released: the server that takes it next is ours). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export interface Target {
  /** HOST:PORT of a daemon's --metrics-listen. */
  address: string;
  /** Label `daemon` on every series scraped from it, e.g. "benefactor-1". */
  daemon: string;
  role: string;
}

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

/** A real Prometheus server in a temp folder, scraping the given targets every second. */
export class PrometheusServer {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
  ) {}

  static async start(bin: string, dir: string, targets: Target[]): Promise<PrometheusServer> {
    const config = [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 900ms',
      'scrape_configs:',
      '  - job_name: stdchk',
      '    static_configs:',
      ...targets.flatMap((t) => [
        `      - targets: ['${t.address}']`,
        `        labels: { daemon: '${t.daemon}', role: '${t.role}' }`,
      ]),
    ].join('\n');
    const configFile = path.join(dir, 'prometheus.yml');
    writeFileSync(configFile, config + '\n');
    const port = await freePort();
    const log = openSync(path.join(dir, 'prometheus.log'), 'a');
    const child = spawn(
      bin,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-lifecycle',
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    const server = new PrometheusServer(`http://127.0.0.1:${port}`, child);
    await waitFor(
      `Prometheus ready (see ${dir}/prometheus.log)`,
      async () => child.exitCode === null && (await fetch(`${server.url}/-/ready`)).ok,
      30_000,
    );
    return server;
  }

  /** An instant query through the HTTP API: one sample per series. */
  async query(promql: string): Promise<PromSample[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error}`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** The value of a query that gives one series, or undefined when it gives none. */
  async value(promql: string): Promise<number | undefined> {
    const r = await this.query(promql);
    if (r.length > 1) throw new Error(`${promql} gave ${r.length} series`);
    return r[0]?.value;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }
}
