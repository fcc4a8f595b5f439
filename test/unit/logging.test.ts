import test from 'ava';
import { checkLogLevel, humanLogLine } from '../../src/logging/index.ts';

test('log levels are checked: one of pino levels, else a clear refusal', (t) => {
  t.is(checkLogLevel('debug'), 'debug');
  t.is(checkLogLevel('silent'), 'silent');
  const e = t.throws(() => checkLogLevel('loud'));
  t.is(e!.message, '--log-level must be one of trace, debug, info, warn, error, fatal, silent, not "loud"');
});

test('a JSON log line reads as time, level, daemon, message and fields on a terminal', (t) => {
  const line = JSON.stringify({
    level: 40,
    time: Date.UTC(2026, 11, 4, 12, 3, 4, 120),
    pid: 7,
    name: 'manager',
    msg: 'benefactor lost',
    id: 'b1',
    address: '127.0.0.1:7071',
    note: 'two words',
    n: 3,
  });
  t.is(
    humanLogLine(line),
    '12:03:04.120 WARN  manager: benefactor lost id=b1 address=127.0.0.1:7071 note="two words" n=3',
  );
  t.is(humanLogLine('not json'), 'not json');
});
