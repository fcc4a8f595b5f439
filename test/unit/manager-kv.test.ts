import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LevelKeyValueStore, MemoryKeyValueStore } from '../../src/manager/kv.ts';
import type { KeyValueStore } from '../../src/manager/kv.ts';

// One contract, every implementation (JuiceFS style): the metadata store may
// only rely on what passes here for both.

const dirs: string[] = [];
test.after.always(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'stdchk-kv-'));
  dirs.push(d);
  return d;
}

interface Engine {
  name: string;
  open(): Promise<{ kv: KeyValueStore; reopen?: () => Promise<KeyValueStore> }>;
}

const engines: Engine[] = [
  {
    name: 'memory',
    open: async () => ({ kv: new MemoryKeyValueStore() }),
  },
  {
    name: 'level',
    open: async () => {
      const dir = path.join(tempDir(), 'db');
      return { kv: await LevelKeyValueStore.open(dir), reopen: () => LevelKeyValueStore.open(dir) };
    },
  },
];

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const b = (s: string) => Buffer.from(s);

for (const engine of engines) {
  test(`${engine.name}: get of a missing key is undefined; put then get returns the bytes`, async (t) => {
    const { kv } = await engine.open();
    t.is(await kv.get('nope'), undefined);
    await kv.batch([{ type: 'put', key: 'a', value: b('1') }]);
    t.deepEqual(await kv.get('a'), b('1'));
    await kv.close();
  });

  test(`${engine.name}: a batch applies puts and deletes in order`, async (t) => {
    const { kv } = await engine.open();
    await kv.batch(
      [
        { type: 'put', key: 'x', value: b('1') },
        { type: 'put', key: 'y', value: b('2') },
        { type: 'del', key: 'x' },
        { type: 'put', key: 'y', value: b('3') },
      ],
      { sync: true },
    );
    t.is(await kv.get('x'), undefined);
    t.deepEqual(await kv.get('y'), b('3'));
    await kv.batch([]);
    await kv.close();
  });

  test(`${engine.name}: values are copies (changing a returned or written buffer changes nothing)`, async (t) => {
    const { kv } = await engine.open();
    const v = b('abc');
    await kv.batch([{ type: 'put', key: 'k', value: v }]);
    v[0] = 0x7a;
    const got = (await kv.get('k')) as Buffer;
    t.deepEqual(got, b('abc'));
    got[0] = 0x7a;
    t.deepEqual(await kv.get('k'), b('abc'));
    await kv.close();
  });

  test(`${engine.name}: prefix scans are ordered bytewise and stop at the prefix`, async (t) => {
    const { kv } = await engine.open();
    const keys = ['c:b', 'c:a', 'c;', 'c', 'b:z', 'c:\u00e9', 'c:\uffff', 'c:\u{1f600}', 'c:a1', 'd:a'];
    await kv.batch(keys.map((key, i) => ({ type: 'put' as const, key, value: b(String(i)) })));
    const entries = await collect(kv.entries('c:'));
    t.deepEqual(
      entries.map(([k]) => k),
      ['c:a', 'c:a1', 'c:b', 'c:\u00e9', 'c:\uffff', 'c:\u{1f600}'],
    );
    t.deepEqual(entries[0]?.[1], b('1'));
    t.deepEqual(await collect(kv.keys('c:a')), ['c:a', 'c:a1']);
    t.deepEqual(await collect(kv.keys('zz')), []);
    t.is((await collect(kv.keys(''))).length, keys.length);
    await kv.close();
  });

  test(`${engine.name}: a scan reads a snapshot (writes during the scan do not show)`, async (t) => {
    const { kv } = await engine.open();
    await kv.batch(
      Array.from({ length: 2500 }, (_, i) => ({
        type: 'put' as const,
        key: `k:${String(i).padStart(5, '0')}`,
        value: b('v'),
      })),
    );
    let n = 0;
    for await (const key of kv.keys('k:')) {
      if (n === 0) await kv.batch([{ type: 'put', key: 'k:99999', value: b('late') }]);
      t.not(key, 'k:99999');
      n++;
    }
    t.is(n, 2500);
    await kv.close();
  });

  test(`${engine.name}: operations after close are refused`, async (t) => {
    const { kv } = await engine.open();
    await kv.close();
    await t.throwsAsync(() => kv.get('a'));
    await t.throwsAsync(() => kv.batch([{ type: 'put', key: 'a', value: b('1') }]));
  });

  if (engine.name === 'level') {
    test('level: synced data survives a reopen; a second opener is refused clearly', async (t) => {
      const { kv, reopen } = await engine.open();
      await kv.batch([{ type: 'put', key: 'keep', value: b('me') }], { sync: true });
      const err = await t.throwsAsync(() => (reopen as () => Promise<KeyValueStore>)());
      t.regex(err?.message ?? '', /another manager/);
      await kv.close();
      const again = await (reopen as () => Promise<KeyValueStore>)();
      t.deepEqual(await again.get('keep'), b('me'));
      await again.close();
    });
  }
}
