import test from 'ava';
import type { ExecutionContext } from 'ava';
import path from 'node:path';
import { copyFileSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  cleanupAll,
  runCli,
  sha256File,
  startGrid,
  statusJson,
  tempDir,
  waitFor,
  writeRandomFile,
} from '../helpers/grid.ts';
import type { LocalGrid } from '../helpers/grid.ts';
import { copiesHistogram, fileChunks, holdings } from '../helpers/replicas.ts';
import { authenticatedPeer, rawPeer } from '../helpers/data-stream.ts';
import { readSecretFile } from '../../src/config/secret.ts';
import { makeCa, makeNodeCert } from '../../src/certs/index.ts';
import { FrameType, decodeError, encodeHeader, frameParts } from '../../src/transport/frames.ts';
import { ClientHandshake } from '../../src/transport/handshake.ts';
import type { StorageClient } from '../../src/client/storage-client.ts';

// The framed chunk stream with chain replication (docs/data-path.md), on
// grids of real processes: round trips through `stdchk put/get` and the mount
// at replicas 1-3, the middle benefactor of chains killed during a large put,
// refusals of peers without the secret or the cluster's certificate, and a
// benefactor that keeps serving after malformed frames.

const MiB = 1024 * 1024;
const FRAMED = ['--chunk-transport', 'framed'];

test.after.always(cleanupAll);

interface LogLine {
  msg: string;
  [k: string]: unknown;
}

function logLines(grid: LocalGrid, name: string): LogLine[] {
  return readFileSync(path.join(grid.logDir, `${name}.log`), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/** The log of the benefactor with this id. */
function benefactorLog(grid: LocalGrid, id: string): LogLine[] {
  const i = grid.benefactors.findIndex(
    (_, k) => readFileSync(path.join(grid.benefactorStore(k), 'benefactor.id'), 'utf8').trim() === id,
  );
  if (i < 0) throw new Error(`no benefactor ${id} in the grid`);
  return logLines(grid, `benefactor-${i}`);
}

/** Data addresses and ids of the grid's benefactors, from `stdchk status`. */
async function dataPorts(
  env: Record<string, string>,
): Promise<{ id: string; dataAddress: string; address: string }[]> {
  const s = await statusJson(env);
  return s.benefactors
    .filter((b) => b.alive)
    .map((b) => ({ id: b.id, dataAddress: b.dataAddress, address: b.address }));
}

/** Every chunk of `remote` is on exactly `r` of the live benefactors (asked of each one). */
async function assertCopies(
  t: ExecutionContext,
  client: StorageClient,
  env: Record<string, string>,
  remote: string,
  r: number,
): Promise<void> {
  const chunks = await fileChunks(client, remote);
  const held = await holdings(
    client,
    (await dataPorts(env)).map((b) => b.address),
    chunks,
  );
  t.deepEqual(
    copiesHistogram(held, chunks),
    { [r]: chunks.length },
    `${remote}: every chunk on exactly ${r}`,
  );
}

test.serial(
  'put/get and the mount over the framed stream at replicas 1, 2 and 3: bytes identical, each chunk on r benefactors',
  async (t) => {
    // Made first so it is removed last, after the grid and its mount stopped.
    const work = tempDir();
    const grid = await startGrid({ benefactors: 3 });
    const env = grid.env();
    const client = grid.client();
    t.teardown(() => client.close());
    const ports = await dataPorts(env);
    t.is(ports.length, 3);
    for (const p of ports)
      t.regex(p.dataAddress, /^127\.0\.0\.1:\d+$/, 'each benefactor advertises a data port');
    const mnt = path.join(work, 'mnt');
    await grid.mount(mnt, { replicas: 3, args: FRAMED });
    for (const r of [1, 2, 3]) {
      const src = path.join(work, `src-${r}`);
      writeRandomFile(src, 12 * MiB + r * 4099);
      const sum = await sha256File(src);
      const put = await runCli(['put', src, `/r${r}.bin`, '--replicas', String(r), ...FRAMED, '--json'], env);
      t.is(put.code, 0, put.stderr);
      const stats = JSON.parse(put.stdout) as { bytesUploaded: number; bytesSent: number };
      t.is(stats.bytesSent, stats.bytesUploaded * r);
      const out = path.join(work, `back-${r}`);
      const get = await runCli(['get', `/r${r}.bin`, out, ...FRAMED], env);
      t.is(get.code, 0, get.stderr);
      t.is(await sha256File(out), sum, `put/get at replicas ${r}: identical`);
      t.is(await sha256File(path.join(mnt, `r${r}.bin`)), sum, `read through the mount: identical`);
      await assertCopies(t, client, env, `/r${r}.bin`, r);
    }
    // Written through the mount (replicas 3, framed), read back by get.
    const viaMount = path.join(work, 'via-mount');
    writeRandomFile(viaMount, 9 * MiB + 17);
    copyFileSync(viaMount, path.join(mnt, 'via-mount.bin'));
    const back = path.join(work, 'via-mount-back');
    const get = await runCli(['get', '/via-mount.bin', back, ...FRAMED], env);
    t.is(get.code, 0, get.stderr);
    t.is(await sha256File(back), await sha256File(viaMount));
    await assertCopies(t, client, env, '/via-mount.bin', 3);
    // Over gRPC the same files read back too (the setting only changes the transport).
    const grpcBack = path.join(work, 'grpc-back');
    const g = await runCli(['get', '/r3.bin', grpcBack, '--chunk-transport', 'grpc'], env);
    t.is(g.code, 0, g.stderr);
    t.is(await sha256File(grpcBack), await sha256File(path.join(work, 'src-3')));
    const bad = await runCli(['get', '/r3.bin', grpcBack, '--chunk-transport', 'carrier-pigeon'], env);
    t.is(bad.code, 2);
    t.regex(bad.stderr, /^stdchk: --chunk-transport must be framed or grpc, not "carrier-pigeon"\n$/);
  },
);

test.serial(
  'kill -9 of the middle benefactor of chains during a large put: the put completes on replacements, nothing is lost, replication is restored',
  async (t) => {
    const grid = await startGrid({ benefactors: 4, managerArgs: ['--heartbeat-timeout', '4s'] });
    const env = grid.env();
    const client = grid.client();
    t.teardown(() => client.close());
    const work = tempDir();
    // A committed file first: it must survive the kill.
    const before = path.join(work, 'before');
    writeRandomFile(before, 16 * MiB);
    t.is((await runCli(['put', before, '/before.bin', '--replicas', '3', ...FRAMED], env)).code, 0);
    const big = path.join(work, 'big');
    writeRandomFile(big, 192 * MiB);
    const sum = await sha256File(big);
    const put = runCli(['put', big, '/big.bin', '--replicas', '3', ...FRAMED, '--json'], env);
    // Kill benefactor-1 once the put is well under way (the manager has seen chunks stored).
    await waitFor(
      'the put under way',
      async () => (await statusJson(env)).storedBytes > 48 * MiB,
      120_000,
      100,
    );
    const victim = grid.benefactors[1];
    await grid.kill(victim, 'SIGKILL');
    t.log(
      `killed benefactor-1 (pid ${victim?.child.pid}) with ${((await statusJson(env)).storedBytes / MiB).toFixed(0)} MiB stored`,
    );
    const r = await put;
    t.is(r.code, 0, `the put completes: ${r.stderr}`);
    // The kill did hit chains in the middle: heads reported the failed link and the writer replaced it.
    const forwards = [0, 2, 3].flatMap((i) =>
      logLines(grid, `benefactor-${i}`).filter((l) => l.msg === 'forwarding chunks along the chain failed'),
    );
    t.log(`${forwards.length} chain links to the dead benefactor failed at the benefactor before it`);
    t.true(forwards.length > 0, 'some chain had the killed benefactor after its head');
    const out = path.join(work, 'big-back');
    const get = await runCli(['get', '/big.bin', out, ...FRAMED], env);
    t.is(get.code, 0, get.stderr);
    t.is(await sha256File(out), sum, 'the file reads back identical');
    const out2 = path.join(work, 'before-back');
    t.is((await runCli(['get', '/before.bin', out2, ...FRAMED], env)).code, 0);
    t.is(await sha256File(out2), await sha256File(before), 'the file committed before the kill is intact');
    // `stdchk status`: the dead benefactor is lost, and every chunk is on 3 live benefactors again.
    const healed = await waitFor(
      'replication restored',
      async () => {
        const s = await statusJson(env);
        return s.benefactorsLost === 1 && s.underReplicatedChunks === 0 && s.unavailableChunks === 0
          ? s
          : undefined;
      },
      120_000,
    );
    t.is(healed.underReplicatedChunks, 0);
    for (const remote of ['/big.bin', '/before.bin']) {
      const chunks = await fileChunks(client, remote);
      const held = await holdings(
        client,
        (await dataPorts(env)).map((b) => b.address),
        chunks,
      );
      t.deepEqual(
        copiesHistogram(held, chunks),
        { 3: chunks.length },
        `${remote}: every chunk on the 3 live benefactors`,
      );
    }
  },
);

test.serial(
  'the data port refuses peers without the secret; malformed frames get an error and the benefactor keeps serving',
  async (t) => {
    const grid = await startGrid({ benefactors: 2 });
    const env = grid.env();
    const secret = readSecretFile(grid.secretFile);
    const [b] = await dataPorts(env);
    if (!b) throw new Error('no benefactor');
    // No secret: refused at HELLO.
    const p1 = await rawPeer(b.dataAddress);
    p1.send(frameParts(FrameType.HELLO, 0, new ClientHandshake(undefined, '', 'test').hello()));
    const e1 = decodeError(await p1.next());
    t.is(e1.code, 'UNAUTHENTICATED');
    await p1.closed;
    // Another cluster's secret: the benefactor does not prove ours, and refuses our proof.
    const p2 = await rawPeer(b.dataAddress);
    const other = new ClientHandshake(Buffer.alloc(32, 7), b.id, 'test');
    p2.send(frameParts(FrameType.HELLO, 0, other.hello()));
    const welcome = await p2.next();
    t.throws(() => other.onWelcome(welcome), { message: /did not prove the cluster secret/ });
    p2.send(frameParts(FrameType.PROOF, 0, Buffer.alloc(32, 7)));
    const e2 = decodeError(await p2.next());
    t.is(e2.code, 'UNAUTHENTICATED');
    t.regex(e2.message, /wrong cluster secret/);
    await p2.closed;
    // A STORE before any handshake: refused, the connection closed.
    const p3 = await rawPeer(b.dataAddress);
    p3.send(frameParts(FrameType.STORE, 1, Buffer.alloc(8), [Buffer.alloc(100)]));
    t.regex(decodeError(await p3.next()).message, /unexpected frame: STORE/);
    await p3.closed;
    // Authenticated, then a header with an oversized length and then garbage: closed with a reason.
    const p4 = await authenticatedPeer(b.dataAddress, b.id, secret);
    p4.send(encodeHeader({ type: FrameType.STORE, flags: 0, id: 3, metaLength: 16, dataLength: 0x7fffffff }));
    const e4 = decodeError(await p4.next());
    t.is(e4.code, 'TOO_LARGE');
    await p4.closed;
    const p5 = await authenticatedPeer(b.dataAddress, b.id, secret);
    p5.send(Buffer.from('\x16\x03\x01 not a frame at all'));
    t.regex(decodeError(await p5.next()).message, /not a stdchk data frame/);
    await p5.closed;
    const log = benefactorLog(grid, b.id);
    t.true(
      log.some(
        (l) => l.msg === 'refused a data connection' && /missing cluster credentials/.test(String(l.reason)),
      ),
    );
    t.true(
      log.some((l) => l.msg === 'refused a data connection' && /wrong cluster secret/.test(String(l.reason))),
    );
    t.true(log.some((l) => l.msg === 'closed a data connection that broke the frame format'));
    // Still serving: a put and a get over the framed stream.
    const work = tempDir();
    const f = path.join(work, 'after');
    writeRandomFile(f, 6 * MiB);
    t.is((await runCli(['put', f, '/after.bin', '--replicas', '2', ...FRAMED], env)).code, 0);
    const back = path.join(work, 'after-back');
    t.is((await runCli(['get', '/after.bin', back, ...FRAMED], env)).code, 0);
    t.is(await sha256File(back), await sha256File(f));
    for (const p of grid.benefactors) t.is(p?.child.exitCode, null, `${p?.name} still runs`);
  },
);

test.serial(
  'over mutual TLS the framed stream works, and a certificate of another CA or none at all is refused and logged',
  async (t) => {
    const grid = await startGrid({ benefactors: 3, secret: false, tls: true });
    const env = grid.env();
    const work = tempDir();
    const src = path.join(work, 'src');
    writeRandomFile(src, 10 * MiB + 5);
    t.is((await runCli(['put', src, '/tls.bin', '--replicas', '3', ...FRAMED], env)).code, 0);
    const back = path.join(work, 'back');
    t.is((await runCli(['get', '/tls.bin', back, ...FRAMED], env)).code, 0);
    t.is(await sha256File(back), await sha256File(src));
    const [b] = await dataPorts(env);
    if (!b) throw new Error('no benefactor');
    const ca = readFileSync(grid.tlsFiles('client').ca);
    const otherCa = await makeCa({ name: 'another cluster' });
    const foreign = await makeNodeCert(otherCa, {
      name: 'intruder',
      sans: [{ type: 'ip', value: '127.0.0.1' }],
    });
    const refused = async (what: string, opts: object) => {
      const e = await rawPeer(b.dataAddress, { tls: { ca, ...opts } }).then(
        async (p) => {
          // TLS 1.3: the server's verdict on our certificate arrives after the handshake.
          p.send(frameParts(FrameType.HELLO, 0, new ClientHandshake(undefined, b.id, 'x').hello()));
          const got = await p.next(3000).catch((err: Error) => err);
          p.close();
          return got instanceof Error ? got : new Error(`got frame type ${got.type}`);
        },
        (err: Error) => err,
      );
      t.true(e instanceof Error, `${what}: refused (${e.message})`);
      t.notRegex(e.message, /got frame type/, `${what}: no frame was answered`);
    };
    await refused('a certificate of another CA', { key: foreign.key, cert: foreign.cert });
    await refused('no certificate', {});
    await waitFor(
      'the refusals logged',
      async () =>
        benefactorLog(grid, b.id).filter((l) => l.msg === 'refused TLS connection to the data port').length >=
        2,
      10_000,
    );
    // A plain-text peer gets nothing either.
    const plain = await rawPeer(b.dataAddress);
    plain.send(frameParts(FrameType.HELLO, 0, new ClientHandshake(undefined, b.id, 'x').hello()));
    await t.throwsAsync(plain.next(3000));
    plain.close();
    await sleep(100);
    // Still serving.
    const back2 = path.join(work, 'back2');
    t.is((await runCli(['get', '/tls.bin', back2, ...FRAMED], env)).code, 0);
    t.is(await sha256File(back2), await sha256File(src));
  },
);
