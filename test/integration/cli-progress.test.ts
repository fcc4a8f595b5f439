import test from 'ava';
import path from 'node:path';
import { execFile } from 'node:child_process';
import {
  cleanupAll,
  runCli,
  sha256File,
  startGrid,
  tempDir,
  writeRandomFile,
  STDCHK_BIN,
} from '../helpers/grid.ts';

test.after.always(cleanupAll);

/** Runs `stdchk ARGS` on a pseudo-terminal (script(1)), as a person at a terminal would: all it printed. */
function runOnTerminal(args: string[], env: Record<string, string>) {
  const quoted = [STDCHK_BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise<{ code: number; output: string }>((resolve) => {
    execFile(
      'script',
      ['-qec', quoted, '/dev/null'],
      { env: { ...process.env, ...env, COLUMNS: '120' } },
      (err, stdout) => resolve({ code: err ? Number(err.code ?? 1) : 0, output: stdout }),
    );
  });
}

test('put and get show progress on a terminal, and nothing but their summary elsewhere', async (t) => {
  const grid = await startGrid({ benefactors: 2 });
  const env = grid.env();
  const work = tempDir();
  const src = path.join(work, 'src.bin');
  writeRandomFile(src, 24 * 1024 * 1024);

  // Not a terminal (a script, a pipe, a log): the summary on stdout, nothing on stderr.
  const put = await runCli(['put', src, '/a.bin'], env);
  t.is(put.code, 0, put.stderr);
  t.is(put.stderr, '');
  t.regex(put.stdout, /^stored \/a\.bin: 24 MiB/);
  const get = await runCli(['get', '/a.bin', path.join(work, 'a.out')], env);
  t.is(get.code, 0, get.stderr);
  t.is(get.stderr, '');
  t.is(get.stdout.split('\n').length, 2, 'one summary line');

  // On a terminal: a bar with the path, a percentage and sizes, then the summary.
  const putTty = await runOnTerminal(['put', src, '/b.bin'], env);
  t.is(putTty.code, 0, putTty.output);
  t.regex(putTty.output, /put \/b\.bin \[[=-]+\] \d+% \| [\d.]+ (B|KiB|MiB) \/ 24 MiB/);
  t.regex(putTty.output, /stored \/b\.bin: 24 MiB/);
  const getTty = await runOnTerminal(['get', '/b.bin', path.join(work, 'b.out')], env);
  t.is(getTty.code, 0, getTty.output);
  t.regex(getTty.output, /get \/b\.bin \[[=-]+\] \d+% \| [\d.]+ (B|KiB|MiB) \/ 24 MiB/);
  t.regex(getTty.output, /read \/b\.bin: 24 MiB/);
  t.is(await sha256File(path.join(work, 'b.out')), await sha256File(src));

  // --json on a terminal: only the JSON.
  const json = await runOnTerminal(['put', src, '/c.bin', '--json'], env);
  t.is(json.code, 0, json.output);
  t.notRegex(json.output, /\[[=-]+\]/);
  t.is(JSON.parse(json.output).bytes, 24 * 1024 * 1024);
});
