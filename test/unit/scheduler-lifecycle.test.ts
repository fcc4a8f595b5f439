import test from 'ava';
import {
  FINAL_PHASES,
  JOB_PHASES,
  JOB_STATES,
  TRANSITIONS,
  activityOf,
  canTransition,
  phaseFrom,
  stateOf,
  transition,
} from '../../src/scheduler/lifecycle.ts';
import type { JobPhase } from '../../src/scheduler/lifecycle.ts';
import { Scheduler } from '../../src/scheduler/scheduler.ts';
import { MemorySchedulerStore } from '../../src/scheduler/store.ts';
import { toJobStatus } from '../../src/scheduler/service.ts';
import { newJobRecord, viewOf } from '../../src/scheduler/records.ts';
import { validateJobSpec } from '../../src/jobs/spec.ts';
import { chooseInterval } from '../../src/scheduler/interval.ts';
import type { JobRecord } from '../../src/scheduler/records.ts';
import { WORKER_JOB_PHASES, workerPhaseFromWire, workerPhaseToWire } from '../../src/jobs/messages.ts';
import { silentLogger } from '../../src/logging/index.ts';

const job = (phase: JobPhase) => ({ id: 'j-000001', phase });

test('the allowed transitions, as written down', (t) => {
  const allowed: [JobPhase, JobPhase][] = [
    ['queued', 'starting'], // placed, no checkpoint
    ['queued', 'restoring'], // placed, from its newest complete checkpoint
    ['queued', 'running'], // its lost worker came back before it moved
    ['queued', 'cancelled'],
    ['starting', 'running'],
    ['restoring', 'running'],
    ['running', 'checkpointing'],
    ['checkpointing', 'running'],
    ['checkpointing', 'checkpointing'], // a second begin while a report is missing
  ];
  for (const from of ['starting', 'restoring', 'running', 'checkpointing'] as const) {
    for (const to of ['queued', 'done', 'failed', 'cancelled'] as const) allowed.push([from, to]);
  }
  for (const [from, to] of allowed) {
    const j = job(from);
    t.is(transition(j, to), to, `${from} -> ${to}`);
    t.is(j.phase, to);
  }
});

test('refused transitions throw and leave the phase as it was', (t) => {
  const refused: [JobPhase, JobPhase][] = [
    ['queued', 'checkpointing'],
    ['queued', 'done'],
    ['queued', 'failed'],
    ['starting', 'restoring'],
    ['starting', 'checkpointing'], // no checkpoint before the start is confirmed
    ['restoring', 'checkpointing'],
    ['restoring', 'starting'],
    ['running', 'starting'],
    ['running', 'restoring'],
    ['done', 'running'],
    ['done', 'queued'],
    ['failed', 'queued'],
    ['cancelled', 'queued'],
    ['cancelled', 'done'],
    ['done', 'cancelled'],
  ];
  for (const [from, to] of refused) {
    const j = job(from);
    const e = t.throws(() => transition(j, to), undefined, `${from} -> ${to}`);
    t.regex(e?.message ?? '', new RegExp(`refused transition ${from} -> ${to}`));
    t.is((e as { code?: string }).code, 'INTERNAL');
    t.is(j.phase, from);
  }
});

test('the table is the whole truth: every pair is allowed exactly when listed (or no change)', (t) => {
  for (const from of JOB_PHASES) {
    for (const to of JOB_PHASES) {
      t.is(canTransition(from, to), from === to || TRANSITIONS[from].includes(to), `${from} -> ${to}`);
    }
  }
  for (const p of FINAL_PHASES) t.deepEqual(TRANSITIONS[p], [], `${p} is final`);
  for (const p of JOB_PHASES.filter((x) => !FINAL_PHASES.has(x)))
    t.true(canTransition(p, 'cancelled'), `${p} can be cancelled`);
});

test('users see state and activity as before, derived from the phase, and old records map back', (t) => {
  const shown = Object.fromEntries(JOB_PHASES.map((p) => [p, [stateOf(p), activityOf(p)]]));
  t.deepEqual(shown, {
    queued: ['queued', ''],
    starting: ['running', 'starting'],
    restoring: ['restoring', 'restoring'],
    running: ['running', ''],
    checkpointing: ['running', 'checkpointing'],
    done: ['done', ''],
    failed: ['failed', ''],
    cancelled: ['cancelled', ''],
  });
  for (const p of JOB_PHASES) t.is(phaseFrom(stateOf(p), activityOf(p)), p);
  t.is(phaseFrom('running', 'restoring'), 'restoring', 'a worker kept it while restoring (old records)');
  t.throws(() => phaseFrom('sleeping', ''), { message: /unknown job state "sleeping"/ });
  t.deepEqual([...new Set(JOB_PHASES.map(stateOf))].sort(), [...JOB_STATES].sort());
});

test('on the wire: enums beside the text users script against', (t) => {
  for (const p of JOB_PHASES) {
    const status = toJobStatus(viewOf({ ...sampleRecord(), phase: p }));
    t.is(status.state, stateOf(p));
    t.is(status.activity, activityOf(p));
    t.is(status.jobState as string, `JOB_STATE_${stateOf(p).toUpperCase()}`);
    t.is(status.jobActivity as string, `JOB_ACTIVITY_${(activityOf(p) || 'none').toUpperCase()}`);
  }
  for (const p of WORKER_JOB_PHASES) {
    const w = workerPhaseToWire(p);
    t.is(workerPhaseFromWire(w.jobPhase as never, ''), p, 'the enum is read first');
    t.is(workerPhaseFromWire('WORKER_JOB_PHASE_UNSPECIFIED', p), p, 'the text, from an older worker');
  }
  t.is(workerPhaseFromWire('WORKER_JOB_PHASE_UNSPECIFIED', 'dancing'), undefined);
});

test('a scheduler database written before phases existed loads with the same states', async (t) => {
  const store = new MemorySchedulerStore();
  const old = (id: string, state: string, activity: string) => {
    const r = { ...sampleRecord(), id, state, activity } as Partial<JobRecord>;
    delete r.phase;
    return r as JobRecord;
  };
  await store.save({
    jobs: [
      old('a-000001', 'running', 'checkpointing'),
      old('b-000001', 'restoring', 'restoring'),
      old('c-000001', 'done', ''),
    ],
  });
  const files = {
    readLog: async () => ({ data: Buffer.alloc(0), size: 0 }),
    removeCheckpoint: async () => {},
    close: async () => {},
  };
  const s = await Scheduler.open({ store, files, logger: silentLogger });
  t.like(s.get('a-000001'), { phase: 'checkpointing', state: 'running', activity: 'checkpointing' });
  t.like(s.get('b-000001'), { phase: 'restoring', state: 'restoring', activity: 'restoring' });
  t.like(s.get('c-000001'), { phase: 'done', state: 'done', activity: '' });
  t.deepEqual(
    s.list(['running']).map((j) => j.id),
    ['a-000001'],
  );
  await s.close();
});

function sampleRecord(): JobRecord {
  const spec = validateJobSpec({
    name: 'j',
    kind: 'process',
    args: ['true'],
    checkpoint: { interval: 'off' },
  });
  return newJobRecord(
    'j-000001',
    spec,
    chooseInterval({
      policy: spec.checkpoint,
      costs: [],
      history: { failures: 0, workerSeconds: 0 },
      defaultMtbfSeconds: 86400,
    }),
    1,
  );
}
