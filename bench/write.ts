import { openSync, writeSync, fsyncSync, closeSync, rmSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalGrid } from '../src/grid/local-grid.ts';
import { StorageClient } from '../src/client/storage-client.ts';
import type { TlsMaterial } from '../src/rpc/credentials.ts';
import { FreshData } from './lib/data.ts';
import { MiB, mbps, newReport, progressBar } from './lib/report.ts';
import type { BenchReport } from './lib/report.ts';

export interface WriteBenchOptions {
  sizeBytes: number;
  replicas: number[];
  blockBytes: number;
  /** Use an existing cluster instead of starting a local grid. */
  manager?: { address: string; secret: Buffer | undefined; tls?: TlsMaterial | undefined };
  dir?: string;
}

/** Local-disk baseline: the same writer, the same data, one fsync at the end (as close() durability). */
function writeLocal(file: string, opts: WriteBenchOptions): number {
  const data = new FreshData();
  const fd = openSync(file, 'w');
  const bar = progressBar('local disk', opts.sizeBytes);
  const t0 = performance.now();
  for (let done = 0; done < opts.sizeBytes; done += opts.blockBytes) {
    writeSync(fd, data.next(Math.min(opts.blockBytes, opts.sizeBytes - done)));
    bar.update(done);
  }
  fsyncSync(fd);
  closeSync(fd);
  bar.stop();
  return (performance.now() - t0) / 1000;
}

async function writeStdchk(client: StorageClient, remote: string, replicas: number, opts: WriteBenchOptions) {
  const data = new FreshData();
  const bar = progressBar(`stdchk r=${replicas}`, opts.sizeBytes);
  const t0 = performance.now();
  const w = await client.openWriter(remote, { replicas });
  for (let done = 0; done < opts.sizeBytes; done += opts.blockBytes) {
    await w.write(data.next(Math.min(opts.blockBytes, opts.sizeBytes - done)));
    bar.update(done);
  }
  const { stats } = await w.close();
  bar.stop();
  return { seconds: (performance.now() - t0) / 1000, stats };
}

export async function runWriteBench(opts: WriteBenchOptions): Promise<BenchReport> {
  const report = newReport('write', {
    sizeBytes: opts.sizeBytes,
    replicas: opts.replicas,
    blockBytes: opts.blockBytes,
    cluster: opts.manager ? opts.manager.address : 'local grid: manager + 3 benefactors on this machine',
    path: 'client library (stdchk put)',
  });
  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'stdchk-bench-'));
  let grid: LocalGrid | undefined;
  let client: StorageClient;
  try {
    if (opts.manager) {
      client = new StorageClient({
        managerAddress: opts.manager.address,
        secret: opts.manager.secret,
        tls: opts.manager.tls,
      });
    } else {
      grid = new LocalGrid({ dir: path.join(dir, 'grid'), benefactors: 3 });
      await grid.start();
      client = grid.client();
    }
    await client.mkdir('/bench', { parents: true });
    const localSeconds = writeLocal(path.join(dir, 'baseline.bin'), opts);
    rmSync(path.join(dir, 'baseline.bin'), { force: true });
    const rows: (string | number)[][] = [
      ['local disk (write + fsync)', localSeconds, mbps(opts.sizeBytes, localSeconds), 1],
    ];
    for (const r of opts.replicas) {
      const res = await writeStdchk(client, `/bench/write-r${r}-${Date.now()}.bin`, r, opts);
      const ratio = localSeconds / res.seconds;
      rows.push([`stdchk put, replicas ${r}`, res.seconds, mbps(opts.sizeBytes, res.seconds), ratio]);
      report.ratios[`put_r${r}_vs_local`] = ratio;
    }
    report.tables.push({
      title: `write ${(opts.sizeBytes / MiB).toFixed(0)} MiB of fresh data in ${opts.blockBytes / 1024} KiB writes; close() returns when every chunk is on all replicas`,
      columns: ['target', 'seconds', 'MB/s', 'x local'],
      rows,
    });
    report.notes.push(
      'close() returns only after every chunk is durable on all replicas, so "until close" = "until fully replicated" here',
    );
    client.close();
  } finally {
    await grid?.stop();
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
  }
  return report;
}
