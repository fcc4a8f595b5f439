import test from 'ava';
import { formatSize, parseDuration, parseSize } from '../../src/config/units.ts';
import { isStdchkError } from '../../src/errors/index.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

test('sizes: the units users write, read as binary multiples', (t) => {
  const cases: [string, number][] = [
    ['0', 0],
    ['4096', 4096],
    ['4096B', 4096],
    ['4096 b', 4096],
    ['1k', KiB],
    ['1K', KiB],
    ['1KB', KiB],
    ['1KiB', KiB],
    ['512m', 512 * MiB],
    ['512M', 512 * MiB],
    ['512MB', 512 * MiB],
    ['512MiB', 512 * MiB],
    ['8Gi', 8 * GiB],
    ['200G', 200 * GiB],
    ['200GB', 200 * GiB],
    ['200GiB', 200 * GiB],
    ['200 GiB', 200 * GiB],
    ['200gib', 200 * GiB],
    ['1.5T', 1.5 * TiB],
    ['1.5TiB', 1.5 * TiB],
    ['2P', 2 * 1024 * TiB],
    [' 64MiB ', 64 * MiB],
    ['1.5k', 1536],
    ['1.0001k', 1024],
  ];
  for (const [text, bytes] of cases) t.is(parseSize(text, '--capacity'), bytes, text);
});

test('sizes: anything else is refused with the flag, the value and an example', (t) => {
  for (const text of [
    '',
    'banana',
    '1XB',
    '1 X',
    '12Q',
    '-1',
    '-1G',
    '1e3',
    '0x10',
    '1.5',
    '1.5B',
    '1GiBs',
    'G',
    '1..5G',
    '1,5G',
    'Infinity',
    '9'.repeat(30) + 'P',
    '1'.repeat(100),
  ]) {
    const e = t.throws(() => parseSize(text, '--capacity'), undefined, text);
    t.true(isStdchkError(e, 'INVALID_ARGUMENT'), text);
    t.regex(e!.message, /^--capacity: not a size: ".*" \(write e\.g\. 4096, 512MiB, 200G or 1\.5T\)$/, text);
  }
  t.is(parseSize(4096), 4096);
  t.throws(() => parseSize(-1));
  t.throws(() => parseSize(1.5));
});

test('durations: a number and a unit; a bare number is refused with a hint', (t) => {
  const cases: [string, number][] = [
    ['500ms', 500],
    ['30s', 30_000],
    ['30 s', 30_000],
    ['1.5s', 1500],
    ['5m', 300_000],
    ['5min', 300_000],
    ['5 minutes', 300_000],
    ['1m', 60_000],
    ['1MIN', 60_000],
    ['2h', 7_200_000],
    ['2 hours', 7_200_000],
    ['1d', 86_400_000],
    ['0s', 0],
  ];
  for (const [text, ms] of cases) t.is(parseDuration(text, '--gc-grace'), ms, text);
  const bare = t.throws(() => parseDuration('10', '--heartbeat-timeout'));
  t.is(bare!.message, '--heartbeat-timeout: not a duration: "10" (a unit is needed: 10s, 10ms, 10m)');
  for (const text of ['', 'soon', '10x', '1y', '1w', 's', '-5s', '1h30m', '1M', '5 s s', '1'.repeat(100)]) {
    const e = t.throws(() => parseDuration(text, '--gc-grace'), undefined, text);
    t.true(isStdchkError(e, 'INVALID_ARGUMENT'), text);
    t.regex(e!.message, /^--gc-grace: not a duration: /, text);
  }
  t.is(parseDuration(250), 250);
});

test('sizes print with IEC labels', (t) => {
  t.is(formatSize(0), '0 B');
  t.is(formatSize(1023), '1023 B');
  t.is(formatSize(1024), '1 KiB');
  t.is(formatSize(1536), '1.5 KiB');
  t.is(formatSize(200 * GiB), '200 GiB');
  t.is(formatSize(1.5 * TiB), '1.5 TiB');
  t.is(formatSize(64 * MiB + 1), '64 MiB');
});
