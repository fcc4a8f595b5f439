import path from 'node:path';
import type { Command } from 'commander';
import { action, printJson } from '../output.ts';
import { parseDuration, parseSize } from '../../config/units.ts';
import { StdchkError } from '../../errors/index.ts';
import { addTlsOptions, resolveClientConfig } from '../common.ts';
import { parseChunkerSpec } from '../../chunking/params.ts';
import { printReport, writeJson, writeSvg } from '../../../bench/lib/report.ts';
import type { BenchReport } from '../../../bench/lib/report.ts';
import type { ExistingCluster } from '../../../bench/lib/cluster.ts';
// Only the defaults at start-up (for --help); each benchmark is loaded when it runs.
import {
  DEDUP_DEFAULTS,
  FAILOVER_DEFAULTS,
  METADATA_DEFAULTS,
  RESTORE_DEFAULTS,
  SMALL_DEFAULTS,
  WRITE_DEFAULTS,
  writeConfigs,
} from '../../../bench/defaults.ts';
import type { WriteMode } from '../../../bench/defaults.ts';
import { CHUNK_TRANSPORTS } from '../../client/transport-kind.ts';
import type { ChunkTransportKind } from '../../client/transport-kind.ts';

interface OutputFlags {
  json?: boolean;
  out?: string;
  plot?: string;
}

interface ClusterFlags {
  manager?: string;
  secretFile?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

function finish(report: BenchReport, opts: OutputFlags, chart: (r: BenchReport) => string): void {
  if (opts.json) printJson(report);
  else printReport(report);
  if (opts.out) writeJson(opts.out, report);
  if (opts.plot) writeSvg(opts.plot, chart(report));
}

const bad = (message: string) => new StdchkError('INVALID_ARGUMENT', message);

function intList(value: string, flag: string, min: number, max: number): number[] {
  const list = value.split(',').map((s) => Number(s.trim()));
  if (!list.length || list.some((n) => !Number.isInteger(n) || n < min || n > max)) {
    throw bad(
      `${flag} must be a comma-separated list of integers from ${min} to ${max}, not ${JSON.stringify(value)}`,
    );
  }
  return list;
}

function int(value: string, flag: string, min: number, max: number): number {
  return intList(value, flag, min, max)[0] as number;
}

function sizeFlag(value: string, flag: string, min: number): number {
  const n = parseSize(value, flag);
  if (n < min) throw bad(`${flag} must be at least ${min} bytes, not ${JSON.stringify(value)}`);
  return n;
}

function percentList(value: string, flag: string): number[] {
  const list = value.split(',').map((s) => Number(s.trim().replace(/%$/, '')));
  if (!list.length || list.some((n) => !Number.isFinite(n) || n <= 0 || n > 100)) {
    throw bad(
      `${flag} must be a comma-separated list of percentages above 0 and at most 100, not ${JSON.stringify(value)}`,
    );
  }
  return list;
}

function secondsList(value: string, flag: string): number[] {
  const list = value.split(',').map((s) => parseDuration(s, flag) / 1000);
  if (!list.length || list.some((n) => !Number.isFinite(n) || n < 1 || n > 3600)) {
    throw bad(
      `${flag} must be a comma-separated list of durations from 1s to 1h (e.g. 2s,5s,10s), not ${JSON.stringify(value)}`,
    );
  }
  return list;
}

/** --sync-replicas all,1: "all" and/or copy counts durable before close() returns. */
function syncList(value: string): ('all' | number)[] {
  const list = value.split(',').map((s) => s.trim());
  if (!list.length || list.some((s) => s !== 'all' && !/^([1-9]|1[0-6])$/.test(s))) {
    throw bad(
      `--sync-replicas must be a comma-separated list of "all" and integers from 1 to 16, not ${JSON.stringify(value)}`,
    );
  }
  return list.map((s) => (s === 'all' ? 'all' : Number(s)));
}

/** --write-modes writeback,sync */
function writeModeList(value: string): WriteMode[] {
  const list = value.split(',').map((s) => s.trim());
  if (!list.length || list.some((s) => s !== 'writeback' && s !== 'sync')) {
    throw bad(
      `--write-modes must be a comma-separated list of writeback and sync, not ${JSON.stringify(value)}`,
    );
  }
  return [...new Set(list)] as WriteMode[];
}

function chunkerList(value: string): string[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!list.length) throw bad('a chunker list must name at least one chunker, e.g. fastcdc:16k');
  for (const s of list) parseChunkerSpec(s);
  return list;
}

/**
 * `--manager` given: the existing cluster to use, with its secret file and TLS files (the
 * benchmark starts mounts, which need the files, not just the bytes).
 */
function existingCluster(opts: ClusterFlags): ExistingCluster | undefined {
  if (!opts.manager) return undefined;
  const cfg = resolveClientConfig(opts);
  return {
    address: cfg.managerAddress,
    secretFile: opts.secretFile ?? process.env.STDCHK_SECRET_FILE,
    tls: cfg.tls,
  };
}

function withOutput(cmd: Command): Command {
  return cmd
    .option(
      '--dir <dir>',
      'work folder for grids, mounts and local baselines (default: a temporary folder, removed)',
    )
    .option('--json', 'print the report as JSON instead of tables')
    .option('--out <file>', 'also write the JSON report to this file')
    .option('--plot <file>', 'draw the results as an SVG chart into this file');
}

function withCluster(cmd: Command): Command {
  cmd
    .option('--manager <addr>', 'measure this existing cluster (default: start a one-machine grid)')
    .option('--secret-file <file>', 'secret of that cluster (default: $STDCHK_SECRET_FILE)');
  return addTlsOptions(cmd);
}

const mib = (n: number) => (n % 1073741824 === 0 ? `${n / 1073741824}GiB` : `${n / 1048576}MiB`);

interface WriteFlags extends OutputFlags, ClusterFlags {
  size: string;
  replicas: string;
  syncReplicas: string;
  writeModes: string;
  block: string;
  smallBlock: string;
  smallSize?: string;
  criuSize: string;
  client: boolean;
  transports: string;
  encryption: string;
  tls?: boolean;
  dir?: string;
}

interface DedupFlags extends OutputFlags, ClusterFlags {
  size: string;
  change: string;
  dumps: string;
  block: string;
  chunkers: string;
  mountChunkers: string;
  replicas: string;
  dir?: string;
}

interface RestoreFlags extends OutputFlags, ClusterFlags {
  size: string;
  replicas: string;
  readBlock: string;
  dir?: string;
}

interface FailoverFlags extends OutputFlags {
  intervals: string;
  trials: string;
  heartbeatTimeout: string;
  phase: string;
  kind: string;
  dir?: string;
}

interface SmallFlags extends OutputFlags, ClusterFlags {
  tree: string;
  files: string;
  fileSize: string;
  replicas: string;
  writeModes: string;
  dir?: string;
}

interface MetadataFlags extends OutputFlags {
  chunks: string;
  batch: string;
  inFlight: string;
  seconds: string;
  commitRefs: string;
  dir?: string;
}

function writeOptions(o: WriteFlags) {
  const sizeBytes = sizeFlag(o.size, '--size', 1);
  const replicas = intList(o.replicas, '--replicas', 1, 16);
  const syncReplicas = syncList(o.syncReplicas);
  const writeModes = writeModeList(o.writeModes);
  if (
    writeModes.includes('sync') &&
    writeConfigs({ replicas, syncReplicas, writeModes: ['sync'] }).length === 0
  )
    throw bad(`--sync-replicas ${o.syncReplicas} leaves nothing to measure at --replicas ${o.replicas}`);
  return {
    sizeBytes,
    replicas,
    syncReplicas,
    writeModes,
    blockBytes: sizeFlag(o.block, '--block', 1),
    smallBlockBytes: parseSize(o.smallBlock, '--small-block'),
    smallSizeBytes: o.smallSize ? sizeFlag(o.smallSize, '--small-size', 1) : sizeBytes,
    criuBytes: parseSize(o.criuSize, '--criu-size'),
    clientRows: o.client,
    transports: transportList(o.transports),
    encryption: encryptionList(o.encryption),
    tls: o.tls ?? false,
    existing: existingCluster(o),
    dir: o.dir,
  };
}

/** --encryption off,on */
function encryptionList(text: string): ('off' | 'on')[] {
  const list = text.split(',').map((x) => x.trim());
  if (list.length === 0 || list.some((x) => x !== 'off' && x !== 'on') || new Set(list).size !== list.length)
    throw bad(`--encryption takes a list of off, on, not ${JSON.stringify(text)}`);
  return list as ('off' | 'on')[];
}

/** --transports framed,grpc */
function transportList(text: string): ChunkTransportKind[] {
  const out: ChunkTransportKind[] = [];
  for (const part of text.split(',').map((s) => s.trim())) {
    if (!(CHUNK_TRANSPORTS as readonly string[]).includes(part))
      throw bad(`--transports takes a list of ${CHUNK_TRANSPORTS.join(', ')}, not ${JSON.stringify(text)}`);
    if (!out.includes(part as ChunkTransportKind)) out.push(part as ChunkTransportKind);
  }
  return out;
}

function dedupOptions(o: DedupFlags) {
  return {
    memoryBytes: sizeFlag(o.size, '--size', 1048576),
    changes: percentList(o.change, '--change'),
    dumps: int(o.dumps, '--dumps', 2, 100),
    blockBytes: sizeFlag(o.block, '--block', 4096),
    chunkers: chunkerList(o.chunkers),
    mountChunkers: chunkerList(o.mountChunkers),
    replicas: int(o.replicas, '--replicas', 1, 16),
    existing: existingCluster(o),
    dir: o.dir,
  };
}

function restoreOptions(o: RestoreFlags) {
  return {
    memoryBytes: sizeFlag(o.size, '--size', 1048576),
    replicas: int(o.replicas, '--replicas', 1, 16),
    readBlockBytes: sizeFlag(o.readBlock, '--read-block', 1),
    existing: existingCluster(o),
    dir: o.dir,
  };
}

function failoverOptions(o: FailoverFlags) {
  const phase = Number(o.phase);
  if (!Number.isFinite(phase) || phase < 0 || phase > 0.95)
    throw bad(`--phase must be a number from 0 to 0.95, not ${JSON.stringify(o.phase)}`);
  if (o.kind !== 'container' && o.kind !== 'process')
    throw bad(`--kind must be container or process, not ${JSON.stringify(o.kind)}`);
  const hb = parseDuration(o.heartbeatTimeout, '--heartbeat-timeout') / 1000;
  if (hb < 3) throw bad('--heartbeat-timeout must be at least 3s (workers heartbeat every second)');
  return {
    intervals: secondsList(o.intervals, '--intervals'),
    trials: int(o.trials, '--trials', 1, 100),
    heartbeatTimeoutSeconds: hb,
    phase,
    kind: o.kind as 'container' | 'process',
    dir: o.dir,
  };
}

function smallOptions(o: SmallFlags) {
  return {
    tree: o.tree,
    files: int(o.files, '--files', 1, 1_000_000),
    fileBytes: sizeFlag(o.fileSize, '--file-size', 1),
    replicas: int(o.replicas, '--replicas', 1, 16),
    writeModes: writeModeList(o.writeModes),
    existing: existingCluster(o),
    dir: o.dir,
  };
}

function metadataOptions(o: MetadataFlags) {
  const seconds = Number(o.seconds);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600)
    throw bad(`--seconds must be a number of seconds above 0, not ${JSON.stringify(o.seconds)}`);
  return {
    chunks: int(o.chunks, '--chunks', 1, 100_000_000),
    batches: intList(o.batch, '--batch', 1, 65_536),
    inFlight: intList(o.inFlight, '--in-flight', 1, 256),
    seconds,
    commitRefs: int(o.commitRefs, '--commit-refs', 1, 65_536),
    dir: o.dir,
  };
}

export function registerBenchCommands(program: Command): void {
  const bench = program
    .command('bench')
    .description(
      'measure stdchk against a baseline taken in the same run: write, small, dedup, restore, failover, metadata (or all)',
    );

  withOutput(
    withCluster(
      bench
        .command('write')
        .description(
          'writes of fresh data through the mount (write-back and sync, several replica counts; large and 4 KiB writes, criu dump) and through the client library: time until close() (the freeze) and until durable, vs the same writer to local disk with fsync',
        )
        .option(
          '--size <size>',
          'bytes per file of the large writes and the client rows',
          mib(WRITE_DEFAULTS.sizeBytes),
        )
        .option('--replicas <list>', 'replica counts to measure', WRITE_DEFAULTS.replicas.join(','))
        .option(
          '--sync-replicas <list>',
          'copies durable before close() returns, for each replica count: "all" (strict) and/or N (the mount\'s --sync-replicas N; skipped where N > the replica count)',
          WRITE_DEFAULTS.syncReplicas.join(','),
        )
        .option(
          '--write-modes <list>',
          'how the mounts write: writeback (close() once staged, durable at fsync) and/or sync (close() commits)',
          WRITE_DEFAULTS.writeModes.join(','),
        )
        .option('--block <size>', 'size of each large write()', mib(WRITE_DEFAULTS.blockBytes))
        .option('--small-block <size>', 'size of each small write() (0: skip the small-write rows)', '4KiB')
        .option('--small-size <size>', 'bytes per file of the small-write rows (default: --size)')
        .option(
          '--criu-size <size>',
          'memory of the process criu dumps (0: skip the CRIU rows)',
          mib(WRITE_DEFAULTS.criuBytes),
        )
        .option('--no-client', 'skip the client-library rows')
        .option(
          '--transports <list>',
          'how chunk bytes travel, each measured in the same run: framed (the chunk stream, chain replication) and/or grpc',
          WRITE_DEFAULTS.transports.join(','),
        )
        .option(
          '--encryption <list>',
          'chunk encryption of the mounts and clients, each measured in the same run: off and/or on (a cluster key made for the run)',
          WRITE_DEFAULTS.encryption.join(','),
        )
        .option('--tls', 'run the one-machine grid with mutual TLS (and the secret)'),
    ),
  ).action(
    action(async (o: WriteFlags) =>
      import('../../../bench/write.ts').then(async (m) =>
        finish(await m.runWriteBench(writeOptions(o)), o, m.writeChart),
      ),
    ),
  );

  withOutput(
    withCluster(
      bench
        .command('dedup')
        .description(
          'incremental checkpoints: a series of criu dumps of a process whose memory changes between dumps, through the mount and into a local folder; new bytes stored per dump, and chunkers compared offline on the same images',
        )
        .option('--size <size>', 'memory of the dumped process', mib(DEDUP_DEFAULTS.memoryBytes))
        .option(
          '--change <list>',
          'percent of memory rewritten between dumps, one series each',
          DEDUP_DEFAULTS.changes.join(','),
        )
        .option('--dumps <n>', 'dumps per series (the first is full)', String(DEDUP_DEFAULTS.dumps))
        .option('--block <size>', 'memory is rewritten in blocks of this size at random places', '64KiB')
        .option(
          '--chunkers <list>',
          'chunkers compared offline on the local dumps',
          DEDUP_DEFAULTS.chunkers.join(','),
        )
        .option(
          '--mount-chunkers <list>',
          'chunkers the mount runs with (stdchk mount --chunker), one set of series each',
          DEDUP_DEFAULTS.mountChunkers.join(','),
        )
        .option('--replicas <n>', 'replicas of the mount', String(DEDUP_DEFAULTS.replicas)),
    ),
  ).action(
    action(async (o: DedupFlags) =>
      import('../../../bench/dedup.ts').then(async (m) =>
        finish(await m.runDedupBench(dedupOptions(o)), o, m.dedupChart),
      ),
    ),
  );

  withOutput(
    withCluster(
      bench
        .command('restore')
        .description(
          'criu restore and a plain sequential read of a checkpoint: from the mount that wrote it (warm cache), from another mount (cold cache), and from local disk (warm and cold)',
        )
        .option('--size <size>', 'memory of the dumped process', mib(RESTORE_DEFAULTS.memoryBytes))
        .option('--replicas <n>', 'replicas of the writing mount', String(RESTORE_DEFAULTS.replicas))
        .option('--read-block <size>', 'read() size of the sequential reader', '1MiB'),
    ),
  ).action(
    action(async (o: RestoreFlags) =>
      import('../../../bench/restore.ts').then(async (m) =>
        finish(await m.runRestoreBench(restoreOptions(o)), o, m.restoreChart),
      ),
    ),
  );

  withOutput(
    withCluster(
      bench
        .command('small')
        .description(
          'small files through the mount (write-back and sync): tar -x of a source tree and a program writing many small files, until the writer finishes and until durable, vs a local folder with fsync',
        )
        .option('--tree <dir>', 'the tree to unpack', SMALL_DEFAULTS.tree)
        .option('--files <n>', 'small files written one after the other', String(SMALL_DEFAULTS.files))
        .option('--file-size <size>', 'bytes per small file', '4KiB')
        .option('--replicas <n>', 'replicas of the mounts', String(SMALL_DEFAULTS.replicas))
        .option(
          '--write-modes <list>',
          'how the mounts write: writeback and/or sync',
          SMALL_DEFAULTS.writeModes.join(','),
        ),
    ),
  ).action(
    action(async (o: SmallFlags) =>
      import('../../../bench/small.ts').then(async (m) =>
        finish(await m.runSmallBench(smallOptions(o)), o, m.smallChart),
      ),
    ),
  );

  withOutput(
    bench
      .command('failover')
      .description(
        "time from a worker's loss (kill -9 of the worker and its job) until the job runs again on another worker, and the work lost, against the checkpoint interval (always on a one-machine grid with a scheduler and 2 workers)",
      )
      .option(
        '--intervals <list>',
        'checkpoint intervals',
        FAILOVER_DEFAULTS.intervals.map((s) => `${s}s`).join(','),
      )
      .option('--trials <n>', 'worker losses per interval', String(FAILOVER_DEFAULTS.trials))
      .option(
        '--heartbeat-timeout <duration>',
        'the scheduler declares a silent worker lost after this long',
        `${FAILOVER_DEFAULTS.heartbeatTimeoutSeconds}s`,
      )
      .option(
        '--phase <fraction>',
        'when to kill, as a fraction of the interval after a checkpoint completes',
        String(FAILOVER_DEFAULTS.phase),
      )
      .option('--kind <kind>', 'job kind: container (runc) or process (criu)', FAILOVER_DEFAULTS.kind),
  ).action(
    action(async (o: FailoverFlags) =>
      import('../../../bench/failover.ts').then(async (m) =>
        finish(await m.runFailoverBench(failoverOptions(o)), o, m.failoverChart),
      ),
    ),
  );

  withOutput(
    bench
      .command('metadata')
      .description(
        "dedup lookups and commits per second at a manager holding a large chunk index, and the manager's memory and disk per chunk (always a fresh local manager process)",
      )
      .option('--chunks <n>', 'chunks in the index', String(METADATA_DEFAULTS.chunks))
      .option('--batch <list>', 'hashes per PrepareChunks call', METADATA_DEFAULTS.batches.join(','))
      .option('--in-flight <list>', 'calls in flight', METADATA_DEFAULTS.inFlight.join(','))
      .option('--seconds <s>', 'how long each rate is measured', String(METADATA_DEFAULTS.seconds))
      .option(
        '--commit-refs <n>',
        'chunk references per file in the commit measurement',
        String(METADATA_DEFAULTS.commitRefs),
      ),
  ).action(
    action(async (o: MetadataFlags) =>
      import('../../../bench/metadata.ts').then(async (m) =>
        finish(await m.runMetadataBench(metadataOptions(o)), o, m.metadataChart),
      ),
    ),
  );

  bench
    .command('startup')
    .description(
      'how long `stdchk --help` and `stdchk ls /` (against a running manager) take, from the built JavaScript and from the source, vs `node -e 0` in the same run',
    )
    .option('--runs <n>', 'runs of each command (the median is reported)', '10')
    .option('--dir <dir>', 'work folder for the manager (default: a temporary folder, removed)')
    .option('--json', 'print the report as JSON instead of tables')
    .option('--out <file>', 'also write the JSON report to this file')
    .action(
      action(async (o: OutputFlags & { runs: string; dir?: string }) => {
        const runs = int(o.runs, '--runs', 1, 1000);
        const { runStartupBench } = await import('../../../bench/startup.ts');
        await finish(await runStartupBench({ runs, dir: o.dir }), o, () => '');
      }),
    );

  bench
    .command('all')
    .description(
      'run every benchmark at its defaults (the default set of `npm run bench`), writing NAME.json and NAME.svg',
    )
    .option('--out-dir <dir>', 'folder for the JSON reports and SVG charts', 'bench/results')
    .option('--only <list>', 'run only these: write,small,dedup,restore,failover,metadata')
    .option('--quick', 'small sizes, for trying it out on a busy machine (256 MiB, 100k chunks)')
    .option('--json', 'print the reports as one JSON array instead of tables')
    .action(
      action(async (o: { outDir: string; only?: string; quick?: boolean; json?: boolean }) => {
        const all = ['write', 'small', 'dedup', 'restore', 'failover', 'metadata'];
        const only = o.only ? o.only.split(',').map((s) => s.trim()) : all;
        for (const n of only)
          if (!all.includes(n))
            throw bad(`--only: unknown benchmark ${JSON.stringify(n)} (use ${all.join(',')})`);
        const q = !!o.quick;
        const runs: Record<string, () => Promise<[BenchReport, (r: BenchReport) => string]>> = {
          write: async () => [
            await (
              await import('../../../bench/write.ts')
            ).runWriteBench({
              ...WRITE_DEFAULTS,
              ...(q
                ? { sizeBytes: 256 * 1048576, smallSizeBytes: 64 * 1048576, criuBytes: 256 * 1048576 }
                : {}),
            }),
            (await import('../../../bench/write.ts')).writeChart,
          ],
          small: async () => [
            await (
              await import('../../../bench/small.ts')
            ).runSmallBench({ ...SMALL_DEFAULTS, ...(q ? { files: 100 } : {}) }),
            (await import('../../../bench/small.ts')).smallChart,
          ],
          dedup: async () => [
            await (
              await import('../../../bench/dedup.ts')
            ).runDedupBench({ ...DEDUP_DEFAULTS, ...(q ? { memoryBytes: 128 * 1048576 } : {}) }),
            (await import('../../../bench/dedup.ts')).dedupChart,
          ],
          restore: async () => [
            await (
              await import('../../../bench/restore.ts')
            ).runRestoreBench({ ...RESTORE_DEFAULTS, ...(q ? { memoryBytes: 256 * 1048576 } : {}) }),
            (await import('../../../bench/restore.ts')).restoreChart,
          ],
          failover: async () => [
            await (
              await import('../../../bench/failover.ts')
            ).runFailoverBench({ ...FAILOVER_DEFAULTS, ...(q ? { intervals: [2, 5] } : {}) }),
            (await import('../../../bench/failover.ts')).failoverChart,
          ],
          metadata: async () => [
            await (
              await import('../../../bench/metadata.ts')
            ).runMetadataBench({ ...METADATA_DEFAULTS, ...(q ? { chunks: 100_000 } : {}) }),
            (await import('../../../bench/metadata.ts')).metadataChart,
          ],
        };
        const reports: BenchReport[] = [];
        for (const n of only) {
          const [report, chart] = await runs[n]!();
          reports.push(report);
          writeJson(path.join(o.outDir, `${n}.json`), report);
          writeSvg(path.join(o.outDir, `${n}.svg`), chart(report));
          if (!o.json) printReport(report);
        }
        if (o.json) printJson(reports);
      }),
    );
}
