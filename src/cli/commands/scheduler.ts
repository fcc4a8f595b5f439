import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { action, printJson, printTable } from '../output.ts';
import { runUntilSignalled, startHealth } from '../daemon.ts';
import {
  DEFAULT_UP_DIR,
  addDaemonCredentialOptions,
  addPlaintextOption,
  addTlsOptions,
  checkListen,
  checkListenSecurity,
  preparePrivateFolder,
  privateUmask,
  requireCredentials,
  resolveGridCredentials,
} from '../common.ts';
import { describeCredentials } from '../../rpc/credentials.ts';
import type { ClusterCredentials, CredentialFlags } from '../../rpc/credentials.ts';
import { formatSize, parseDuration } from '../../config/units.ts';
import { StdchkError, connectionFailure } from '../../errors/index.ts';
import type { SchedulerClient } from '../../rpc/index.ts';
import type * as RpcModule from '../../rpc/index.ts';
import type { JobStatus__Output } from '../../generated/stdchk/v1/JobStatus.ts';
import { parseJobFile } from '../../jobs/spec.ts';
import { JOB_STATES } from '../../scheduler/lifecycle.ts';
import { DEFAULT_JOB_USER, JobUserPolicy } from '../../jobs/users.ts';
import { DEFAULT_CONTAINER_ID_MAP, parseContainerUserns } from '../../workers/runtime/work-dir.ts';
import { daemonRegistry } from '../../metrics/index.ts';
import { schedulerMetrics } from '../../metrics/scheduler.ts';
import { workerMetrics } from '../../metrics/worker.ts';
import {
  addHttpOptions,
  addMetricsOptions,
  checkListenerFlags,
  dashboardListener,
  metricsListener,
  withListeners,
} from '../listeners.ts';
import type { HttpFlags, MetricsFlags } from '../listeners.ts';
import { statusJson } from './status.ts';

// ---- shared ------------------------------------------------------------------

interface SchedulerFlags extends CredentialFlags {
  scheduler?: string;
}

function addSchedulerClientOptions(cmd: Command): Command {
  cmd
    .option(
      '--scheduler <addr>',
      'scheduler address HOST:PORT (default: $STDCHK_SCHEDULER, else the grid of `stdchk up` in ./.stdchk)',
    )
    .option('--secret-file <file>', 'cluster secret (default: $STDCHK_SECRET_FILE, else ./.stdchk/secret)');
  return addTlsOptions(cmd, ', else ./.stdchk/tls');
}

/** Scheduler address and credentials from flags, environment, or a local `stdchk up` grid, in that order. */
function resolveSchedulerConfig(flags: SchedulerFlags): { address: string; creds: ClusterCredentials } {
  let address = flags.scheduler ?? process.env.STDCHK_SCHEDULER;
  let fromGrid = false;
  const upAddr = path.join(DEFAULT_UP_DIR, 'scheduler.addr');
  if (!address && existsSync(upAddr)) {
    address = readFileSync(upAddr, 'utf8').trim();
    fromGrid = true;
  }
  if (!address) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      'no scheduler address: pass --scheduler HOST:PORT or set STDCHK_SCHEDULER',
    );
  }
  return { address, creds: resolveGridCredentials(flags, fromGrid) };
}

/** The gRPC layer, loaded by the commands that call the scheduler (not by `--help`). */
type Rpc = typeof RpcModule;

async function withScheduler<T>(
  flags: SchedulerFlags,
  fn: (c: SchedulerClient, rpc: Rpc) => Promise<T>,
): Promise<T> {
  const { address, creds } = resolveSchedulerConfig(flags);
  const rpc = await import('../../rpc/index.ts');
  const client = rpc.connectScheduler(address, creds);
  try {
    return await fn(client, rpc);
  } catch (e) {
    const down =
      e instanceof StdchkError && e.code === 'UNAVAILABLE' ? connectionFailure(e.message) : undefined;
    if (down)
      throw new StdchkError('UNAVAILABLE', `scheduler at ${address} is not reachable: ${down}`, { cause: e });
    throw e;
  } finally {
    client.close();
  }
}

function parseSlots(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `--slots must be a whole number from 1 to 1024, not ${JSON.stringify(value)}`,
    );
  }
  return n;
}

const iso = (ms: number): string | null => (ms > 0 ? new Date(ms).toISOString() : null);

/** `--allow-users` and `--default-user`: give the scheduler and every worker the same. */
const ALLOW_USERS: [string, string, string] = [
  '--allow-users <list>',
  'users a job file may name besides the default, comma-separated: names, uids, uid ranges like 10000-19999 (root only if listed)',
  '',
];
const DEFAULT_USER: [string, string, string] = [
  '--default-user <user>',
  'who a job that names no user runs as: a name, uid or uid:gid',
  DEFAULT_JOB_USER,
];

/** The job-user policy of the flags; the default user must exist on this host. */
async function userPolicy(opts: { allowUsers: string; defaultUser: string }): Promise<JobUserPolicy> {
  const policy = new JobUserPolicy({ allow: opts.allowUsers, defaultUser: opts.defaultUser });
  await policy.resolve(undefined);
  return policy;
}

/** The stable `stdchk job --json` shape (also each element of `stdchk jobs --json`). */
export function jobJson(j: JobStatus__Output) {
  let spec: unknown = null;
  try {
    spec = JSON.parse(j.specJson);
  } catch {
    // leave null
  }
  const iv = j.interval;
  return {
    id: j.id,
    name: j.name,
    kind: j.kind,
    state: j.state,
    activity: j.activity || null,
    worker: j.worker || null,
    epoch: j.epoch,
    checkpoints: j.checkpoints.map((c) => ({
      seq: c.seq,
      completedAt: iso(c.completedAtMs),
      seconds: c.seconds,
      bytes: c.bytes,
      newBytes: c.newBytes,
      worker: c.worker,
    })),
    restores: j.restores.map((r) => ({
      fromSeq: r.fromSeq,
      worker: r.worker,
      at: iso(r.atMs),
      seconds: r.seconds,
      fromWorker: r.fromWorker || null,
      reason: r.reason,
    })),
    exitCode: j.exitCode ?? null,
    interval: {
      seconds: iv?.seconds ?? 0,
      policy: iv?.policy ?? '',
      checkpointCost: iv && iv.checkpointCost > 0 ? iv.checkpointCost : null,
      mtbf: iv && iv.mtbf > 0 ? iv.mtbf : null,
      mtbfSource: iv?.mtbfSource || null,
      youngSeconds: iv && iv.youngSeconds > 0 ? iv.youngSeconds : null,
      reason: iv?.reason ?? '',
    },
    error: j.error || null,
    submittedAt: iso(j.submittedAtMs),
    startedAt: iso(j.startedAtMs),
    finishedAt: iso(j.finishedAtMs),
    lastCheckpointAt: iso(j.lastCheckpointAtMs),
    lastCheckpointError: j.lastCheckpointError || null,
    checkpointsTaken: j.checkpointsTaken,
    checkpointsDeleted: j.checkpointsDeleted,
    keep: j.keep,
    spec,
  };
}

const secs = (s: number) =>
  s >= 100 ? `${s.toFixed(0)} s` : s >= 1 ? `${s.toFixed(1)} s` : `${s.toFixed(3)} s`;

function printJob(j: ReturnType<typeof jobJson>): void {
  const out: string[] = [];
  out.push(`job ${j.id} (${j.name}, ${j.kind})`);
  const where = j.worker ? ` on ${j.worker} (epoch ${j.epoch})` : '';
  out.push(`state:        ${j.state}${j.activity ? `, ${j.activity}` : ''}${where}`);
  out.push(
    `submitted:    ${j.submittedAt ?? '-'}   started: ${j.startedAt ?? '-'}   finished: ${j.finishedAt ?? '-'}`,
  );
  if (j.exitCode !== null) out.push(`exit code:    ${j.exitCode}`);
  if (j.error) out.push(`error:        ${j.error}`);
  const iv = j.interval;
  out.push(
    `interval:     ${iv.seconds > 0 ? secs(iv.seconds) : 'none'} (${iv.policy}; C = ${iv.checkpointCost !== null ? secs(iv.checkpointCost) : 'not measured'}, ` +
      `M = ${iv.mtbf !== null ? `${secs(iv.mtbf)}${iv.mtbfSource ? ` ${iv.mtbfSource}` : ''}` : '-'})`,
  );
  out.push(`              ${iv.reason}`);
  out.push(
    `checkpoints:  ${j.checkpoints.length} kept (keep ${j.keep}), ${j.checkpointsTaken} taken, ${j.checkpointsDeleted} deleted` +
      (j.lastCheckpointError ? `; last error: ${j.lastCheckpointError}` : ''),
  );
  process.stdout.write(out.join('\n') + '\n');
  if (j.checkpoints.length) {
    process.stdout.write('\n');
    printTable(
      ['SEQ', 'COMPLETED', 'SECONDS', 'SIZE', 'NEW', 'WORKER'],
      j.checkpoints.map((c) => [
        c.seq,
        c.completedAt ?? '-',
        c.seconds.toFixed(3),
        formatSize(c.bytes),
        formatSize(c.newBytes),
        c.worker,
      ]),
    );
  }
  if (j.restores.length) {
    process.stdout.write('\nrestores:\n');
    printTable(
      ['FROM', 'ON', 'AT', 'SECONDS', 'AFTER', 'REASON'],
      j.restores.map((r) => [
        r.fromSeq > 0 ? `checkpoint ${r.fromSeq}` : 'the beginning',
        r.worker,
        r.at ?? '-',
        r.seconds.toFixed(3),
        r.fromWorker ?? '-',
        r.reason,
      ]),
    );
  }
}

// ---- commands ------------------------------------------------------------------

export function registerSchedulerCommands(program: Command): void {
  const schedulerCmd = program
    .command('scheduler')
    .description('run the grid scheduler (jobs, placement, failure detection, checkpoint policy)')
    .requiredOption('--data <dir>', 'folder for the job database (LevelDB)')
    .option('--listen <host:port>', 'address to serve gRPC on (port 0 picks a free one)', '127.0.0.1:7080')
    .option('--manager <addr>', 'storage manager HOST:PORT: reads job logs and deletes old checkpoints there')
    .option('--checkpoints <dir>', 'instead of --manager: a local folder that is the storage root (a mount)')
    .option('--heartbeat-timeout <duration>', 'declare a silent worker lost after this long', '10s')
    .option('--heartbeat-interval <duration>', 'how often workers heartbeat', '1s')
    .option(
      '--retention-grace <duration>',
      'delete checkpoints of finished or cancelled jobs after this long',
      '60s',
    )
    .option('--default-mtbf <duration>', 'MTBF for "auto" intervals before any failure is observed', '24h')
    .option('--address-file <file>', 'write the bound HOST:PORT to this file once serving')
    .option(...ALLOW_USERS)
    .option(...DEFAULT_USER)
    .action(
      action(
        async (
          opts: {
            allowUsers: string;
            defaultUser: string;
            data: string;
            listen: string;
            manager?: string;
            checkpoints?: string;
            secretFile?: string;
            tlsCa?: string;
            tlsCert?: string;
            tlsKey?: string;
            insecure?: boolean;
            insecurePlaintext?: boolean;
            heartbeatTimeout: string;
            heartbeatInterval: string;
            retentionGrace: string;
            defaultMtbf: string;
            addressFile?: string;
          } & MetricsFlags &
            HttpFlags,
        ) => {
          const creds = requireCredentials(opts, 'the scheduler');
          const listen = checkListen(opts.listen);
          checkListenSecurity(listen, creds, opts, 'the scheduler');
          checkListenerFlags(opts, creds.tls);
          const registry = opts.metricsListen !== undefined ? daemonRegistry('scheduler') : undefined;
          if (!opts.manager && !opts.checkpoints) {
            throw new StdchkError(
              'INVALID_ARGUMENT',
              'the scheduler needs the storage: pass --manager HOST:PORT (or --checkpoints DIR)',
            );
          }
          if (opts.checkpoints && !isDir(opts.checkpoints)) {
            throw new StdchkError('INVALID_ARGUMENT', `--checkpoints ${opts.checkpoints} is not a folder`);
          }
          const heartbeatTimeoutMs = parseDuration(opts.heartbeatTimeout, '--heartbeat-timeout');
          const heartbeatIntervalMs = parseDuration(opts.heartbeatInterval, '--heartbeat-interval');
          if (heartbeatIntervalMs <= 0 || heartbeatTimeoutMs < 3 * heartbeatIntervalMs) {
            throw new StdchkError(
              'INVALID_ARGUMENT',
              '--heartbeat-timeout must be at least 3 times --heartbeat-interval',
            );
          }
          const users = await userPolicy(opts);
          const { createLogger } = await import('../../logging/index.ts');
          const { startScheduler } = await import('../../scheduler/daemon.ts');
          const logger = createLogger('scheduler');
          privateUmask();
          preparePrivateFolder(opts.data, 'the scheduler data folder', logger);
          const handle = await startScheduler({
            dataDir: opts.data,
            listen,
            ...(creds.secret ? { secret: creds.secret } : {}),
            ...(creds.tls ? { tls: creds.tls } : {}),
            logger,
            ...(opts.checkpoints
              ? { checkpointsDir: opts.checkpoints }
              : { managerAddress: opts.manager as string }),
            heartbeatTimeoutMs,
            heartbeatIntervalMs,
            retentionGraceMs: parseDuration(opts.retentionGrace, '--retention-grace'),
            defaultMtbfSeconds: parseDuration(opts.defaultMtbf, '--default-mtbf') / 1000,
            users,
            ...(registry ? { metrics: schedulerMetrics(registry) } : {}),
          });
          // The dashboard shows the storage too, read from the manager (when the scheduler has one).
          const storage =
            opts.httpListen !== undefined && opts.manager
              ? new (await import('../../client/storage-client.ts')).StorageClient({
                  managerAddress: opts.manager,
                  secret: creds.secret,
                  tls: creds.tls,
                })
              : undefined;
          const dashboard = dashboardListener(opts, () => ({
            servedBy: 'scheduler',
            scheduler: handle.scheduler,
            ...(storage ? { storage: async () => statusJson(await storage.status()) } : {}),
          }));
          const daemon = await withListeners(
            {
              stop: async () => {
                await handle.stop();
                storage?.close();
              },
            },
            [metricsListener(opts, registry), dashboard],
            creds.tls,
            logger,
          );
          logger.info(
            {
              address: handle.address,
              data: opts.data,
              auth: describeCredentials(creds),
              jobUsers: users.describe(),
            },
            'scheduler serving',
          );
          if (opts.addressFile) writeFileSync(opts.addressFile, handle.address + '\n');
          await runUntilSignalled('scheduler', logger, daemon);
        },
      ),
    );

  addDaemonCredentialOptions(schedulerCmd);
  addPlaintextOption(schedulerCmd);
  addMetricsOptions(schedulerCmd);
  addHttpOptions(schedulerCmd);

  const workerCmd = program
    .command('worker')
    .description(
      'run jobs the scheduler assigns: containers (runc) and processes (criu), checkpointed into the mount',
    )
    .requiredOption('--scheduler <addr>', 'scheduler address HOST:PORT')
    .requiredOption('--mount <dir>', 'the checkpoint storage as a folder (where `stdchk mount` mounted it)')
    .requiredOption('--work <dir>', 'local folder for unpacked images, job state and CRIU work files')
    .option('--id <name>', 'worker name (default: saved in --work, else HOSTNAME-XXXX)')
    .option('--slots <n>', 'jobs this worker runs at once', '1')
    .option('--host <name>', 'host name reported to the scheduler', os.hostname())
    .option(...ALLOW_USERS)
    .option(...DEFAULT_USER)
    .option(
      '--container-userns <base|off>',
      'containers run in a user namespace: their ids 0-65535 are host ids BASE+0..65535 (the same on every worker), or "off"',
      String(DEFAULT_CONTAINER_ID_MAP.base),
    )
    .option('--health-listen <host:port>', 'serve GET /healthz over HTTP here (200 while running)')
    .action(
      action(
        async (
          opts: {
            healthListen?: string;
            allowUsers: string;
            defaultUser: string;
            containerUserns: string;
            scheduler: string;
            mount: string;
            work: string;
            id?: string;
            slots: string;
            host: string;
            secretFile?: string;
            tlsCa?: string;
            tlsCert?: string;
            tlsKey?: string;
            insecure?: boolean;
          } & MetricsFlags,
        ) => {
          const creds = requireCredentials(opts, 'a worker');
          checkListenerFlags(opts, creds.tls);
          const registry = opts.metricsListen !== undefined ? daemonRegistry('worker') : undefined;
          const metrics = registry ? workerMetrics(registry) : undefined;
          const slots = parseSlots(opts.slots);
          const users = await userPolicy(opts);
          const containerIds = parseContainerUserns(opts.containerUserns);
          if (!isDir(opts.mount))
            throw new StdchkError(
              'INVALID_ARGUMENT',
              `--mount ${opts.mount} is not a folder (is the storage mounted?)`,
            );
          const { createLogger } = await import('../../logging/index.ts');
          const { startWorker } = await import('../../workers/agent.ts');
          const logger = createLogger('worker');
          const healthListener = await startHealth(opts.healthListen, 'worker', logger);
          const handle = await startWorker({
            schedulerAddress: opts.scheduler,
            mount: path.resolve(opts.mount),
            workDir: path.resolve(opts.work),
            ...(opts.id ? { id: opts.id } : {}),
            slots,
            secret: creds.secret,
            tls: creds.tls,
            host: opts.host,
            logger,
            users,
            containerIds,
            ...(metrics ? { events: metrics.events } : {}),
          });
          metrics?.attach(handle);
          const health = () => {
            const ok = handle.leaseValid();
            return {
              ok,
              detail: ok ? 'registered, lease held' : 'no valid lease from the scheduler',
              id: handle.id,
              jobs: handle.jobs().map((j) => ({ job: j.jobId, phase: j.phase })),
            };
          };
          const daemon = await withListeners(
            handle,
            [metricsListener(opts, registry, health)],
            creds.tls,
            logger,
          );
          logger.info(
            {
              id: handle.id,
              scheduler: opts.scheduler,
              mount: opts.mount,
              slots,
              auth: describeCredentials(creds),
              jobUsers: users.describe(),
              containerUserns: containerIds ? `${containerIds.base}+${containerIds.size}` : 'off',
            },
            'worker running',
          );
          await runUntilSignalled('worker', logger, daemon, healthListener);
        },
      ),
    );
  addDaemonCredentialOptions(workerCmd);
  addMetricsOptions(workerCmd, '/metrics and /healthz');

  addSchedulerClientOptions(
    program
      .command('submit')
      .description('submit a job file (JSON); prints the job id')
      .argument('<jobfile>', 'the job file, e.g. examples/counter-container.json')
      .option('--json', 'print the job status as JSON (the `stdchk job --json` shape)'),
  ).action(
    action(async (file: string, opts: SchedulerFlags & { json?: boolean }) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new StdchkError('INVALID_ARGUMENT', `cannot read job file ${file}: ${(e as Error).message}`);
      }
      parseJobFile(text); // the same check the scheduler makes, before dialling it
      const status = await withScheduler(opts, (c, { unary }) => unary(c, 'submitJob', { specJson: text }));
      if (opts.json) printJson(jobJson(status));
      else process.stdout.write(`${status.id}\n`);
    }),
  );

  addSchedulerClientOptions(
    program
      .command('jobs')
      .description('list jobs')
      .option('--state <states>', `only these states, comma-separated (${JOB_STATES.join(', ')})`)
      .option('--json', 'print a JSON array of jobs (each in the `stdchk job --json` shape)'),
  ).action(
    action(async (opts: SchedulerFlags & { json?: boolean; state?: string }) => {
      const states = opts.state
        ? opts.state
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : [];
      const reply = await withScheduler(opts, (c, { unary }) => unary(c, 'listJobs', { states }));
      const jobs = reply.jobs.map(jobJson);
      if (opts.json) {
        printJson(jobs);
        return;
      }
      if (jobs.length === 0) {
        process.stdout.write('no jobs\n');
        return;
      }
      printTable(
        ['ID', 'NAME', 'KIND', 'STATE', 'WORKER', 'CHECKPOINTS', 'LAST', 'INTERVAL', 'EXIT'],
        jobs.map((j) => [
          j.id,
          j.name,
          j.kind,
          j.state + (j.activity ? ` (${j.activity})` : ''),
          j.worker ?? '-',
          `${j.checkpoints.length}/${j.checkpointsTaken}`,
          j.checkpoints.length ? String(j.checkpoints[j.checkpoints.length - 1]?.seq) : '-',
          j.interval.seconds > 0 ? `${secs(j.interval.seconds)} ${j.interval.policy}` : j.interval.policy,
          j.exitCode ?? '-',
        ]),
      );
    }),
  );

  addSchedulerClientOptions(
    program
      .command('job')
      .description('show a job: state, worker, checkpoints, restores, exit code, how its interval was chosen')
      .argument('<id>', 'job id')
      .option(
        '--json',
        'print JSON: {id, name, state, worker, checkpoints: [{seq, completedAt, seconds, bytes, newBytes}], restores: [{fromSeq, worker, at}], exitCode, interval: {seconds, policy, checkpointCost, mtbf}, ...}',
      ),
  ).action(
    action(async (id: string, opts: SchedulerFlags & { json?: boolean }) => {
      const status = await withScheduler(opts, (c, { unary }) => unary(c, 'getJob', { id }));
      if (opts.json) printJson(jobJson(status));
      else printJob(jobJson(status));
    }),
  );

  addSchedulerClientOptions(
    program
      .command('cancel')
      .description('cancel a job: its worker stops it; its checkpoints are deleted after the retention grace')
      .argument('<id>', 'job id')
      .option('--json', 'print the job status as JSON'),
  ).action(
    action(async (id: string, opts: SchedulerFlags & { json?: boolean }) => {
      const status = await withScheduler(opts, (c, { unary }) => unary(c, 'cancelJob', { id }));
      if (opts.json) printJson(jobJson(status));
      else process.stdout.write(`cancelled ${status.id}\n`);
    }),
  );

  addSchedulerClientOptions(
    program
      .command('logs')
      .description("print a job's output (kept in the storage, so it survives migrations)")
      .argument('<id>', 'job id')
      .option('-f, --follow', 'keep printing new output until the job ends'),
  ).action(
    action(async (id: string, opts: SchedulerFlags & { follow?: boolean }) => {
      await withScheduler(opts, async (c, { unary }) => {
        let offset = 0;
        for (;;) {
          const r = await unary(c, 'jobLogs', { id, offset, maxBytes: 0 });
          if (r.data.length > 0) {
            await new Promise<void>((resolve) => process.stdout.write(r.data, () => resolve()));
            offset += r.data.length;
            continue;
          }
          if (!opts.follow || (r.finished && offset >= r.size)) return;
          await sleep(500);
        }
      });
    }),
  );

  addSchedulerClientOptions(
    program
      .command('workers')
      .description('list the workers the scheduler knows')
      .option(
        '--json',
        'print {"workers": [{id, host, alive, slots, jobs, lastHeartbeatAt, kinds}], "workerFailures", "workerHours"}',
      ),
  ).action(
    action(async (opts: SchedulerFlags & { json?: boolean }) => {
      const r = await withScheduler(opts, (c, { unary }) => unary(c, 'listWorkers', {}));
      const workers = r.workers.map((w) => ({
        id: w.id,
        host: w.host,
        alive: w.alive,
        slots: w.slots,
        jobs: w.jobs,
        lastHeartbeatAt: iso(w.lastHeartbeatMs),
        registeredAt: iso(w.registeredAtMs),
        kinds: w.kinds,
      }));
      if (opts.json) {
        printJson({ workers, workerFailures: r.workerFailures, workerHours: r.workerSeconds / 3600 });
        return;
      }
      printTable(
        ['ID', 'HOST', 'STATE', 'SLOTS', 'JOBS', 'KINDS'],
        workers.map((w) => [
          w.id,
          w.host,
          w.alive ? 'alive' : 'lost',
          w.slots,
          w.jobs.join(',') || '-',
          w.kinds.join(','),
        ]),
      );
      process.stdout.write(
        `\n${r.workerFailures} worker failure(s) in ${(r.workerSeconds / 3600).toFixed(2)} worker-hours\n`,
      );
    }),
  );
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
