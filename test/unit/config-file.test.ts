import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { configArgs, expandConfig } from '../../src/cli/config-file.ts';

// --config FILE (src/cli/config-file.ts): the file's lines become the same flags a user types.

const dir = mkdtempSync(path.join(os.tmpdir(), 'stdchk-config-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function program(): Command {
  const p = new Command('stdchk').option('--log-level <level>');
  p.command('up')
    .option('--dir <dir>')
    .option('--json')
    .option('--no-mount')
    .option('--no-secret')
    .option('--capacity <size>', 'x', '8GiB');
  return p;
}

function file(text: string): string {
  const f = path.join(dir, `${Math.random()}.conf`);
  writeFileSync(f, text);
  return f;
}

const up = (p: Command) => p.commands.find((c) => c.name() === 'up') as Command;

test('values, quotes, comments, flags and negated flags', (t) => {
  const f = file(
    [
      '# a comment',
      '',
      'dir = "/srv/my grid"   # trailing comment',
      'capacity = 200GiB',
      'json = true',
      'mount = false',
      'no-secret = true',
      'log-level = debug',
    ].join('\n'),
  );
  t.deepEqual(configArgs(f, up(program())), [
    '--dir',
    '/srv/my grid',
    '--capacity',
    '200GiB',
    '--json',
    '--no-mount',
    '--no-secret',
    '--log-level',
    'debug',
  ]);
  t.deepEqual(configArgs(file('json = false\nmount = true\nno-secret = false\n'), up(program())), []);
});

test('the file goes right after the command, so flags typed after it win', (t) => {
  const f = file('dir = /from/file\n');
  t.deepEqual(expandConfig(program(), ['up', '--config', f, '--dir', '/typed']), [
    'up',
    '--dir',
    '/from/file',
    '--dir',
    '/typed',
  ]);
  t.deepEqual(expandConfig(program(), [`--config=${f}`, 'up']), ['up', '--dir', '/from/file']);
  t.deepEqual(expandConfig(program(), ['up', '--dir', 'x']), ['up', '--dir', 'x'], 'no --config: unchanged');
});

test('refused: unknown options, repeats, bad flag values, missing values, no command', (t) => {
  const p = program();
  for (const [text, message] of [
    ['nope = 1', /:1: stdchk up has no option --nope/],
    ['dir = a\ndir = b', /:2: --dir is given twice/],
    ['json = yes', /:1: --json is a flag: true or false, not "yes"/],
    ['dir =', /:1: --dir needs a value/],
    ['dir', /:1: expected "option = value"/],
    ['config = other.conf', /:1: a config file cannot name another/],
    ['help = true', /:1: stdchk up has no option --help/],
  ] as const)
    t.throws(() => configArgs(file(text), up(p)), { message }, text);
  t.throws(() => expandConfig(p, ['--config', file('dir = x')]), { message: /--config goes with a command/ });
  t.throws(() => expandConfig(p, ['up', '--config']), { message: /--config needs a file/ });
});
