import test from 'ava';
import { spawn, execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanupAll, runCli, tempDir, waitFor, STDCHK_BIN } from '../helpers/grid.ts';
import { ROOT } from '../../bench/lib/proc.ts';

// Deployment on real desktops: the systemd units in contrib/systemd pass
// `systemd-analyze verify`; every daemon reads its options from `--config FILE`
// (strictly), and tells systemd it is ready (Type=notify) through $NOTIFY_SOCKET.

test.after.always(cleanupAll);

const UNITS = path.join(ROOT, 'contrib/systemd');
const ROLES = ['manager', 'benefactor', 'mount', 'scheduler', 'worker'];

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    ),
  );
}

test('systemd-analyze verify passes every unit, with no warning', async (t) => {
  const dir = tempDir('stdchk-units-');
  const units = readdirSync(UNITS).filter((f) => f.endsWith('.service'));
  t.deepEqual(units.sort(), ROLES.map((r) => `stdchk-${r}.service`).sort());
  // The units name /usr/local/bin/stdchk (npm install -g); verify wants an executable there.
  for (const u of units)
    writeFileSync(
      path.join(dir, u),
      readFileSync(path.join(UNITS, u), 'utf8').replaceAll('/usr/local/bin/stdchk', STDCHK_BIN),
    );
  const r = await run('systemd-analyze', ['verify', ...units.map((u) => path.join(dir, u))]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '', 'no warnings');

  // The check sees mistakes: an unknown key is reported.
  writeFileSync(path.join(dir, 'bad.service'), readFileSync(path.join(dir, units[0]!), 'utf8') + 'Bogus=1\n');
  const bad = await run('systemd-analyze', ['verify', path.join(dir, 'bad.service')]);
  t.regex(bad.stderr, /Unknown key 'Bogus'/);

  for (const role of ROLES) {
    const unit = readFileSync(path.join(UNITS, `stdchk-${role}.service`), 'utf8');
    t.regex(unit, /^Type=notify$/m, `${role}: readiness`);
    t.regex(unit, /^NotifyAccess=all$/m, `${role}: the notification comes from a helper`);
    t.regex(
      unit,
      new RegExp(`^ExecStart=/usr/local/bin/stdchk ${role} .*--config /etc/stdchk/${role}\\.conf$`, 'm'),
    );
  }
  const worker = readFileSync(path.join(UNITS, 'stdchk-worker.service'), 'utf8');
  t.regex(worker, /^BindsTo=stdchk-mount\.service$/m, 'a worker needs its mount');
  t.regex(worker, /^After=.*stdchk-mount\.service/m);
});

test('the example config of each unit names only options its command has', async (t) => {
  for (const role of ROLES) {
    const r = await runCli([role, '--config', path.join(UNITS, `${role}.conf`), '--help']);
    t.is(r.code, 0, `${role}: ${r.stderr}`);
  }
});

test('--config is strict: unknown options, flags that are not true/false and repeats are refused with file and line', async (t) => {
  const dir = tempDir();
  const cases: [string, RegExp][] = [
    ['data = /x\nbogus = 1\n', /:2: stdchk manager has no option --bogus/],
    ['data = /x\ninsecure = maybe\n', /:2: --insecure is a flag: true or false, not "maybe"/],
    ['data = /x\ndata = /y\n', /:2: --data is given twice/],
    ['data /x\n', /:1: expected "option = value"/],
  ];
  for (const [i, [text, message]] of cases.entries()) {
    const file = path.join(dir, `c${i}.conf`);
    writeFileSync(file, text);
    const r = await runCli(['manager', '--config', file]);
    t.is(r.code, 2, text);
    t.regex(r.stderr, message);
    t.is(r.stderr.split('\n').length, 2, 'one line');
  }
  const missing = await runCli(['manager', '--config', path.join(dir, 'none.conf')]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /cannot read --config/);
});

test('a daemon started from --config tells systemd READY=1 once serving and STOPPING=1 on SIGTERM; the command line overrides the file', async (t) => {
  const dir = tempDir();
  const socket = path.join(dir, 'notify.sock');
  // systemd's side of sd_notify: a unix datagram socket (python3: node has none).
  const listener = spawn(
    'python3',
    [
      '-u',
      '-c',
      'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("bound",flush=True)\nwhile True: print(repr(s.recv(4096).decode()),flush=True)',
      socket,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.teardown(() => void listener.kill());
  let heard = '';
  listener.stdout.on('data', (d: Buffer) => (heard += d.toString()));
  await waitFor('the notify socket', async () => heard.includes('bound'), 10_000);

  const secret = path.join(dir, 'secret');
  writeFileSync(secret, 'x'.repeat(44) + '\n', { mode: 0o600 });
  const config = path.join(dir, 'manager.conf');
  writeFileSync(
    config,
    [
      `data = ${path.join(dir, 'data')}`,
      'listen = 127.0.0.1:0',
      `secret-file = ${secret}`,
      `address-file = ${path.join(dir, 'from-file.addr')}`,
      'log-level = warn',
    ].join('\n'),
  );
  const manager = spawn(
    STDCHK_BIN,
    ['manager', '--config', config, '--address-file', path.join(dir, 'cli.addr')],
    {
      env: { ...process.env, NOTIFY_SOCKET: socket },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  manager.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => manager.on('close', resolve));
  t.teardown(() => void manager.kill('SIGKILL'));
  await waitFor('READY=1', async () => heard.includes('READY=1'), 60_000);
  t.true(existsSync(path.join(dir, 'cli.addr')), 'the command line --address-file won');
  t.false(existsSync(path.join(dir, 'from-file.addr')));
  t.true(existsSync(path.join(dir, 'data')), 'the data folder came from the file');
  t.is(err, '', 'log-level warn from the file: nothing logged while all is well');
  manager.kill('SIGTERM');
  t.is(await exited, 0);
  await waitFor('STOPPING=1', async () => heard.includes('STOPPING=1'), 10_000);
  t.regex(heard, /READY=1\\nSTATUS=manager serving/);
});
