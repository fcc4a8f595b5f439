import test from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanupAll, tempDir, waitFor, writeRandomFile } from '../helpers/grid.ts';
import { ROOT, run } from '../../bench/lib/proc.ts';

// `npm pack` gives a package that installs and runs on its own: packed from this checkout,
// installed into a temporary prefix as `npm install -g` does (its dependencies from the npm
// cache or the registry), then the installed `stdchk` starts a grid (`up`), and put/get
// through it give the file back byte for byte. Nothing of the checkout is used after the pack.

test.after.always(cleanupAll);

const npm = (args: string[], cwd: string) =>
  run('npm', args, { cwd, timeoutMs: 15 * 60_000, env: { ...process.env, npm_config_loglevel: 'error' } });

test('npm pack: the package installs into a prefix and its stdchk runs a grid, put and get', async (t) => {
  t.timeout(20 * 60_000);
  const dir = tempDir('stdchk-pack-');
  const packed = await npm(['pack', '--pack-destination', dir, '--json'], ROOT);
  t.is(packed.code, 0, packed.stderr);
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  const files = info!.files.map((f) => f.path);
  for (const f of [
    'bin/stdchk',
    'dist/.built',
    'dist/src/cli/main.js',
    'dist/bench/lib/io-proc.js',
    'proto/manager.proto',
    'patches/fuse-native+2.2.6.patch',
    'scripts/postinstall.sh',
    'scripts/build-fuse-native.sh',
    'scripts/make-busybox-rootfs.sh',
    'examples/counter-container.json',
    'contrib/systemd/stdchk-manager.service',
    'contrib/systemd/worker.conf',
    'docs/install.md',
    'README.md',
  ])
    t.true(files.includes(f), `the package holds ${f}`);
  t.true(
    files.some((f) => /^dist\/src\/workers\/runtime\/.*\.py$/.test(f)),
    'the runtime helpers (Python) are shipped',
  );
  for (const f of files)
    t.false(/^(src|test|node_modules)\/|\.tsbuildinfo$/.test(f), `the package leaves out ${f}`);

  const prefix = path.join(dir, 'prefix');
  const installed = await npm(
    [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      path.join(dir, info!.filename),
    ],
    dir,
  );
  t.is(installed.code, 0, installed.stderr);
  const bin = path.join(prefix, 'bin/stdchk');
  const help = await run(bin, ['--help']);
  t.is(help.code, 0, help.stderr);
  t.true(help.stdout.includes('Usage: stdchk'));
  const pkgRoot = path.join(prefix, 'lib/node_modules/stdchk');
  t.false(readdirSync(pkgRoot).includes('src'), 'the installed package runs its built JavaScript');
  t.true(
    readFileSync(path.join(pkgRoot, 'node_modules/fuse-native/fuse-native.c'), 'utf8').includes('caller_uid'),
    'postinstall patched fuse-native without patch-package (a devDependency)',
  );

  // A grid from the installed package, and put/get through it, from the grid's folder.
  const work = tempDir('stdchk-pack-grid-');
  const up = spawn(bin, ['up', '--benefactors', '2', '--no-mount', '--json'], {
    cwd: work,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let upOut = '';
  let upErr = '';
  up.stdout.on('data', (d: Buffer) => (upOut += d.toString()));
  up.stderr.on('data', (d: Buffer) => (upErr += d.toString()));
  const stopped = new Promise<number | null>((resolve) => up.on('close', resolve));
  try {
    await waitFor(
      'the grid of the installed stdchk is up',
      async () => upOut.includes('}') || up.exitCode !== null,
      120_000,
    );
    t.is(up.exitCode, null, upErr);
    const local = path.join(work, 'data.bin');
    writeRandomFile(local, 3 * 1024 * 1024 + 17);
    writeFileSync(path.join(work, 'small.txt'), 'hello from an installed stdchk\n');
    for (const [src, dst] of [
      ['data.bin', '/pack/data.bin'],
      ['small.txt', '/pack/small.txt'],
    ] as const) {
      const put = await run(bin, ['put', src, dst, '--parents'], { cwd: work });
      t.is(put.code, 0, put.stderr);
    }
    const get = await run(bin, ['get', '/pack/data.bin', 'copy.bin'], { cwd: work });
    t.is(get.code, 0, get.stderr);
    t.true(
      readFileSync(path.join(work, 'copy.bin')).equals(readFileSync(local)),
      'the file reads back identical',
    );
    const cat = await run(bin, ['get', '/pack/small.txt', '-'], { cwd: work });
    t.is(cat.code, 0, cat.stderr);
    t.is(cat.stdout, 'hello from an installed stdchk\n');
  } finally {
    up.kill('SIGINT');
    t.is(await stopped, 0, upErr);
  }
});
