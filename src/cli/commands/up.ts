import { writeFileSync, rmSync, mkdtempSync, createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { action, printJson } from '../output.ts';
import { DEFAULT_UP_DIR } from '../common.ts';
import { LocalGrid } from '../../grid/local-grid.ts';
import { StdchkError, errorMessage } from '../../errors/index.ts';
import { formatSize, parseSize } from '../../config/units.ts';
import { statusJson } from './status.ts';
import { checkHttpListen } from '../../metrics/http.ts';

function parseCount(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new StdchkError('INVALID_ARGUMENT', `${flag} must be from 1 to 64`);
  return n;
}

function parseWorkers(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 64)
    throw new StdchkError('INVALID_ARGUMENT', '--workers must be from 0 to 64');
  return n;
}

export function registerUpCommands(program: Command): void {
  program
    .command('up')
    .description(
      'start a whole grid on this machine: a manager and N benefactors on local folders, and with --workers a scheduler and workers (Ctrl-C stops it)',
    )
    .option('--dir <dir>', 'folder for the grid (secret, metadata, chunks, logs)', DEFAULT_UP_DIR)
    .option('--benefactors <n>', 'number of benefactors', '3')
    .option('--capacity <size>', 'capacity donated by each benefactor', '8GiB')
    .option(
      '--workers <n>',
      'also start a scheduler and N workers, each with its own mount (DIR/mnt-worker-I) and work folder (DIR/worker-I)',
      '0',
    )
    .option(
      '--heartbeat-timeout <duration>',
      'declare a silent benefactor (or worker) lost after this long',
      '10s',
    )
    .option('--gc-grace <duration>', 'delete unreferenced chunks after this long', '60s')
    .option(
      '--tls',
      'also use mutual TLS: a CA and a certificate per role under DIR/tls (clients in this folder find DIR/tls/client.*)',
    )
    .option('--no-secret', 'no shared secret: authenticate with mutual TLS only (needs --tls)')
    .option('--json', 'print the grid (addresses, credential files) as JSON once it is up')
    .option(
      '--http-listen <host:port>',
      'where the web dashboard listens (the scheduler serves it, or the manager without workers)',
      '127.0.0.1:0',
    )
    .option('--mount <path>', 'where to mount the storage (default: DIR/mnt)')
    .option('--no-mount', 'do not mount the storage')
    .action(
      action(
        async (opts: {
          dir: string;
          benefactors: string;
          workers: string;
          capacity: string;
          heartbeatTimeout: string;
          gcGrace: string;
          json?: boolean;
          tls?: boolean;
          secret: boolean;
          mount: string | boolean;
          httpListen: string;
        }) => {
          if (!opts.secret && !opts.tls) {
            throw new StdchkError(
              'INVALID_ARGUMENT',
              '--no-secret needs --tls (a grid needs some credentials)',
            );
          }
          const n = parseCount(opts.benefactors, '--benefactors');
          const nWorkers = parseWorkers(opts.workers);
          parseSize(opts.capacity, '--capacity');
          checkHttpListen(opts.httpListen, undefined, '--http-listen');
          const grid = new LocalGrid({
            metrics: true,
            dashboard: nWorkers > 0 ? 'scheduler' : 'manager',
            dashboardListen: opts.httpListen,
            dir: opts.dir,
            benefactors: n,
            capacity: opts.capacity,
            managerArgs: ['--heartbeat-timeout', opts.heartbeatTimeout, '--gc-grace', opts.gcGrace],
            secret: opts.secret,
            tls: !!opts.tls,
          });
          let stopping = false;
          grid.onExit = (p, code, signal) => {
            if (!stopping)
              process.stderr.write(`stdchk up: ${p.name} exited (${signal ?? `code ${code}`})\n`);
          };
          const stop = async () => {
            if (stopping) return;
            stopping = true;
            rmSync(path.join(grid.dir, 'manager.addr'), { force: true });
            rmSync(path.join(grid.dir, 'scheduler.addr'), { force: true });
            await grid.stop();
            process.exit(0);
          };
          process.on('SIGINT', () => void stop());
          process.on('SIGTERM', () => void stop());
          try {
            await grid.start();
          } catch (e) {
            await grid.stop();
            throw e;
          }
          writeFileSync(path.join(grid.dir, 'manager.addr'), grid.managerAddress + '\n');
          let mountpoint: string | null = null;
          if (opts.mount !== false) {
            const mp = typeof opts.mount === 'string' ? opts.mount : path.join(grid.dir, 'mnt');
            try {
              mountpoint = (await grid.mount(mp, { cacheDir: path.join(grid.dir, 'cache') })).mountpoint;
            } catch (e) {
              process.stderr.write(
                `stdchk up: not mounted (${errorMessage(e)}); the grid runs without a mount\n`,
              );
            }
          }
          const workers: { id: string; mountpoint: string; work: string }[] = [];
          if (nWorkers > 0) {
            try {
              await grid.startScheduler(['--heartbeat-timeout', opts.heartbeatTimeout]);
              for (let i = 0; i < nWorkers; i++) {
                const w = await grid.startWorker(i);
                workers.push({ id: w.id, mountpoint: w.mount.mountpoint, work: w.workDir });
              }
              await grid.waitForWorkers(workers.map((w) => w.id));
            } catch (e) {
              stopping = true;
              rmSync(path.join(grid.dir, 'manager.addr'), { force: true });
              await grid.stop();
              throw e;
            }
            writeFileSync(path.join(grid.dir, 'scheduler.addr'), grid.schedulerAddress + '\n');
          }
          const dashboard = `http://${await grid.dashboardAddress()}/`;
          const metrics: Record<string, string> = {};
          for (const p of grid.processes()) metrics[p.name] = await grid.metricsAddress(p.name);
          // For Prometheus's file_sd_configs: every daemon, labelled with its name and role.
          const targetsFile = path.join(grid.dir, 'prometheus-targets.json');
          writeFileSync(
            targetsFile,
            JSON.stringify(
              Object.entries(metrics).map(([name, address]) => ({
                targets: [address],
                labels: { daemon: name, role: name.replace(/-.*$/, '') },
              })),
              null,
              2,
            ) + '\n',
          );
          if (opts.json) {
            printJson({
              dir: grid.dir,
              managerAddress: grid.managerAddress,
              secretFile: grid.usesSecret ? grid.secretFile : null,
              tls: grid.usesTls ? grid.tlsFiles('client') : null,
              benefactors: n,
              logs: grid.logDir,
              mountpoint,
              schedulerAddress: grid.schedulerAddress || null,
              workers,
              dashboard,
              metrics,
              prometheusTargets: targetsFile,
            });
          } else {
            process.stdout.write(
              `stdchk grid up: manager at ${grid.managerAddress}, ${n} benefactors, data in ${grid.dir}\n` +
                `use it from another shell:\n` +
                `  export ${Object.entries(grid.env())
                  .map(([k, v]) => `${k}=${v}`)
                  .join(' ')}\n` +
                (nWorkers > 0 ? `  export STDCHK_SCHEDULER=${grid.schedulerAddress}\n` : '') +
                `  stdchk put FILE /FILE && stdchk get /FILE COPY && stdchk status\n` +
                (nWorkers > 0
                  ? `scheduler at ${grid.schedulerAddress} with ${nWorkers} worker(s): ${workers.map((w) => `${w.id} (mount ${w.mountpoint})`).join(', ')}\n` +
                    `  stdchk submit JOBFILE && stdchk jobs && stdchk job ID && stdchk logs ID\n` +
                    `  (a job's "rootfs" relative to the storage root, e.g. "images/busybox.tar", is found in every worker's mount)\n`
                  : '') +
                `(run from this folder, stdchk finds the grid in ${opts.dir} by itself)\n` +
                (mountpoint ? `mounted at ${mountpoint}: cp, tar, criu dump -D ... work there\n` : '') +
                `dashboard: ${dashboard}\n` +
                `metrics (Prometheus /metrics): ${Object.entries(metrics)
                  .map(([name, address]) => `${name} ${address}`)
                  .join(', ')}\n` +
                `  (scrape them all with file_sd_configs: ${targetsFile})\n` +
                `logs: ${grid.logDir}; Ctrl-C stops the grid\n`,
            );
          }
          await new Promise(() => undefined);
        },
      ),
    );

  program
    .command('demo')
    .description('start a one-machine grid, store and read back a file, show dedup, then stop')
    .option('--size <size>', 'size of the sample file', '64MiB')
    .option('--keep', 'keep the grid folder afterwards')
    .action(
      action(async (opts: { size: string; keep?: boolean }) => {
        const size = parseSize(opts.size, '--size');
        const dir = mkdtempSync(path.join(os.tmpdir(), 'stdchk-demo-'));
        const say = (s: string) => process.stdout.write(s + '\n');
        const grid = new LocalGrid({ dir, benefactors: 3 });
        const client = () => grid.client();
        try {
          say(`1. starting a manager and 3 benefactors (folders under ${dir}) ...`);
          await grid.start();
          say(`   manager at ${grid.managerAddress}, 3 benefactors alive`);
          const c = client();
          try {
            const sample = path.join(dir, 'sample.bin');
            await writeFile(sample, randomBytes(size));
            say(`2. put a ${formatSize(size)} random file at /demo/sample.bin with 2 replicas`);
            await c.mkdir('/demo', { parents: true });
            const s1 = await c.putFile(sample, '/demo/sample.bin', { replicas: 2 });
            say(
              `   ${s1.chunks} chunks, uploaded ${formatSize(s1.bytesUploaded)} (${formatSize(s1.bytesSent)} with replicas) in ${s1.seconds.toFixed(2)} s`,
            );
            say('3. put the same file again as /demo/copy.bin: dedup finds every chunk');
            const s2 = await c.putFile(sample, '/demo/copy.bin', { replicas: 2 });
            say(`   uploaded ${formatSize(s2.bytesUploaded)} of ${formatSize(s2.bytes)}`);
            const shifted = path.join(dir, 'shifted.bin');
            await writeFile(shifted, Buffer.concat([randomBytes(1024 * 1024), await readAll(sample)]));
            say(
              '4. put a copy with 1 MiB of new data inserted at its start: content-defined chunks resynchronise',
            );
            const s3 = await c.putFile(shifted, '/demo/shifted.bin', { replicas: 2 });
            say(
              `   uploaded ${formatSize(s3.bytesUploaded)} of ${formatSize(s3.bytes)} (${((100 * s3.bytesUploaded) / s3.bytes).toFixed(1)}%)`,
            );
            const back = path.join(dir, 'back.bin');
            say('5. get /demo/sample.bin back and compare');
            const g = await c.getFile('/demo/sample.bin', back);
            const [h1, h2] = await Promise.all([sha256(sample), sha256(back)]);
            if (h1 !== h2) throw new StdchkError('CORRUPT', 'the file read back differs from the original');
            say(
              `   ${formatSize(g.bytes)} read in ${g.seconds.toFixed(2)} s, sha256 identical: ${h1.slice(0, 16)}...`,
            );
            const st = statusJson(await c.status());
            say(
              `6. status: ${st.files} files, ${formatSize(st.logicalBytes)} logical, ${formatSize(st.storedBytes)} stored once ` +
                `(${st.chunks} unique chunks), ${st.underReplicatedChunks} under-replicated`,
            );
          } finally {
            c.close();
          }
          say('7. stopping the grid');
        } finally {
          await grid.stop();
          if (!opts.keep) rmSync(dir, { recursive: true, force: true });
        }
        say('demo finished: every step succeeded');
      }),
    );
}

async function readAll(file: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of createReadStream(file)) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const p of createReadStream(file)) h.update(p as Buffer);
  return h.digest('hex');
}
