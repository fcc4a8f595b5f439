import test from 'ava';
import { execFileSync } from 'node:child_process';
import { Lease } from '../../src/workers/lease.ts';
import { monotonicMs } from '../../src/clock/index.ts';

test('a lease runs from the send time of the answered heartbeat, on the monotonic clock only', (t) => {
  let mono = 1_000;
  const lease = new Lease(7_000, () => mono);
  t.false(lease.valid(), 'no lease before the first answer');
  const sent = lease.now();
  mono += 2_500; // a slow answer
  lease.renew(sent);
  t.true(lease.valid());
  t.is(lease.remaining(), 4_500, 'counted from the send, not the answer');

  // A wall-clock step (an hour back) changes nothing: the lease ignores Date.now.
  const realNow = Date.now;
  Date.now = () => realNow() - 3600_000;
  try {
    mono += 4_499;
    t.true(lease.valid());
    mono += 1;
    t.false(lease.valid(), 'runs out exactly 7 s after the send');
  } finally {
    Date.now = realNow;
  }

  // A late answer to an old heartbeat never shortens a newer lease.
  lease.renew(mono);
  const until = lease.deadline;
  lease.renew(mono - 5_000);
  t.is(lease.deadline, until);
});

test('the monotonic clock is the one other processes on the machine read (CLOCK_MONOTONIC)', (t) => {
  // The job monitors (python) compare the agent's lease deadlines against their own clock.
  const before = monotonicMs();
  const other =
    Number(
      execFileSync('python3', ['-c', 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC))'], {
        encoding: 'utf8',
      }).trim(),
    ) / 1e6;
  const after = monotonicMs();
  t.true(before <= other && other <= after, `${before} <= ${other} <= ${after}`);
});
