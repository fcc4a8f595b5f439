import { invalid } from '../errors/index.ts';

// The log levels, apart from the logger itself so that the CLI checks
// --log-level without loading pino (`stdchk --help` loads no logger).

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The level daemons log at: --log-level (put into STDCHK_LOG_LEVEL by the CLI), else info. */
export function logLevel(): LogLevel {
  const level = process.env.STDCHK_LOG_LEVEL || 'info';
  return checkLogLevel(level, 'STDCHK_LOG_LEVEL');
}

export function checkLogLevel(level: string, what = '--log-level'): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw invalid(`${what} must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(level)}`);
  return level as LogLevel;
}
