import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupAll, runCli, startGrid, tempDir } from '../helpers/grid.ts';

// A command loads only what it runs: `--help` and argument errors start no gRPC, protobuf,
// logger, LevelDB or FUSE module (they cost most of the start-up), and `ls` loads the gRPC
// client but none of the daemons' modules. Checked by the packages a process loaded, not by
// timing (the machine is shared); `stdchk bench startup` measures the time.

test.after.always(cleanupAll);

const TRACE = path.join(path.dirname(fileURLToPath(import.meta.url)), '../helpers/module-trace.mjs');
const HEAVY = [
  '@grpc/grpc-js',
  '@grpc/proto-loader',
  'protobufjs',
  'pino',
  'level',
  'classic-level',
  'fuse-native',
];

/** Runs `stdchk ARGS` and returns its exit code and the npm packages it loaded. */
async function loaded(args: string[], env: Record<string, string> = {}) {
  const trace = path.join(tempDir('stdchk-trace-'), 'modules');
  const r = await runCli(args, {
    ...env,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=file://${TRACE}`,
    STDCHK_TEST_MODULE_TRACE: trace,
  });
  return { ...r, packages: readFileSync(trace, 'utf8').split('\n').filter(Boolean) };
}

for (const args of [
  ['--help'],
  ['put', '--help'],
  ['manager', '--help'],
  ['bench', '--help'],
  ['worker', '--help'],
]) {
  test(`stdchk ${args.join(' ')} loads none of the heavy modules`, async (t) => {
    const r = await loaded(args);
    t.is(r.code, 0, r.stderr);
    t.true(r.stdout.includes('Usage: stdchk'));
    t.true(r.packages.includes('commander'), 'the trace sees what the CLI loads');
    t.deepEqual(
      HEAVY.filter((p) => r.packages.includes(p)),
      [],
    );
  });
}

test('an argument error exits 2 before loading the storage stack', async (t) => {
  const r = await loaded([
    'benefactor',
    '--manager',
    '127.0.0.1:1',
    '--capacity',
    '1XB',
    '--store',
    '/nonexistent',
  ]);
  t.is(r.code, 2, r.stderr);
  t.deepEqual(
    HEAVY.filter((p) => r.packages.includes(p)),
    [],
  );
});

test('stdchk ls against a manager loads the gRPC client, and no logger, LevelDB or FUSE', async (t) => {
  const grid = await startGrid({ benefactors: 0 });
  const r = await loaded(['ls', '/'], grid.env());
  t.is(r.code, 0, r.stderr);
  t.true(r.packages.includes('@grpc/grpc-js'));
  t.deepEqual(
    ['pino', 'level', 'classic-level', 'fuse-native'].filter((p) => r.packages.includes(p)),
    [],
  );
});

test('stdchk bench startup reports --help and ls against node -e 0 measured in the same run', async (t) => {
  const r = await runCli(['bench', 'startup', '--runs', '1', '--json'], { STDCHK_BENCH_QUIET: '1' });
  t.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as {
    bench: string;
    results: { rows: { command: string; from: string; medianMs: number; overNodeMs: number }[] };
  };
  t.is(report.bench, 'startup');
  const commands = report.results.rows.map((row) => `${row.command} (${row.from})`);
  t.true(commands.includes('node -e 0 (node)'));
  t.true(commands.includes('stdchk --help (source)'));
  t.true(commands.includes('stdchk ls / (source)'));
  for (const row of report.results.rows) t.true(row.medianMs > 0 && Number.isFinite(row.overNodeMs));
});
