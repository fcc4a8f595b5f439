import test from 'ava';
import { JobUserPolicy, getentLookup, parseAllowList, parsePasswdLine } from '../../src/jobs/users.ts';
import type { PasswdEntry, UserLookup } from '../../src/jobs/users.ts';
import { validateJobSpec } from '../../src/jobs/spec.ts';
import { isStdchkError } from '../../src/errors/index.ts';

// Who a job may run as: the job file's "user" field and the grid's policy
// (--allow-users, --default-user), checked with a fixed user database.

const USERS: PasswdEntry[] = [
  { name: 'root', uid: 0, gid: 0, home: '/root' },
  { name: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent' },
  { name: 'alice', uid: 1000, gid: 1000, home: '/home/alice' },
  { name: 'bob', uid: 1001, gid: 100, home: '/home/bob' },
  { name: 'batch', uid: 20000, gid: 20000, home: '/srv/batch' },
];
const lookup: UserLookup = (key) =>
  Promise.resolve(USERS.find((u) => u.name === key || String(u.uid) === key));

const policy = (allow = '', defaultUser?: string) =>
  new JobUserPolicy({ allow, ...(defaultUser ? { defaultUser } : {}), lookup, where: 'testhost' });

async function refused(p: JobUserPolicy, user: string): Promise<string> {
  try {
    await p.resolve(user);
  } catch (e) {
    return isStdchkError(e) ? `${e.code}: ${e.message}` : String(e);
  }
  return 'allowed';
}

test('a job file may name a user, a uid or uid:gid; anything else is refused naming the field', (t) => {
  const base = { kind: 'process', args: ['true'] };
  t.is(validateJobSpec({ ...base, user: 'alice' }).user, 'alice');
  t.is(validateJobSpec({ ...base, user: '1000' }).user, '1000');
  t.is(validateJobSpec({ ...base, user: '1000:100' }).user, '1000:100');
  t.is(validateJobSpec(base).user, undefined);
  for (const bad of [
    '',
    'alice:100',
    '1000:',
    ':100',
    '-1',
    '1000:100:1',
    'a b',
    'x'.repeat(40),
    7,
    '4294967295',
  ]) {
    const e = t.throws(() => validateJobSpec({ ...base, user: bad }));
    t.regex(e.message, /^job file: "user" must be a user name, "uid" or "uid:gid"/, String(bad));
  }
});

test('without an allow list only the default user runs: nobody, by default', async (t) => {
  const p = policy();
  t.like(await p.resolve(undefined), { uid: 65534, gid: 65534, name: 'nobody', home: '/nonexistent' });
  t.like(await p.resolve('nobody'), { uid: 65534 });
  t.like(await p.resolve('65534'), { uid: 65534, gid: 65534 });
  t.regex(
    await refused(p, 'root'),
    /^PERMISSION_DENIED: job file: "user" "root" is not allowed on this grid: root is not in --allow-users \(allowed: the default user nobody\)$/,
  );
  t.regex(await refused(p, '0'), /"0" \(root\) is not allowed.*root is not in --allow-users/);
  t.regex(await refused(p, 'alice'), /uid 1000 is not in --allow-users/);
  t.regex(await refused(p, '65534:0'), /gid 0 is not in --allow-users/, 'nobody with the root group');
});

test('an allow list of names, uids and ranges; the primary group comes with the user', async (t) => {
  const p = policy('alice, 2500,20000-29999');
  t.like(await p.resolve('alice'), { uid: 1000, gid: 1000, home: '/home/alice' });
  t.like(await p.resolve('1000'), { uid: 1000, gid: 1000, name: 'alice' });
  t.like(await p.resolve('1000:1000'), { uid: 1000, gid: 1000 });
  t.like(await p.resolve('2500'), { uid: 2500, gid: 2500, home: '/' }, 'a uid with no entry: gid = uid');
  t.like(await p.resolve('batch'), { uid: 20000, gid: 20000 });
  t.like(await p.resolve('25000:20001'), { uid: 25000, gid: 20001 }, 'a range covers gids too');
  t.like(await p.resolve('1000:65534'), { uid: 1000, gid: 65534 }, "the default user's group");
  t.regex(await refused(p, '1000:0'), /gid 0 is not in --allow-users/);
  t.regex(await refused(p, 'bob'), /"bob" is not allowed.*uid 1001/);
  t.regex(
    await refused(p, 'root'),
    /root is not in --allow-users \(allowed: the default user nobody, alice, 2500, 20000-29999\)/,
  );
  t.regex(await refused(p, 'mallory'), /^INVALID_ARGUMENT: job file: "user": no user "mallory" on testhost$/);
});

test('root runs only when the operator says so', async (t) => {
  t.like(await policy('root').resolve('root'), { uid: 0, gid: 0 });
  t.like(await policy('0').resolve('0:0'), { uid: 0, gid: 0 });
  t.like(await policy('0-999').resolve('root'), { uid: 0 });
  t.like(await policy('', 'root').resolve(undefined), { uid: 0 }, '--default-user root');
  t.like(await policy('', '1000:100').resolve(undefined), { uid: 1000, gid: 100 });
  t.regex(await refused(policy('1-999'), 'root'), /root is not in --allow-users/);
});

test('bad policies are refused with the flag named', (t) => {
  t.deepEqual(parseAllowList(''), []);
  t.deepEqual(parseAllowList(' alice , 7,10-20 '), [
    { name: 'alice' },
    { from: 7, to: 7 },
    { from: 10, to: 20 },
  ]);
  for (const bad of ['20-10', 'a b', '1-99999999999', '-5', 'x:1']) {
    t.throws(() => parseAllowList(bad), { message: /^--allow-users: / }, bad);
  }
  t.throws(() => new JobUserPolicy({ defaultUser: 'a b' }), { message: /^--default-user must be/ });
});

test("the host's user database through getent", async (t) => {
  t.like(await getentLookup('root'), { name: 'root', uid: 0, gid: 0 });
  t.like(await getentLookup('0'), { name: 'root' });
  t.is(await getentLookup('no-such-user-stdchk'), undefined);
  t.is(parsePasswdLine('garbage'), undefined);
  t.deepEqual(parsePasswdLine('nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin'), {
    name: 'nobody',
    uid: 65534,
    gid: 65534,
    home: '/nonexistent',
  });
});
