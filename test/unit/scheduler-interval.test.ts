import test from 'ava';
import { chooseInterval, dalyInterval, observedMtbf, youngInterval } from '../../src/scheduler/interval.ts';

const MIN = 60;
const HOUR = 3600;

test("Young's first order is sqrt(2CM)", (t) => {
  // Young (1974): C = 5 min, M = 24 h -> 120 min.
  t.is(youngInterval(5 * MIN, 24 * HOUR), 120 * MIN);
  t.is(youngInterval(2, 100), 20);
});

test("Daly's higher-order estimate matches the paper's examples", (t) => {
  // Daly (2006), figs. 3-5: C = 5 min; M = 24 h -> 117 min, M = 6 h -> 57 min, M = 15 min -> 9.1 min.
  t.is(Math.round(dalyInterval(5 * MIN, 24 * HOUR) / MIN), 117);
  t.is(Math.round(dalyInterval(5 * MIN, 6 * HOUR) / MIN), 57);
  t.is(Math.round((dalyInterval(5 * MIN, 15 * MIN) / MIN) * 10) / 10, 9.1);
});

test("Daly's estimate: exact form, limits", (t) => {
  const C = 3;
  const M = 1000;
  const x = C / (2 * M);
  t.is(dalyInterval(C, M), Math.sqrt(2 * C * M) * (1 + Math.sqrt(x) / 3 + x / 9) - C);
  // C >= 2M: checkpoint once per MTBF.
  t.is(dalyInterval(250, 100), 100);
  t.is(dalyInterval(200, 100), 100);
  // Tends to Young's as C/M -> 0.
  t.true(Math.abs(dalyInterval(0.001, 1e6) / youngInterval(0.001, 1e6) - 1) < 1e-3);
  t.throws(() => dalyInterval(1, 0));
});

test('auto interval: measured C and given M, recomputed as C changes', (t) => {
  const policy = { policy: 'auto' as const, mtbfMs: 2 * HOUR * 1000, keep: 2 };
  const history = { failures: 0, workerSeconds: 0 };
  const before = chooseInterval({ policy, costs: [], history, defaultMtbfSeconds: 86400 });
  t.is(before.checkpointCost, 0);
  t.is(before.mtbf, 7200);
  t.is(before.mtbfSource, 'given');
  t.is(before.seconds, dalyInterval(1, 7200), 'C = 1 s assumed until measured');
  t.regex(before.reason, /not measured yet/);

  const after = chooseInterval({ policy, costs: [0.2, 0.4, 0.3, 0.5], history, defaultMtbfSeconds: 86400 });
  const c = (0.4 + 0.3 + 0.5) / 3; // the last three
  t.true(Math.abs(after.checkpointCost - c) < 1e-12);
  t.is(after.seconds, dalyInterval(c, 7200));
  t.is(after.youngSeconds, youngInterval(c, 7200));
  t.is(after.policy, 'auto');
  t.regex(after.reason, /Daly/);
  t.regex(after.reason, /given/);
});

test('auto interval: observed MTBF from the grid, else assumed', (t) => {
  const policy = { policy: 'auto' as const, keep: 2 };
  const assumed = chooseInterval({
    policy,
    costs: [2],
    history: { failures: 0, workerSeconds: 500 },
    defaultMtbfSeconds: 86400,
  });
  t.is(assumed.mtbfSource, 'assumed');
  t.is(assumed.mtbf, 86400);
  const history = { failures: 4, workerSeconds: 4 * 3600 };
  t.is(observedMtbf(history), 3600);
  const observed = chooseInterval({ policy, costs: [2], history, defaultMtbfSeconds: 86400 });
  t.is(observed.mtbfSource, 'observed');
  t.is(observed.mtbf, 3600);
  t.is(observed.seconds, dalyInterval(2, 3600));
});

test('fixed and off policies', (t) => {
  const history = { failures: 0, workerSeconds: 0 };
  const fixed = chooseInterval({
    policy: { policy: 'fixed', intervalMs: 5000, keep: 2 },
    costs: [0.3],
    history,
    defaultMtbfSeconds: 1,
  });
  t.is(fixed.seconds, 5);
  t.is(fixed.checkpointCost, 0.3);
  const off = chooseInterval({
    policy: { policy: 'off', keep: 2 },
    costs: [],
    history,
    defaultMtbfSeconds: 1,
  });
  t.is(off.seconds, 0);
});

test('the interval never drops below one second', (t) => {
  const v = chooseInterval({
    policy: { policy: 'auto', mtbfMs: 2000, keep: 1 },
    costs: [0.01],
    history: { failures: 0, workerSeconds: 0 },
    defaultMtbfSeconds: 1,
  });
  t.is(v.seconds, 1);
  t.regex(v.reason, /minimum/);
});
