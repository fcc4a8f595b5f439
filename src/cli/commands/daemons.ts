import { writeFileSync } from 'node:fs';
import os from 'node:os';
import type { Command } from 'commander';
import { action } from '../output.ts';
import { runUntilSignalled } from '../daemon.ts';
import {
  addDaemonCredentialOptions,
  addPlaintextOption,
  checkListen,
  checkListenSecurity,
  preparePrivateFolder,
  privateUmask,
  requireCredentials,
} from '../common.ts';
import { describeCredentials } from '../../rpc/credentials.ts';
import { parseDuration, parseSize } from '../../config/units.ts';
import { StdchkError } from '../../errors/index.ts';
import { daemonRegistry } from '../../metrics/index.ts';
import { managerMetrics } from '../../metrics/manager.ts';
import { benefactorMetrics } from '../../metrics/benefactor.ts';
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

export function registerDaemonCommands(program: Command): void {
  const manager = program
    .command('manager')
    .description('run the metadata manager (namespace, versions, chunk index, benefactor registry)')
    .requiredOption('--data <dir>', 'folder for the metadata database (LevelDB)')
    .option('--listen <host:port>', 'address to serve gRPC on (port 0 picks a free one)', '127.0.0.1:7070')
    .option('--heartbeat-timeout <duration>', 'declare a silent benefactor lost after this long', '10s')
    .option('--gc-grace <duration>', 'delete unreferenced chunks after this long', '60s')
    .option(
      '--upload-grace <duration>',
      'keep uploaded chunks no commit references yet this long (default: the larger of --gc-grace and 1h)',
    )
    .option('--lease-ttl <duration>', 'how long a reader keeps an old version alive without renewing', '60s')
    .option('--reconcile-interval <duration>', 'how often each benefactor inventory is reconciled', '5m')
    .option(
      '--require-encryption',
      'refuse writers that do not encrypt chunks with the cluster key (their --encryption-key-file)',
    )
    .option('--address-file <file>', 'write the bound HOST:PORT to this file once serving')
    .action(
      action(
        async (
          opts: {
            data: string;
            listen: string;
            secretFile?: string;
            tlsCa?: string;
            tlsCert?: string;
            tlsKey?: string;
            insecure?: boolean;
            insecurePlaintext?: boolean;
            heartbeatTimeout: string;
            gcGrace: string;
            uploadGrace?: string;
            leaseTtl: string;
            reconcileInterval: string;
            requireEncryption?: boolean;
            addressFile?: string;
          } & MetricsFlags &
            HttpFlags,
        ) => {
          const creds = requireCredentials(opts, 'the manager');
          const listen = checkListen(opts.listen);
          checkListenSecurity(listen, creds, opts, 'the manager');
          checkListenerFlags(opts, creds.tls);
          const registry = opts.metricsListen !== undefined ? daemonRegistry('manager') : undefined;
          const { createLogger } = await import('../../logging/index.ts');
          const { startManager } = await import('../../manager/daemon.ts');
          const logger = createLogger('manager');
          privateUmask();
          preparePrivateFolder(opts.data, 'the manager data folder', logger);
          const handle = await startManager({
            dataDir: opts.data,
            listen,
            ...(creds.secret ? { secret: creds.secret } : {}),
            ...(creds.tls ? { tls: creds.tls } : {}),
            logger,
            heartbeatTimeoutMs: parseDuration(opts.heartbeatTimeout, '--heartbeat-timeout'),
            gcGraceMs: parseDuration(opts.gcGrace, '--gc-grace'),
            ...(opts.uploadGrace !== undefined
              ? { uploadGraceMs: parseDuration(opts.uploadGrace, '--upload-grace') }
              : {}),
            leaseTtlMs: parseDuration(opts.leaseTtl, '--lease-ttl'),
            reconcileIntervalMs: parseDuration(opts.reconcileInterval, '--reconcile-interval'),
            ...(opts.requireEncryption ? { requireEncryption: true } : {}),
            ...(registry ? { metrics: (store) => managerMetrics(registry, store) } : {}),
          });
          const dashboard = dashboardListener(opts, () => ({
            servedBy: 'manager',
            storage: async () => statusJson(handle.store.status()),
          }));
          const daemon = await withListeners(
            handle,
            [metricsListener(opts, registry), dashboard],
            creds.tls,
            logger,
          );
          logger.info(
            { address: handle.address, data: opts.data, auth: describeCredentials(creds) },
            'manager serving',
          );
          if (opts.addressFile) writeFileSync(opts.addressFile, handle.address + '\n');
          await runUntilSignalled('manager', logger, daemon);
        },
      ),
    );

  addDaemonCredentialOptions(manager);
  addPlaintextOption(manager);
  addMetricsOptions(manager);
  addHttpOptions(manager);

  const benefactor = program
    .command('benefactor')
    .description('donate disk: store chunks in a local folder for the cluster (or: benefactor drain ID)')
    // Required, but checked in the action: commander would demand them of `benefactor drain` too.
    .option('--manager <addr>', 'manager address HOST:PORT (required)')
    .option('--store <dir>', 'folder to keep chunks in (required)')
    .option('--capacity <size>', 'most disk space to use, e.g. 10GiB (required)')
    .option('--listen <host:port>', 'address to serve gRPC on (port 0 picks a free one)', '127.0.0.1:0')
    .option('--advertise <host:port>', 'address peers should use, if not the bound one')
    .option(
      '--data-listen <host:port>',
      "address of the framed chunk stream (default: the --listen host, a free port; 'none': gRPC only)",
    )
    .option(
      '--data-advertise <host:port>',
      'address clients should dial for the chunk stream (default: the --advertise host, the bound port)',
    )
    .option(
      '--data-socket <path>',
      "Unix socket of the chunk stream for clients on this host (default: STORE/socket/data.sock; 'none': TCP only)",
    )
    .option('--host <name>', 'host name used to spread replicas over machines', os.hostname())
    .option('--address-file <file>', 'write the bound HOST:PORT to this file once serving')
    .option(
      '--scrub-interval <duration>',
      'verify every stored chunk this long after the last complete pass (0 turns it off)',
      '24h',
    )
    .option('--scrub-rate <size>', 'most bytes per second a scrub reads', '16MiB')
    .action(
      action(
        async (
          opts: {
            manager: string;
            store: string;
            capacity: string;
            listen: string;
            advertise?: string;
            dataListen?: string;
            dataAdvertise?: string;
            dataSocket?: string;
            host: string;
            secretFile?: string;
            tlsCa?: string;
            tlsCert?: string;
            tlsKey?: string;
            insecure?: boolean;
            insecurePlaintext?: boolean;
            addressFile?: string;
            scrubInterval: string;
            scrubRate: string;
          } & MetricsFlags,
        ) => {
          for (const [flag, value] of [
            ['--manager <addr>', opts.manager],
            ['--store <dir>', opts.store],
            ['--capacity <size>', opts.capacity],
          ] as const)
            if (!value) throw new StdchkError('INVALID_ARGUMENT', `required option '${flag}' not specified`);
          const creds = requireCredentials(opts, 'a benefactor');
          const listen = checkListen(opts.listen);
          checkListenSecurity(listen, creds, opts, 'a benefactor');
          const dataListen =
            opts.dataListen === undefined || opts.dataListen === 'none'
              ? opts.dataListen
              : checkListen(opts.dataListen, '--data-listen');
          if (dataListen && dataListen !== 'none')
            checkListenSecurity(dataListen, creds, opts, 'a benefactor');
          checkListenerFlags(opts, creds.tls);
          const registry = opts.metricsListen !== undefined ? daemonRegistry('benefactor') : undefined;
          const scrubIntervalMs = parseDuration(opts.scrubInterval, '--scrub-interval');
          const scrubRateBytesPerSec = parseSize(opts.scrubRate, '--scrub-rate');
          if (scrubRateBytesPerSec <= 0)
            throw new StdchkError('INVALID_ARGUMENT', '--scrub-rate must be above 0');
          const capacityBytes = parseSize(opts.capacity, '--capacity');
          if (capacityBytes <= 0) throw new StdchkError('INVALID_ARGUMENT', '--capacity must be above 0');
          const { createLogger } = await import('../../logging/index.ts');
          const { startBenefactor } = await import('../../benefactor/daemon.ts');
          const logger = createLogger('benefactor');
          privateUmask();
          preparePrivateFolder(opts.store, 'the chunk store', logger);
          const handle = await startBenefactor({
            managerAddress: opts.manager,
            storeDir: opts.store,
            capacityBytes,
            listen,
            ...(opts.advertise ? { advertise: opts.advertise } : {}),
            ...(dataListen ? { dataListen } : {}),
            ...(opts.dataSocket ? { dataSocket: opts.dataSocket } : {}),
            ...(opts.dataAdvertise
              ? { dataAdvertise: checkListen(opts.dataAdvertise, '--data-advertise') }
              : {}),
            host: opts.host,
            ...(creds.secret ? { secret: creds.secret } : {}),
            ...(creds.tls ? { tls: creds.tls } : {}),
            logger,
            scrubIntervalMs,
            scrubRateBytesPerSec,
            ...(registry ? { metrics: benefactorMetrics(registry) } : {}),
          });
          const daemon = await withListeners(handle, [metricsListener(opts, registry)], creds.tls, logger);
          logger.info(
            {
              id: handle.id,
              address: handle.address,
              dataAddress: handle.dataAddress || null,
              store: opts.store,
              capacityBytes,
              auth: describeCredentials(creds),
            },
            'benefactor serving',
          );
          if (opts.addressFile) writeFileSync(opts.addressFile, handle.address + '\n');
          await runUntilSignalled('benefactor', logger, daemon);
        },
      ),
    );
  addDaemonCredentialOptions(benefactor);
  addPlaintextOption(benefactor);
  addMetricsOptions(benefactor);
}
