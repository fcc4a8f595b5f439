import pino from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/** JSON logs on stderr (stdout stays for command output); STDCHK_LOG_LEVEL overrides the level. */
export function createLogger(name: string, bindings: Record<string, unknown> = {}): Logger {
  return pino(
    { name, level: process.env.STDCHK_LOG_LEVEL ?? 'info', base: { pid: process.pid, ...bindings } },
    pino.destination({ dest: 2, sync: true }),
  );
}

/** A logger that drops everything, for library use without a daemon around it. */
export const silentLogger: Logger = pino({ level: 'silent' });
