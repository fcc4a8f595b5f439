import pino from 'pino';
import type { Logger } from 'pino';
import { invalid } from '../errors/index.ts';

export type { Logger };

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

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const OMITTED = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

/**
 * One JSON log line as a person reads it on a terminal:
 * "12:03:04.120 INFO  manager: benefactor registered id=b1 address=127.0.0.1:7071".
 */
export function humanLogLine(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString().slice(11, 23) : '';
  const level = (LEVEL_NAMES[rec.level as number] ?? String(rec.level)).padEnd(5);
  const fields = Object.entries(rec)
    .filter(([k]) => !OMITTED.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  return `${time} ${level} ${rec.name ?? ''}: ${rec.msg ?? ''}${fields.length ? ' ' + fields.join(' ') : ''}`;
}

/**
 * JSON logs on stderr (stdout stays for command output), one object per
 * line for journald and log shippers; on a terminal, the same lines made
 * readable (humanLogLine). STDCHK_LOG_FORMAT=json|human overrides.
 */
export function createLogger(name: string, bindings: Record<string, unknown> = {}): Logger {
  const options = { name, level: logLevel(), base: { pid: process.pid, ...bindings } };
  const format = process.env.STDCHK_LOG_FORMAT ?? (process.stderr.isTTY ? 'human' : 'json');
  if (format !== 'human') return pino(options, pino.destination({ dest: 2, sync: true }));
  return pino(options, {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line) process.stderr.write(humanLogLine(line) + '\n');
    },
  });
}

/** A logger that drops everything, for library use without a daemon around it. */
export const silentLogger: Logger = pino({ level: 'silent' });
