import test from 'ava';
import { jobSpecToJson, parseJobFile, validateJobSpec } from '../../src/jobs/spec.ts';

const counter = {
  name: 'counter',
  kind: 'container',
  rootfs: '/checkpoints/images/busybox.tar',
  args: ['sh', '-c', 'i=0; while [ $i -lt 600 ]; do i=$((i+1)); echo $i; sleep 1; done'],
  env: {},
  checkpoint: { interval: '5s', keep: 2 },
};

test("the issue's example job parses", (t) => {
  const spec = parseJobFile(JSON.stringify(counter));
  t.is(spec.name, 'counter');
  t.is(spec.kind, 'container');
  t.is(spec.rootfs, '/checkpoints/images/busybox.tar');
  t.deepEqual(spec.checkpoint, { policy: 'fixed', intervalMs: 5000, keep: 2 });
  t.deepEqual(spec.resources, { slots: 1 });
});

test('process jobs, auto intervals with an MTBF, resource hints', (t) => {
  const spec = validateJobSpec({
    kind: 'process',
    args: ['python3', 'train.py'],
    env: { SEED: '1' },
    cwd: '/srv/work',
    checkpoint: { interval: 'auto', mtbf: '2h', keep: 3 },
    resources: { slots: 2, memory: '512MiB', cpus: 1.5 },
  });
  t.is(spec.name, 'python3');
  t.is(spec.kind, 'process');
  t.is(spec.rootfs, undefined);
  t.deepEqual(spec.checkpoint, { policy: 'auto', mtbfMs: 7_200_000, keep: 3 });
  t.deepEqual(spec.resources, { slots: 2, memoryBytes: 512 * 1024 * 1024, cpus: 1.5 });
});

test('a relative rootfs (inside the mount) is kept relative', (t) => {
  t.is(validateJobSpec({ ...counter, rootfs: 'images/busybox.tar' }).rootfs, 'images/busybox.tar');
});

test('defaults: container kind, auto interval, keep 2', (t) => {
  const spec = validateJobSpec({ rootfs: '/img.tar', args: ['true'] });
  t.is(spec.kind, 'container');
  t.deepEqual(spec.checkpoint, { policy: 'auto', keep: 2 });
});

test('the normalised form parses back to the same spec', (t) => {
  for (const raw of [
    counter,
    {
      kind: 'process',
      args: ['x'],
      checkpoint: { interval: 'auto', mtbf: '90m' },
      resources: { memory: '1GiB', cpus: 2 },
    },
    { kind: 'process', args: ['x'], checkpoint: { interval: '2.5s', keep: 1 } },
    { kind: 'process', args: ['x'], checkpoint: { interval: 'off' } },
  ]) {
    const spec = validateJobSpec(raw);
    t.deepEqual(validateJobSpec(jobSpecToJson(spec)), spec);
  }
});

const bad: [string, unknown, RegExp][] = [
  ['not JSON', '{', /not valid JSON/],
  ['not an object', '[1]', /JSON object/],
  ['unknown field', { ...counter, chekpoint: {} }, /"chekpoint" is not a known field/],
  ['no args', { ...counter, args: [] }, /"args" must be a non-empty array/],
  ['args not strings', { ...counter, args: ['sh', 3] }, /"args\[1\]" must be a string/],
  ['bad kind', { ...counter, kind: 'vm' }, /"kind" must be "container" or "process"/],
  ['container without rootfs', { ...counter, rootfs: undefined }, /"rootfs" is required for a container/],
  [
    'rootfs escaping the mount',
    { ...counter, rootfs: '../etc/busybox.tar' },
    /"rootfs" must not contain NUL or ".."/,
  ],
  ['process with rootfs', { ...counter, kind: 'process' }, /"rootfs" is only for "kind": "container"/],
  [
    'bad interval',
    { ...counter, checkpoint: { interval: 'soon' } },
    /"checkpoint.interval" must be a duration/,
  ],
  [
    'tiny interval',
    { ...counter, checkpoint: { interval: '10ms' } },
    /"checkpoint.interval" must be at least 1s/,
  ],
  [
    'bad mtbf',
    { ...counter, checkpoint: { interval: 'auto', mtbf: 'often' } },
    /"checkpoint.mtbf" must be a duration/,
  ],
  [
    'keep 0',
    { ...counter, checkpoint: { interval: '5s', keep: 0 } },
    /"checkpoint.keep" must be a whole number/,
  ],
  [
    'unknown checkpoint field',
    { ...counter, checkpoint: { every: '5s' } },
    /"checkpoint.every" is not a known field/,
  ],
  ['env not strings', { ...counter, env: { A: 1 } }, /"env.A" must be a string/],
  ['bad env name', { ...counter, env: { 'A-B': 'x' } }, /"env.A-B" is not a valid environment variable name/],
  ['bad name', { ...counter, name: 'my job!' }, /"name" must be 1-64 letters/],
  ['bad slots', { ...counter, resources: { slots: 0 } }, /"resources.slots" must be a whole number/],
  ['bad memory', { ...counter, resources: { memory: 'lots' } }, /"resources.memory" must be a size/],
  ['relative cwd', { ...counter, cwd: 'work' }, /"cwd" must be an absolute path/],
];

for (const [what, raw, message] of bad) {
  test(`rejected with a message naming the field: ${what}`, (t) => {
    const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
    const e = t.throws(() => parseJobFile(text));
    t.regex(e?.message ?? '', message);
    t.is((e as { code?: string }).code, 'INVALID_ARGUMENT');
  });
}
