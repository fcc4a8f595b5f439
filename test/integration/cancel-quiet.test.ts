import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  busyboxTarball,
  cleanupAll,
  counterScript,
  onCleanup,
  runcContainers,
  tempDir,
  waitFor,
} from '../helpers/jobs.ts';

// A normal `stdchk cancel` is not a problem: the worker's log says so at info
// level, even when the cancel lands in the middle of a checkpoint (the dump
// then fails because the container is gone; that used to be a WARN line
// carrying CRIU's error text, and stopping the job was a WARN too). Real
// `stdchk scheduler` and `stdchk worker` processes, a local folder as the
// checkpoint storage, a criu wrapper that holds a dump until the test lets
// it go on (so the cancel lands in the dump every time).

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STDCHK = path.join(ROOT, 'bin/stdchk');

test.after.always(cleanupAll);

function daemon(args: string[], log: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const fd = openSync(log, 'a');
  const child = spawn(STDCHK, args, { stdio: ['ignore', fd, fd], env });
  onCleanup(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    child.kill('SIGKILL');
  });
  return child;
}

function cli(args: string[], env: NodeJS.ProcessEnv): string {
  return execFileSync(STDCHK, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
}

interface LogLine {
  level: number;
  msg: string;
  job?: string;
  [k: string]: unknown;
}

const logLines = (file: string): LogLine[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as LogLine)
    : [];

test('a cancel, even during a checkpoint, stops the container with nothing above info in the worker log', async (t) => {
  const base = tempDir('stdchk-cancel-');
  chmodSync(base, 0o711); // containers' mapped root passes through to the rootfs cache
  const shared = path.join(base, 'checkpoints');
  const logs = path.join(base, 'logs');
  const fakebin = path.join(base, 'fakebin');
  for (const d of [shared, logs, fakebin]) mkdirSync(d);
  const secret = path.join(base, 'secret');
  writeFileSync(secret, 'cancel-test-secret-0123456789abcdef\n', { mode: 0o600 });

  // Test-only: while HOLD exists, a dump waits (up to 60 s) for GO before running the real criu.
  const hold = path.join(base, 'hold');
  const go = path.join(base, 'go');
  const realCriu = execFileSync('sh', ['-c', 'command -v criu'], { encoding: 'utf8' }).trim();
  writeFileSync(
    path.join(fakebin, 'criu'),
    [
      '#!/bin/sh',
      `if [ -e '${hold}' ] && { [ "$1" = dump ] || grep -q checkpoint "/proc/$PPID/cmdline" 2>/dev/null; }; then`,
      `  touch '${hold}.started'; i=0`,
      `  while [ ! -e '${go}' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done`,
      'fi',
      `exec '${realCriu}' "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(path.join(fakebin, 'criu'), 0o755);

  const addrFile = path.join(base, 'scheduler.addr');
  daemon(
    [
      'scheduler',
      ...['--data', path.join(base, 'scheduler'), '--listen', '127.0.0.1:0', '--checkpoints', shared],
      ...['--secret-file', secret, '--address-file', addrFile, '--heartbeat-interval', '500ms'],
    ],
    path.join(logs, 'scheduler.log'),
  );
  const address = await waitFor(
    'the scheduler',
    () => existsSync(addrFile) && readFileSync(addrFile, 'utf8').trim(),
    60_000,
  );
  const workerLog = path.join(logs, 'worker.log');
  daemon(
    [
      'worker',
      ...['--scheduler', address, '--mount', shared, '--work', path.join(base, 'work')],
      ...['--id', 'wq', '--secret-file', secret],
    ],
    workerLog,
    { ...process.env, PATH: `${fakebin}:${process.env.PATH ?? ''}` },
  );
  await waitFor('the worker', () => logLines(workerLog).some((l) => l.msg === 'worker running'), 60_000);

  mkdirSync(path.join(shared, 'images'));
  const rootfs = busyboxTarball(path.join(shared, 'images'));
  const jobFile = path.join(base, 'job.json');
  writeFileSync(
    jobFile,
    JSON.stringify({
      name: 'quiet',
      kind: 'container',
      rootfs,
      args: ['sh', '-c', counterScript(600, 0.2)],
      checkpoint: { interval: '1s', keep: 2 },
    }),
  );
  const env = { STDCHK_SCHEDULER: address, STDCHK_SECRET_FILE: secret };
  const id = cli(['submit', jobFile], env).trim();
  const job = () =>
    JSON.parse(cli(['job', id, '--json'], env)) as { state: string; checkpointsTaken: number };
  await waitFor('a complete checkpoint', () => job().checkpointsTaken >= 1, 90_000, 300);

  // The next dump waits; cancel while it does, then let it go on against a container that is gone.
  writeFileSync(hold, '');
  await waitFor('a dump under way', () => existsSync(`${hold}.started`), 60_000);
  t.regex(cli(['cancel', id], env), /cancelled/);
  await waitFor(
    'the worker to stop the job',
    () => logLines(workerLog).some((l) => l.job === id && l.msg === 'stopping job'),
    30_000,
  );
  writeFileSync(go, '');
  await waitFor(
    'the dump to end',
    () => logLines(workerLog).some((l) => l.job === id && /^checkpoint/.test(l.msg)),
    60_000,
  );
  await waitFor('the container gone', () => runcContainers(`stdchk-wq-${id}`).length === 0, 30_000);
  t.is(job().state, 'cancelled');

  const mine = logLines(workerLog).filter((l) => l.job === id);
  t.log(mine.map((l) => `${l.level} ${l.msg}${l.err ? `: ${String(l.err)}` : ''}`).join('\n'));
  const loud = mine.filter((l) => l.level >= 40);
  t.deepEqual(
    loud.map((l) => `${l.msg}${l.err ? `: ${String(l.err)}` : ''}`),
    [],
    'nothing above info about a cancelled job',
  );
  t.true(mine.some((l) => l.msg === 'stopping job' && l.why !== undefined));
  const scheduler = logLines(path.join(logs, 'scheduler.log')).filter((l) => l.job === id && l.level >= 40);
  t.deepEqual(
    scheduler.map((l) => l.msg),
    [],
    'nor in the scheduler log',
  );
});
