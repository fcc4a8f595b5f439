import { Command, CommanderError } from 'commander';
import { registerDaemonCommands } from './commands/daemons.ts';
import { registerFileCommands } from './commands/files.ts';
import { registerStatusCommand } from './commands/status.ts';
import { registerUpCommands } from './commands/up.ts';
import { registerGridDemoCommand } from './commands/demo-grid.ts';
import { registerMountCommand } from './commands/mount.ts';
import { registerBenchCommands } from './commands/bench.ts';
import { registerSchedulerCommands } from './commands/scheduler.ts';
import { registerCertsCommands } from './commands/certs.ts';
import { registerAdminCommands } from './commands/admin.ts';
import { registerKeygenCommand } from './commands/keygen.ts';
import { fail } from './output.ts';
import { expandConfig } from './config-file.ts';
import { LOG_LEVELS, checkLogLevel } from '../logging/levels.ts';

// `stdchk status | head -1`: a reader that stopped reading is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

const program = new Command()
  .name('stdchk')
  .description('checkpoint storage on donated desktop disk: manager, benefactors and client')
  .version('0.1.0')
  .exitOverride()
  .configureHelp({ showGlobalOptions: true })
  .configureOutput({
    // One line, like every other error: "stdchk: unknown option '--x' (see --help)".
    outputError: (text, write) =>
      write(
        `stdchk: ${text
          .replace(/^error: /, '')
          .replace(/\s*\n\s*/g, ' ')
          .trim()} (see --help)\n`,
      ),
  });

// --log-level for every daemon (and anything else that logs): checked once, passed on through the environment.
program.option(
  '--log-level <level>',
  `daemon log level: ${LOG_LEVELS.join(', ')} (default info, or $STDCHK_LOG_LEVEL)`,
);
program.hook('preAction', (cmd) => {
  const level = cmd.opts<{ logLevel?: string }>().logLevel;
  if (level !== undefined) process.env.STDCHK_LOG_LEVEL = checkLogLevel(level);
});

registerDaemonCommands(program);
registerFileCommands(program);
registerStatusCommand(program);
registerUpCommands(program);
registerGridDemoCommand(program);
registerMountCommand(program);
registerKeygenCommand(program);
registerBenchCommands(program);
registerSchedulerCommands(program);
registerCertsCommands(program);
registerAdminCommands(program);

// --config FILE: a daemon's options from a file (config-file.ts); listed here for --help.
program.option(
  '--config <file>',
  'read the command\'s options from FILE: one "option = value" a line (docs/install.md)',
);

try {
  await program.parseAsync(expandConfig(program, process.argv.slice(2)), { from: 'user' });
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander already printed its message (or the help/version).
    process.exit(e.exitCode === 0 ? 0 : 2);
  }
  fail(e);
}
