import test from 'ava';
import path from 'node:path';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cleanupAll, runCli, startGrid, statusJson, tempDir, STDCHK_BIN, waitFor } from '../helpers/grid.ts';

test.after.always(cleanupAll);

/** `stdchk ARGS` with its standard output kept as bytes. */
function runCliBytes(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: Buffer; stderr: string }>((resolve) => {
    const child = spawn(STDCHK_BIN, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
  });
}

const noGridEnv = {
  STDCHK_MANAGER: '',
  STDCHK_SECRET_FILE: '',
  STDCHK_TLS_CA: '',
  STDCHK_TLS_CERT: '',
  STDCHK_TLS_KEY: '',
};

test('--help describes every command and its flags', async (t) => {
  const r = await runCli(['--help']);
  t.is(r.code, 0);
  for (const cmd of [
    'manager',
    'benefactor',
    'mount',
    'scheduler',
    'worker',
    'submit',
    'jobs',
    'job',
    'cancel',
    'logs',
    'put',
    'get',
    'ls',
    'rm',
    'status',
    'up',
    'demo',
    'demo-grid',
    'bench',
  ]) {
    t.regex(r.stdout, new RegExp(`^\\s+${cmd}\\b`, 'm'), `${cmd} is listed`);
  }
  const put = await runCli(['put', '--help']);
  t.is(put.code, 0);
  t.regex(put.stdout, /--replicas/);
  t.regex(put.stdout, /--json/);
});

test('bad configuration gets one clear line and a non-zero exit', async (t) => {
  const dir = tempDir();
  const noSecret = await runCli(['manager', '--data', dir, '--listen', '127.0.0.1:0'], noGridEnv);
  t.is(noSecret.code, 2);
  t.regex(
    noSecret.stderr,
    /^stdchk: the manager needs cluster credentials: pass --secret-file FILE .*--tls-ca, --tls-cert and --tls-key .*--insecure/,
  );
  t.is(noSecret.stderr.trim().split('\n').length, 1);

  // Metrics and the dashboard beyond loopback need the cluster's TLS.
  const openMetrics = await runCli(
    ['manager', '--data', dir, '--insecure', '--metrics-listen', '0.0.0.0:9100'],
    noGridEnv,
  );
  t.is(openMetrics.code, 2);
  t.regex(
    openMetrics.stderr,
    /^stdchk: --metrics-listen 0\.0\.0\.0:9100 is beyond loopback: it needs the cluster's TLS/,
  );
  t.is(openMetrics.stderr.trim().split('\n').length, 1);

  const badCapacity = await runCli(
    ['benefactor', '--manager', '127.0.0.1:1', '--store', dir, '--capacity', 'banana', '--insecure'],
    noGridEnv,
  );
  t.is(badCapacity.code, 2);
  t.regex(badCapacity.stderr, /^stdchk: --capacity: not a size: "banana"/);

  // Sizes and durations are strict: no unit read as bytes or milliseconds, no unknown unit.
  for (const [args, message] of [
    [
      ['benefactor', '--manager', '127.0.0.1:1', '--store', dir, '--capacity', '1XB', '--insecure'],
      /--capacity: not a size: "1XB"/,
    ],
    [
      ['manager', '--data', dir, '--insecure', '--heartbeat-timeout', '10'],
      /--heartbeat-timeout: not a duration: "10" \(a unit is needed/,
    ],
    [['manager', '--data', dir, '--insecure', '--gc-grace', '1M'], /--gc-grace: not a duration: "1M"/],
    [['bench', 'write', '--size', '1XB'], /--size: not a size: "1XB"/],
    [['mount', '/nonexistent-mountpoint', '--cache-size', '8Gx'], /--cache-size: not a size: "8Gx"/],
    [
      ['manager', '--data', dir, '--insecure', '--log-level', 'loud'],
      /--log-level must be one of trace, debug/,
    ],
  ] as const) {
    const r = await runCli([...args], noGridEnv);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, new RegExp(`^stdchk: ${message.source}[^\\n]*\\n$`), args.join(' '));
  }

  // Argument errors are one line too.
  for (const args of [['put'], ['put', '--bogus', 'a', 'b'], ['frob']]) {
    const r = await runCli(args, noGridEnv);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, /^stdchk: [^\n]+ \(see --help\)\n$/, args.join(' '));
  }

  // An unreachable manager or scheduler: one line naming it, in seconds (it used to be 33 s of silence).
  const secret = path.join(dir, 'secret');
  writeFileSync(secret, 'abcdefghijklmnopqrstuvwxyz012345\n', { mode: 0o600 });
  for (const [args, message] of [
    [
      ['ls', '/', '--manager', '127.0.0.1:1'],
      /^stdchk: manager at 127\.0\.0\.1:1 is not reachable: connect ECONNREFUSED 127\.0\.0\.1:1 \(gave up after \d+ s\)\n$/,
    ],
    [
      ['mkdir', '/x', '--manager', '127.0.0.1:1'],
      /^stdchk: cannot connect: connect ECONNREFUSED 127\.0\.0\.1:1\n$/,
    ],
    [
      ['jobs', '--scheduler', '127.0.0.1:1'],
      /^stdchk: scheduler at 127\.0\.0\.1:1 is not reachable: connect ECONNREFUSED 127\.0\.0\.1:1\n$/,
    ],
  ] as const) {
    const started = Date.now();
    const r = await runCli([...args, '--secret-file', secret], noGridEnv);
    t.is(r.code, 1, args.join(' '));
    t.regex(r.stderr, message, args.join(' '));
    t.true(Date.now() - started < 25_000, `${args.join(' ')}: an answer within seconds`);
  }

  // A stopped `stdchk up` grid in ./.stdchk is named as such.
  mkdirSync(path.join(dir, '.stdchk'));
  const stopped = await runCli(['status'], noGridEnv, dir);
  t.is(stopped.code, 2);
  t.regex(stopped.stderr, /^stdchk: the grid in \.\/\.stdchk is not running \(start it with `stdchk up`\)/);

  const shortSecret = path.join(dir, 'short');
  writeFileSync(shortSecret, 'abc\n', { mode: 0o600 });
  const short = await runCli(['manager', '--data', dir, '--secret-file', shortSecret], noGridEnv);
  t.is(short.code, 2);
  t.regex(short.stderr, /fewer than 16 characters/);

  const badListen = await runCli(['manager', '--data', dir, '--insecure', '--listen', 'nonsense'], noGridEnv);
  t.is(badListen.code, 2);
  t.regex(badListen.stderr, /--listen must be HOST:PORT/);
});

test('client commands report bad input with one line and an exit code', async (t) => {
  const grid = await startGrid({ benefactors: 2 });
  const env = grid.env();
  const work = tempDir();

  const missing = await runCli(['ls', '/does/not/exist'], env);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /^stdchk: .*no such file or directory/);

  const noLocal = await runCli(['put', path.join(work, 'absent'), '/x'], env);
  t.not(noLocal.code, 0);
  t.regex(noLocal.stderr, /^stdchk: .*absent/);
  t.is(noLocal.stderr.trim().split('\n').length, 1);

  const zero = await runCli(['put', '/etc/hostname', '/x', '--replicas', '0'], env);
  t.is(zero.code, 2);
  t.regex(zero.stderr, /--replicas must be an integer from 1 to 16/);

  const traversal = await runCli(['put', '/etc/hostname', '/a/../b'], env);
  t.is(traversal.code, 2);
  t.regex(traversal.stderr, /"\." and "\.\." are not allowed/);

  const tooMany = await runCli(['put', '/etc/hostname', '/x', '--replicas', '3'], env);
  t.is(tooMany.code, 1, 'two benefactors cannot hold three replicas');
  t.regex(tooMany.stderr, /replicas/);

  const noManager = await runCli(['status'], { STDCHK_MANAGER: '', STDCHK_SECRET_FILE: '' });
  t.is(noManager.code, 2);
  t.regex(noManager.stderr, /no manager address/);

  // rm of a folder hints at -r; ls -h prints IEC sizes.
  // put checks its target before sending a byte: a missing folder is refused
  // (nothing stored), made with --parents; onto a folder it stores inside.
  const storedBefore = (await statusJson(env)).storedBytes;
  const noFolder = await runCli(['put', '/etc/services', '/d/services'], env);
  t.is(noFolder.code, 1);
  t.is(noFolder.stderr, 'stdchk: /d: no such folder (use --parents to create it)\n');
  t.is((await statusJson(env)).storedBytes, storedBefore, 'nothing was uploaded');
  const parents = await runCli(['put', '/etc/services', '/d/services', '--parents'], env);
  t.is(parents.code, 0, parents.stderr);
  const intoFolder = await runCli(['put', '/etc/hostname', '/d', '--json'], env);
  t.is(intoFolder.code, 0, intoFolder.stderr);
  t.is(JSON.parse(intoFolder.stdout).path, '/d/hostname');
  t.is((await runCli(['ls', '/d/hostname'], env)).code, 0);
  const rmDir = await runCli(['rm', '/d'], env);
  t.is(rmDir.code, 1);
  t.regex(rmDir.stderr, /^stdchk: .*\(use rm -r to remove a directory tree\)\n$/);
  const human = await runCli(['ls', '/d', '-h'], env);
  t.is(human.code, 0, human.stderr);
  t.regex(human.stdout, /^file +\d+(\.\d)? KiB /m);

  // get into a folder that does not exist names that folder, not a temporary file of ours.
  const noDir = await runCli(['get', '/d/services', path.join(work, 'nope', 'x')], env);
  t.is(noDir.code, 2);
  t.is(
    noDir.stderr,
    `stdchk: cannot write ${path.join(work, 'nope', 'x')}: no such folder: ${path.join(work, 'nope')}\n`,
  );

  // A reader that stops early (`stdchk status | head -1`) ends the command quietly.
  const closed = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(STDCHK_BIN, ['status'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
  t.is(closed.code, 0, closed.stderr);
  t.is(closed.stderr, '', 'no EPIPE stack trace');

  // The manager is still serving after all that.
  const ok = await runCli(['put', '/etc/hostname', '/hostname', '--json'], env);
  t.is(ok.code, 0, ok.stderr);
  t.is(JSON.parse(ok.stdout).bytes, (await import('node:fs')).statSync('/etc/hostname').size);
  const ls = await runCli(['ls', '/', '--json'], env);
  t.deepEqual(
    JSON.parse(ls.stdout).map((e: { name: string }) => e.name),
    ['d', 'hostname'],
  );
});

test('get writes to standard output with "-", and into /dev/null or a FIFO in place (never replacing them)', async (t) => {
  const grid = await startGrid({ benefactors: 2 });
  const env = grid.env();
  const work = tempDir();
  const src = path.join(work, 'src.bin');
  const data = (await import('node:crypto')).randomBytes(3 * 1024 * 1024 + 17);
  writeFileSync(src, data);
  t.is((await runCli(['put', src, '/f', '--replicas', '1'], env)).code, 0);

  const toStdout = await runCliBytes(['get', '/f', '-'], env);
  t.is(toStdout.code, 0, toStdout.stderr);
  t.true(toStdout.stdout.equals(data), 'standard output carries exactly the file');
  t.regex(toStdout.stderr, /^read \/f: /, 'the summary goes to standard error');

  const devNull = await runCli(['get', '/f', '/dev/null'], env);
  t.is(devNull.code, 0, devNull.stderr);
  t.true(statSync('/dev/null').isCharacterDevice(), '/dev/null is still the device');
  t.deepEqual(
    readdirSync('/dev').filter((n) => n.includes('.stdchk-')),
    [],
  );

  const fifo = path.join(work, 'pipe');
  execFileSync('mkfifo', [fifo]);
  const reader = new Promise<Buffer>((resolve) =>
    execFile('cat', [fifo], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (_e, out) => resolve(out)),
  );
  const viaFifo = await runCli(['get', '/f', fifo], env);
  t.is(viaFifo.code, 0, viaFifo.stderr);
  t.true((await reader).equals(data), 'the FIFO carried the file');
  t.true(statSync(fifo).isFIFO());
});

test('the demo (README command) stores, dedups and reads back a file, then stops its grid', async (t) => {
  const r = await runCli(['demo', '--size', '16MiB']);
  t.is(r.code, 0, r.stderr + r.stdout);
  t.regex(r.stdout, /sha256 identical/);
  t.regex(r.stdout, /demo finished: every step succeeded/);
});

test('stdchk up serves a grid that client commands find, and Ctrl-C stops every process', async (t) => {
  const dir = tempDir();
  const up = spawn(STDCHK_BIN, ['up', '--dir', path.join(dir, 'grid'), '--benefactors', '3', '--json'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => void up.kill('SIGKILL'));
  let out = '';
  up.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const info = await waitFor(
    'up to print its JSON',
    async () => (out.includes('}') ? JSON.parse(out) : undefined),
    60_000,
  );
  t.true(existsSync(info.secretFile));
  const env = { STDCHK_MANAGER: info.managerAddress, STDCHK_SECRET_FILE: info.secretFile };
  const st = await runCli(['status', '--json'], env);
  t.is(st.code, 0, st.stderr);
  t.is(JSON.parse(st.stdout).benefactors.filter((b: { alive: boolean }) => b.alive).length, 3);
  // It serves the dashboard (the manager's, without workers) and every daemon's metrics.
  t.regex(info.dashboard, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const grid = await (await fetch(`${info.dashboard}api/grid`)).json();
  t.like(grid, { servedBy: 'manager', storage: { ok: true, status: { benefactorsAlive: 3 } } });
  t.deepEqual(Object.keys(info.metrics).sort(), [
    'benefactor-0',
    'benefactor-1',
    'benefactor-2',
    'manager',
    'mount-0',
  ]);
  for (const [name, address] of Object.entries(info.metrics as Record<string, string>)) {
    const text = await (await fetch(`http://${address}/metrics`)).text();
    t.regex(text, new RegExp(`^stdchk_build_info\\{role="${name.replace(/-.*$/, '')}"`, 'm'), name);
  }
  t.is(JSON.parse(readFileSync(info.prometheusTargets, 'utf8')).length, 5);
  const exited = new Promise<number | null>((resolve) => up.on('exit', (code) => resolve(code)));
  up.kill('SIGINT');
  t.is(await exited, 0);
  // Nothing of the grid keeps running.
  const { execFileSync } = await import('node:child_process');
  const leftovers = execFileSync('ps', ['-eo', 'args'])
    .toString()
    .split('\n')
    .filter((l) => l.includes(path.join(dir, 'grid')));
  t.deepEqual(leftovers, []);
});
