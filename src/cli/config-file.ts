import { readFileSync } from 'node:fs';
import type { Command, Option } from 'commander';
import { StdchkError, errorMessage } from '../errors/index.ts';

/**
 * `--config FILE`: a daemon's flags in a file (contrib/systemd reads one per
 * daemon from /etc/stdchk). One option per line, named as its flag without
 * the dashes:
 *
 *     # /etc/stdchk/benefactor.conf
 *     manager = 10.0.0.10:7070
 *     store = /srv/stdchk
 *     capacity = 200GiB
 *     insecure-plaintext = true     # a flag without a value: true or false
 *
 * Blank lines and `#` comments are ignored; a value may be double-quoted.
 * Strict: an option the command does not have, a line without `=`, an option
 * given twice or a flag that is not true/false is refused with the file and
 * line. Flags on the command line override the file.
 */

function bad(file: string, line: number, why: string): StdchkError {
  return new StdchkError('INVALID_ARGUMENT', `${file}:${line}: ${why}`);
}

/** The arguments a config file stands for, checked against the command's options. */
export function configArgs(file: string, cmd: Command): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new StdchkError('INVALID_ARGUMENT', `cannot read --config ${file}: ${errorMessage(e)}`);
  }
  // The command's options and its parents' (--log-level is the program's).
  const options = new Map<string, Option>();
  for (let c: Command | null = cmd; c; c = c.parent)
    for (const o of c.options) if (o.long && !options.has(o.long.slice(2))) options.set(o.long.slice(2), o);
  const seen = new Set<string>();
  const args: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const n = i + 1;
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) return;
    const eq = line.indexOf('=');
    if (eq < 0) throw bad(file, n, `expected "option = value", not ${JSON.stringify(line)}`);
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (/^".*"$/.test(value)) value = value.slice(1, -1);
    if (key === 'config') throw bad(file, n, 'a config file cannot name another');
    const opt = options.get(key) ?? (key.startsWith('no-') ? undefined : options.get(`no-${key}`));
    if (!opt || key === 'help')
      throw bad(file, n, `stdchk ${cmd.name()} has no option --${key} (see stdchk ${cmd.name()} --help)`);
    if (seen.has(key)) throw bad(file, n, `--${key} is given twice`);
    seen.add(key);
    const takesValue = opt.required || opt.optional;
    if (takesValue) {
      if (value === '') throw bad(file, n, `--${key} needs a value`);
      args.push(`--${key}`, value);
      return;
    }
    if (value !== 'true' && value !== 'false')
      throw bad(file, n, `--${key} is a flag: true or false, not ${JSON.stringify(value)}`);
    const on = value === 'true';
    // `insecure = true` gives --insecure; `no-mount = true` and `mount = false` give --no-mount.
    const direct = options.get(key) === opt;
    if (direct ? on : !on) args.push(opt.long as string);
  });
  return args;
}

/** The first `--config FILE` / `--config=FILE` in argv, and argv without it. */
function takeConfig(argv: string[]): { file: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') break;
    if (a === '--config') {
      const file = argv[i + 1];
      if (file === undefined || file.startsWith('-'))
        throw new StdchkError('INVALID_ARGUMENT', '--config needs a file');
      return { file, rest: [...argv.slice(0, i), ...argv.slice(i + 2)] };
    }
    if (a.startsWith('--config='))
      return { file: a.slice(9), rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { file: undefined, rest: argv };
}

/**
 * argv (after node and the script) with `--config FILE` replaced by the file's
 * options, placed right after the command's name so that the command line's
 * own flags, parsed later, win.
 */
export function expandConfig(program: Command, argv: string[]): string[] {
  const { file, rest } = takeConfig(argv);
  if (file === undefined) return argv;
  // The command: the longest run of command names from the start (e.g. `benefactor`).
  let cmd: Command = program;
  let at = -1;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    if (a.startsWith('-')) continue;
    const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!sub) break;
    cmd = sub;
    at = i;
  }
  if (cmd === program)
    throw new StdchkError(
      'INVALID_ARGUMENT',
      '--config goes with a command, e.g. stdchk manager --config FILE',
    );
  return [...rest.slice(0, at + 1), ...configArgs(file, cmd), ...rest.slice(at + 1)];
}
