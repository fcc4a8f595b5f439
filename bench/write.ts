import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StorageClient } from '../src/client/storage-client.ts';
import { StdchkError } from '../src/errors/index.ts';
import { BenchCluster } from './lib/cluster.ts';
import { DEFAULT_CHUNK_TRANSPORT } from '../src/client/chunks.ts';
import type { ChunkTransportKind } from '../src/client/chunks.ts';
import type { BenchMount, CpuSnapshot, ExistingCluster } from './lib/cluster.ts';
import { FreshData } from './lib/data.ts';
import { StatefulProcess, criuCheck, criuDump, folderBytes, fsyncTree, runTs, tempDir } from './lib/proc.ts';
import { syncFolder } from '../src/fuse-client/barrier.ts';
import { readEncryptionKeyFile, writeEncryptionKeyFile } from '../src/client/encryption.ts';
import {
  GiB,
  KiB,
  MiB,
  Steps,
  addTarget,
  finishReport,
  groupedBarChart,
  mbps,
  newReport,
  progressBar,
  ratio,
  renderSvg,
} from './lib/report.ts';
import type { BenchReport, Cell } from './lib/report.ts';
import { WRITE_DEFAULTS, writeConfigs } from './defaults.ts';
import type { WriteConfig, WriteMode } from './defaults.ts';

export interface WriteBenchOptions {
  /** Bytes per file for the large sequential writes (and the client rows). */
  sizeBytes: number;
  replicas: number[];
  /**
   * Copies durable before close() returns, for each replica count: 'all' (the strict mode, the
   * default of `stdchk mount`) and/or a number below it (`--sync-replicas N`: the manager makes
   * the rest in the background). Counts not below a replica count are skipped for it.
   */
  syncReplicas: ('all' | number)[];
  /**
   * How the mounts write: 'writeback' (close() returns once staged locally; durable at
   * fsync/the folder barrier; measured at each replica count with all replicas durable at
   * fsync) and/or 'sync' (every close() commits; each sync-replicas setting).
   */
  writeModes: WriteMode[];
  /** Size of each write() of the large sequential writer. */
  blockBytes: number;
  /** Size of each write() of the small-write rows (4 KiB); 0: skip them. */
  smallBlockBytes: number;
  /** Bytes per file of the small-write rows. */
  smallSizeBytes: number;
  /** Memory of the process `criu dump` writes out; 0: skip the CRIU rows. */
  criuBytes: number;
  /** Also measure the client library in this process (`stdchk put`'s path). */
  clientRows: boolean;
  /** How chunk bytes travel (each mount's --chunk-transport), each measured in the same run. */
  transports: ChunkTransportKind[];
  /**
   * Chunk encryption of the mounts and clients measured: 'off' and/or 'on'
   * (a cluster key made for the run, `--encryption-key-file`), each
   * configuration measured with each.
   */
  encryption: ('off' | 'on')[];
  /** Run the grid with mutual TLS (and the secret). */
  tls?: boolean | undefined;
  existing?: ExistingCluster | undefined;
  dir?: string | undefined;
}

export { WRITE_DEFAULTS, writeConfigs };
export type { WriteConfig, WriteMode };

const configName = (c: WriteConfig) =>
  (c.mode === 'writeback' ? 'wb-' : '') +
  (c.sync < c.replicas ? `r${c.replicas}-s${c.sync}` : `r${c.replicas}`) +
  `-${c.transport}` +
  (c.encrypted ? '-enc' : '');
const configLabel = (c: WriteConfig) =>
  (c.mode === 'writeback' ? 'write-back, ' : 'sync, ') +
  (c.sync < c.replicas ? `replicas ${c.replicas}, sync ${c.sync}` : `replicas ${c.replicas}`) +
  `, ${c.transport}` +
  (c.encrypted ? ', encrypted' : '');
/** The configuration a row was measured with. */
const rowConfig = (x: WriteRow): WriteConfig => ({
  replicas: x.replicas ?? 1,
  sync: x.syncReplicas ?? x.replicas ?? 1,
  mode: x.mode ?? 'sync',
  transport: x.transport ?? DEFAULT_CHUNK_TRANSPORT,
  encrypted: x.encrypted ?? false,
});

/** One measured write. Seconds are from the writer's open() (or criu's start). */
export interface WriteRow {
  writer: 'sequential' | 'small-writes' | 'criu-dump' | 'client-library';
  target: 'local-disk' | 'mount' | 'client';
  replicas: number | null;
  /** Copies durable when the data is (`--sync-replicas`; = replicas in the strict mode). */
  syncReplicas: number | null;
  /** How the mount writes (null: local disk, client library). */
  mode: WriteMode | null;
  /** How chunk bytes travelled (null for local disk). */
  transport: ChunkTransportKind | null;
  /** Chunks encrypted with a cluster key (null for local disk). */
  encrypted: boolean | null;
  writeBytes: number;
  bytes: number;
  /**
   * Until close() returned: what the application waits for, its freeze (for CRIU: until criu
   * exited). Local disk: without fsync.
   */
  closeSeconds: number;
  /**
   * Until the data was durable: the fsync() after close() returned (for CRIU: the fsync of
   * every image and the folder; on the mount the folder barrier, `sync DIR`). The sync mode is
   * durable at close(); write-back at this point, on all replicas (or `sync` of them).
   */
  durableSeconds: number;
  /**
   * Until the manager first reported, after close(), no referenced chunk below its replica
   * count and no repair in progress (`stdchk status`: underReplicatedChunks 0,
   * repairsInProgress 0); null for local disk, or if that was not reached within 10 minutes.
   */
  replicatedSeconds: number | null;
  /** Local CRIU dumps: the fsync of the image files after criu exited (criu itself does not fsync). */
  fsyncSeconds?: number;
  closeMBps: number;
  durableMBps: number;
  replicatedMBps: number | null;
  /** MB/s until close over the same writer's local-disk MB/s with fsync (durable) in this run. */
  closeVsLocal: number | null;
  /** MB/s until durable over the same baseline. */
  durableVsLocal: number | null;
  replicatedVsLocal: number | null;
  /** Where the CPU went (mount rows): seconds per GiB written, from open() until fully replicated. */
  cpu?: CpuPerGiB;
}

/** CPU seconds per GiB written, by process; `cores` = all of them over the wall time (2 = both cores busy). */
export interface CpuPerGiB {
  writer: number | null;
  mount: number;
  benefactors: number | null;
  manager: number | null;
  total: number;
  cores: number;
}

function cpuPerGiB(before: CpuSnapshot, after: CpuSnapshot, bytes: number, writer: number | null): CpuPerGiB {
  const per = (a: number | null, b: number | null) =>
    a === null || b === null ? null : ((b - a) * GiB) / bytes;
  const mount = per(before.mount, after.mount) as number;
  const benefactors = per(before.benefactors, after.benefactors);
  const manager = per(before.manager, after.manager);
  const w = writer === null ? null : (writer * GiB) / bytes;
  const total = mount + (benefactors ?? 0) + (manager ?? 0) + (w ?? 0);
  const wall = (after.atMs - before.atMs) / 1000;
  return {
    writer: w,
    mount,
    benefactors,
    manager,
    total,
    cores: wall > 0 ? (total * bytes) / GiB / wall : 0,
  };
}

interface IoResult {
  bytes: number;
  t0EpochMs: number;
  writeSeconds: number;
  closeSeconds: number;
  durableSeconds: number;
  seconds: number;
  cpuSeconds: number;
}

async function ioWrite(file: string, size: number, block: number): Promise<IoResult> {
  const r = await runTs('bench/lib/io-proc.ts', ['write', file, String(size), String(block)], {
    timeoutMs: 3_600_000,
  });
  if (r.code !== 0) throw new StdchkError('INTERNAL', `the writer failed on ${file}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as IoResult;
}

/**
 * Polls `stdchk status` until no referenced chunk is below its replica count and no repair is
 * in progress; resolves with the epoch ms that was first seen, or null after `timeoutMs`. Call
 * it once the writes are committed (close() returned): the count covers committed chunks only.
 * Global: on a shared cluster, other writers' chunks count too.
 */
export async function waitFullyReplicated(
  cluster: BenchCluster,
  timeoutMs = 600_000,
): Promise<number | null> {
  const client = cluster.client();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await client.status().catch(() => undefined);
    if (s && s.underReplicatedChunks === 0 && s.repairsInProgress === 0) return Date.now();
    if (Date.now() > deadline) return null;
    await sleep(50);
  }
}

/** The in-process client library (what `stdchk put` does), kept from the first version of this benchmark. */
async function writeStdchk(client: StorageClient, remote: string, cfg: WriteConfig, opts: WriteBenchOptions) {
  const data = new FreshData();
  const bar = progressBar(`stdchk put ${configName(cfg)}`, opts.sizeBytes);
  const t0 = performance.now();
  const t0EpochMs = Date.now();
  const w = await client.openWriter(remote, { replicas: cfg.replicas, syncReplicas: cfg.sync });
  for (let done = 0; done < opts.sizeBytes; done += opts.blockBytes) {
    await w.write(data.next(Math.min(opts.blockBytes, opts.sizeBytes - done)));
    bar.update(done);
  }
  const { stats } = await w.close();
  bar.stop();
  return { seconds: (performance.now() - t0) / 1000, t0EpochMs, stats };
}

function row(
  base: Omit<
    WriteRow,
    'closeMBps' | 'durableMBps' | 'replicatedMBps' | 'closeVsLocal' | 'durableVsLocal' | 'replicatedVsLocal'
  >,
  localMBps: number | null,
): WriteRow {
  const closeMBps = mbps(base.bytes, base.closeSeconds);
  const durableMBps = mbps(base.bytes, base.durableSeconds);
  const replicatedMBps = base.replicatedSeconds === null ? null : mbps(base.bytes, base.replicatedSeconds);
  return {
    ...base,
    closeMBps,
    durableMBps,
    replicatedMBps,
    closeVsLocal: ratio(closeMBps, localMBps),
    durableVsLocal: ratio(durableMBps, localMBps),
    replicatedVsLocal: ratio(replicatedMBps, localMBps),
  };
}

export async function runWriteBench(opts: WriteBenchOptions): Promise<BenchReport> {
  const report = newReport('write', {
    sizeBytes: opts.sizeBytes,
    replicas: opts.replicas,
    syncReplicas: opts.syncReplicas,
    writeModes: opts.writeModes,
    blockBytes: opts.blockBytes,
    smallBlockBytes: opts.smallBlockBytes,
    smallSizeBytes: opts.smallSizeBytes,
    criuBytes: opts.criuBytes,
    clientRows: opts.clientRows,
    transports: opts.transports,
    encryption: opts.encryption,
    tls: opts.tls ?? false,
  });
  const kinds = 1 + (opts.smallBlockBytes > 0 ? 1 : 0) + (opts.criuBytes > 0 ? 1 : 0);
  const configs = writeConfigs(opts);
  const R = configs.length;
  const steps = new Steps('write', 1 + kinds * (1 + R) + (opts.clientRows ? R : 0));
  if (opts.criuBytes > 0) await criuCheck();
  const dir = tempDir(opts.dir, 'stdchk-bench-write-');
  const localDir = path.join(dir, 'local');
  mkdirSync(localDir, { recursive: true });
  // A cluster key for the encrypted configurations (made here, removed with the folder).
  const keyFile = path.join(dir, 'encryption.key');
  if (configs.some((c) => c.encrypted)) writeEncryptionKeyFile(keyFile);
  const rows: WriteRow[] = [];
  let cluster: BenchCluster | undefined;
  try {
    steps.next('starting the grid and one mount per configuration');
    cluster = await BenchCluster.open({ dir, existing: opts.existing, tls: opts.tls });
    report.params.cluster = cluster.description;
    const c = cluster;
    const mounts = new Map<WriteConfig, BenchMount>();
    for (const cfg of configs) {
      const k = configName(cfg);
      mounts.set(
        cfg,
        await c.mount(
          path.join(dir, `mnt-${k}`),
          {
            replicas: cfg.replicas,
            ...(cfg.sync < cfg.replicas ? { syncReplicas: cfg.sync } : {}),
            cacheDir: path.join(dir, `cache-${k}`),
            name: `mount-${k}`,
            writeMode: cfg.mode,
            chunkTransport: cfg.transport,
            ...(cfg.encrypted ? { encryptionKeyFile: keyFile } : {}),
          },
          path.join(dir, 'logs'),
        ),
      );
    }
    // Background replication of one measurement must not run into the next one.
    const settle = async () => {
      if ((await waitFullyReplicated(c)) === null)
        throw new StdchkError('TIMEOUT', 'the cluster did not reach full replication within 10 minutes');
    };
    const sinceStart = (at: number | null, t0EpochMs: number, closeSeconds: number) =>
      at === null ? null : Math.max(closeSeconds, (at - t0EpochMs) / 1000);
    const base = `/bench/write-${Date.now().toString(36)}`;
    await c.client().mkdir(base, { parents: true });

    const sequentialKind = async (writer: WriteRow['writer'], size: number, block: number, label: string) => {
      steps.next(`local disk: ${label}`);
      const localFile = path.join(localDir, `${writer}.bin`);
      const local = await ioWrite(localFile, size, block);
      rmSync(localFile, { force: true });
      const localMBps = mbps(size, local.durableSeconds);
      rows.push(
        row(
          {
            writer,
            target: 'local-disk',
            replicas: null,
            syncReplicas: null,
            mode: null,
            transport: null,
            encrypted: null,
            writeBytes: block,
            bytes: size,
            closeSeconds: local.closeSeconds,
            durableSeconds: local.durableSeconds,
            replicatedSeconds: null,
          },
          localMBps,
        ),
      );
      for (const cfg of configs) {
        steps.next(`mount, ${configLabel(cfg)}: ${label}`);
        await settle();
        const m = mounts.get(cfg) as BenchMount;
        const rel = `${base}/${writer}-${configName(cfg)}.bin`;
        const cpu0 = c.cpu(m);
        const res = await ioWrite(path.join(m.mountpoint, rel), size, block);
        const replicatedAt = await waitFullyReplicated(c);
        rows.push({
          ...row(
            {
              writer,
              target: 'mount',
              replicas: cfg.replicas,
              syncReplicas: cfg.sync,
              mode: cfg.mode,
              transport: cfg.transport,
              encrypted: cfg.encrypted,
              writeBytes: block,
              bytes: size,
              closeSeconds: res.closeSeconds,
              durableSeconds: res.durableSeconds,
              replicatedSeconds: sinceStart(replicatedAt, res.t0EpochMs, res.durableSeconds),
            },
            localMBps,
          ),
          cpu: cpuPerGiB(cpu0, c.cpu(m), size, res.cpuSeconds),
        });
      }
    };

    await sequentialKind(
      'sequential',
      opts.sizeBytes,
      opts.blockBytes,
      `${fmtSize(opts.sizeBytes)} in ${fmtSize(opts.blockBytes)} writes + fsync`,
    );
    if (opts.smallBlockBytes > 0) {
      await sequentialKind(
        'small-writes',
        opts.smallSizeBytes,
        opts.smallBlockBytes,
        `${fmtSize(opts.smallSizeBytes)} in ${fmtSize(opts.smallBlockBytes)} writes + fsync`,
      );
    }

    if (opts.criuBytes > 0) {
      const mib = Math.max(1, Math.round(opts.criuBytes / MiB));
      const work = path.join(dir, 'criu-work');
      mkdirSync(work, { recursive: true });
      // A fresh process (fresh random memory) per dump, so no dump dedups against another.
      steps.next(`local disk: criu dump of a ${mib} MiB process`);
      const p0 = await StatefulProcess.start(work, 'local', mib);
      const localImages = path.join(localDir, 'criu');
      const t0 = performance.now();
      let dumpSeconds: number;
      try {
        dumpSeconds = await criuDump(p0.pid, localImages, { workDir: work });
      } finally {
        p0.kill();
      }
      const fsyncSeconds = fsyncTree(localImages);
      const durable = (performance.now() - t0) / 1000;
      const imageBytes = folderBytes(localImages);
      rmSync(localImages, { recursive: true, force: true });
      const localMBps = mbps(imageBytes, durable);
      rows.push(
        row(
          {
            writer: 'criu-dump',
            target: 'local-disk',
            replicas: null,
            syncReplicas: null,
            mode: null,
            transport: null,
            encrypted: null,
            writeBytes: 0,
            bytes: imageBytes,
            closeSeconds: dumpSeconds,
            durableSeconds: durable,
            replicatedSeconds: null,
            fsyncSeconds,
          },
          localMBps,
        ),
      );
      report.results.criuLocalWithoutFsync = { seconds: dumpSeconds, MBps: mbps(imageBytes, dumpSeconds) };
      for (const cfg of configs) {
        const k = configName(cfg);
        steps.next(`mount, ${configLabel(cfg)}: criu dump of a ${mib} MiB process`);
        await settle();
        const m = mounts.get(cfg) as BenchMount;
        const rel = `${base}/criu-${k}`;
        const p = await StatefulProcess.start(work, k, mib);
        let seconds = 0;
        let bytes = 0;
        try {
          const started = Date.now();
          const cpu0 = c.cpu(m);
          seconds = await criuDump(p.pid, path.join(m.mountpoint, rel), { workDir: work });
          // The folder barrier: every image committed on its replicas (write-back: uploaded now).
          await syncFolder(path.join(m.mountpoint, rel));
          const durable = (Date.now() - started) / 1000;
          const replicatedAt = await waitFullyReplicated(c);
          const cpu1 = c.cpu(m);
          bytes = folderBytes(path.join(m.mountpoint, rel));
          rows.push({
            cpu: cpuPerGiB(cpu0, cpu1, bytes, null),
            ...row(
              {
                writer: 'criu-dump',
                target: 'mount',
                replicas: cfg.replicas,
                syncReplicas: cfg.sync,
                mode: cfg.mode,
                transport: cfg.transport,
                encrypted: cfg.encrypted,
                writeBytes: 0,
                bytes,
                closeSeconds: seconds,
                durableSeconds: durable,
                replicatedSeconds: sinceStart(replicatedAt, started, durable),
              },
              localMBps,
            ),
          });
        } finally {
          p.kill();
        }
      }
    }

    if (opts.clientRows) {
      const localMBps =
        rows.find((x) => x.writer === 'sequential' && x.target === 'local-disk')?.durableMBps ?? null;
      for (const cfg of configs.filter((x) => x.mode === 'sync')) {
        steps.next(`client library in this process (stdchk put's path), ${configLabel(cfg)}`);
        await settle();
        const remote = `${base}/client-${configName(cfg)}.bin`;
        const client = c.client(cfg.transport, cfg.encrypted ? readEncryptionKeyFile(keyFile) : undefined);
        const cpu0 = c.cpu(undefined);
        const self0 = process.cpuUsage();
        const res = await writeStdchk(client, remote, cfg, opts);
        const self = process.cpuUsage(self0);
        const cpu1 = c.cpu(undefined);
        const replicatedAt = await waitFullyReplicated(c);
        rows.push({
          // The writer is this process (chunker thread included); there is no mount.
          cpu: cpuPerGiB(cpu0, cpu1, opts.sizeBytes, (self.user + self.system) / 1e6),
          ...row(
            {
              writer: 'client-library',
              target: 'client',
              replicas: cfg.replicas,
              syncReplicas: cfg.sync,
              mode: null,
              transport: cfg.transport,
              encrypted: cfg.encrypted,
              writeBytes: opts.blockBytes,
              bytes: opts.sizeBytes,
              closeSeconds: res.seconds,
              durableSeconds: res.seconds,
              replicatedSeconds: sinceStart(replicatedAt, res.t0EpochMs, res.seconds),
            },
            localMBps,
          ),
        });
      }
    }
    // Only now: deleting a row's file would have the benefactors collect and compact it
    // (after the manager's GC grace) during a later row, measuring that instead.
    await c.remove(base);
  } finally {
    await cluster?.stop();
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    else rmSync(localDir, { recursive: true, force: true });
  }

  report.results.rows = rows;
  const label: Record<WriteRow['writer'], string> = {
    sequential: `${fmtSize(opts.blockBytes)} writes`,
    'small-writes': `${fmtSize(opts.smallBlockBytes)} writes`,
    'criu-dump': 'criu dump',
    'client-library': 'client library',
  };
  report.tables.push({
    title:
      'write of fresh data: seconds until close() returns (freeze: what the application waits for) and until durable ' +
      '(fsync after close(); for criu: fsync of the images, on the mount the folder barrier), and until `stdchk status` ' +
      'shows every chunk on all its replicas; x local: MB/s over the same writer into a local folder with fsync (its durable column)',
    columns: [
      'writer',
      'target',
      'MiB',
      's freeze',
      's durable',
      's to r replicas',
      'MB/s freeze',
      'MB/s durable',
      'x local freeze',
      'x local durable',
    ],
    rows: rows.map((x): Cell[] => [
      label[x.writer],
      x.target === 'local-disk'
        ? 'local disk'
        : x.target === 'client'
          ? `client, ${configLabel(rowConfig(x)).replace(/^sync, /, '')}`
          : `mount, ${configLabel(rowConfig(x))}`,
      x.bytes / MiB,
      x.closeSeconds,
      x.durableSeconds,
      x.replicatedSeconds,
      x.closeMBps,
      x.durableMBps,
      x.closeVsLocal,
      x.target === 'local-disk' ? 1 : x.durableVsLocal,
    ]),
  });
  const withCpu = rows.filter((x) => x.cpu);
  if (withCpu.length > 0) {
    report.tables.push({
      title:
        'where the CPU goes: CPU seconds (user + system) per GiB written, by process, from open() until every chunk is on all replicas; ' +
        'cores = all of it over the wall time',
      columns: [
        'writer',
        'target',
        'encryption',
        'writer process',
        'mount',
        'benefactors',
        'manager',
        'total',
        'cores busy',
      ],
      rows: withCpu.map((x): Cell[] => {
        const u = x.cpu as CpuPerGiB;
        return [
          label[x.writer],
          x.target === 'client'
            ? `client, ${configLabel(rowConfig(x)).replace(/^sync, /, '')}`
            : `mount, ${configLabel(rowConfig(x))}`,
          x.encrypted ? 'on' : 'off',
          u.writer,
          u.mount,
          u.benefactors,
          u.manager,
          u.total,
          u.cores,
        ];
      }),
    });
  }
  for (const x of rows) {
    if (x.target === 'local-disk' || x.closeVsLocal === null) continue;
    const key = `${x.writer}_${x.target}_${configName(rowConfig(x)).replace(/-/g, '_')}`;
    report.ratios[`${key}_close_vs_local`] = x.closeVsLocal;
    if (x.durableVsLocal !== null) report.ratios[`${key}_durable_vs_local`] = x.durableVsLocal;
    if (x.replicatedVsLocal !== null) report.ratios[`${key}_replicated_vs_local`] = x.replicatedVsLocal;
  }
  // The targets are judged on the default transport when it was measured.
  const judged = opts.transports.includes(DEFAULT_CHUNK_TRANSPORT)
    ? DEFAULT_CHUNK_TRANSPORT
    : opts.transports[0];
  const pick = (writer: WriteRow['writer'], mode: WriteMode, sync: number) =>
    rows.find(
      (x) =>
        x.writer === writer &&
        x.target === 'mount' &&
        x.mode === mode &&
        x.replicas === 2 &&
        x.syncReplicas === sync &&
        x.transport === judged,
    );
  if (pick('sequential', 'writeback', 2)) {
    addTarget(report, {
      id: 'write_wb_r2_close_vs_local',
      goal: 'fresh data through the write-back mount at replicas 2: MB/s until close() >= 0.6x local disk with fsync',
      value: pick('sequential', 'writeback', 2)?.closeVsLocal,
      limit: 0.6,
      direction: 'at-least',
    });
    addTarget(report, {
      id: 'write_wb_r2_durable_vs_local',
      goal: 'the same until durable on 2 replicas (fsync after close) >= 0.25x',
      value: pick('sequential', 'writeback', 2)?.durableVsLocal,
      limit: 0.25,
      direction: 'at-least',
    });
  }
  if (pick('criu-dump', 'writeback', 2)) {
    addTarget(report, {
      id: 'criu_wb_r2_freeze_vs_local',
      goal: 'criu dump into the write-back mount at replicas 2: MB/s until criu exits >= 1/1.5 of local with fsync (freeze <= 1.5x)',
      value: pick('criu-dump', 'writeback', 2)?.closeVsLocal,
      limit: 1 / 1.5,
      direction: 'at-least',
    });
  }
  if (pick('sequential', 'sync', 2)) {
    addTarget(report, {
      id: 'write_r2_close_vs_local',
      goal: 'fresh data through the sync mount at replicas 2: MB/s until close() >= 0.6x local disk (same writer, fsync)',
      value: pick('sequential', 'sync', 2)?.closeVsLocal,
      limit: 0.6,
      direction: 'at-least',
    });
  }
  if (pick('sequential', 'sync', 1)) {
    addTarget(report, {
      id: 'write_r2_sync1_close_vs_local',
      goal: 'the same with --sync-replicas 1 (close() after one durable copy, the second made in the background)',
      value: pick('sequential', 'sync', 1)?.closeVsLocal,
      limit: 0.6,
      direction: 'at-least',
    });
  }
  report.notes.push(
    'the mount rows are a separate process writing through a kernel FUSE mount (write(), close(), then open() and fsync()); ' +
      'write-back: close() returns once the data is in the local staging folder, fsync once it is committed on every replica; ' +
      'sync, strict: close() returns after the commit with every chunk on r replicas; ' +
      'with "sync N" close() returns after N durable copies and the manager makes the rest in the background',
    '"to r replicas": until `stdchk status` first showed, after close(), no under-replicated chunk and no repair in progress (polled every 50 ms); ' +
      'each measurement starts once the previous one is fully replicated',
    'local CRIU dumps: freeze = until criu exits, durable = until their images are fsynced (criu itself does not fsync); ' +
      'on the mount, durable = until the folder barrier (`sync DIR`) returned',
    "CPU: read from /proc for the mount, manager and benefactor processes; the writer process reports its own (its system time includes the kernel copying writes to FUSE); criu's own CPU is not counted; " +
      'for the client-library rows the writer is this benchmark process itself (its chunker thread included), until close() returned',
    '"framed": chunk bytes on the framed stream with chain replication (the client sends each byte once); "grpc": StoreChunks streams, one copy per replica from the client (docs/data-path.md)',
  );
  return finishReport(report);
}

export function writeChart(report: BenchReport): string {
  const rows = (report.results.rows ?? []) as WriteRow[];
  const writers = [...new Set(rows.map((r) => r.writer))];
  const configs: WriteConfig[] = [];
  for (const r of rows) {
    if (r.replicas === null || r.target !== 'mount') continue;
    const cfg = rowConfig(r);
    if (!configs.some((c) => configName(c) === configName(cfg))) configs.push(cfg);
  }
  const pick = (w: string, f: (r: WriteRow) => boolean, v: (r: WriteRow) => number | null) => {
    const r = rows.find((x) => x.writer === w && f(x));
    return r ? v(r) : null;
  };
  const isConfig = (c: WriteConfig) => (r: WriteRow) =>
    r.target !== 'local-disk' && configName(rowConfig(r)) === configName(c);
  const series = [
    {
      name: 'local disk + fsync',
      // The client library is compared with the large writes' local baseline (the same data).
      values: writers.map((w) =>
        pick(
          w === 'client-library' ? 'sequential' : w,
          (r) => r.target === 'local-disk',
          (r) => r.durableMBps,
        ),
      ),
    },
    ...configs.flatMap((c) => [
      {
        name: `${configLabel(c)}, to close()`,
        values: writers.map((w) => pick(w, isConfig(c), (r) => r.closeMBps)),
      },
      {
        name: `${configLabel(c)}, durable`,
        values: writers.map((w) => pick(w, isConfig(c), (r) => r.durableMBps)),
      },
    ]),
  ];
  return renderSvg([
    groupedBarChart({
      title: `write bandwidth of fresh data, MB/s (${report.machine.cpus} cores)`,
      unit: 'MB/s',
      categories: writers.map((w) =>
        w === 'sequential'
          ? 'large writes (mount)'
          : w === 'small-writes'
            ? '4 KiB writes (mount)'
            : w === 'criu-dump'
              ? 'criu dump (mount)'
              : 'client library',
      ),
      series,
    }),
  ]);
}

function fmtSize(n: number): string {
  if (n >= GiB && n % GiB === 0) return `${n / GiB} GiB`;
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= KiB && n % KiB === 0) return `${n / KiB} KiB`;
  return `${n} B`;
}
