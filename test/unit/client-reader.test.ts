import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startManager } from '../../src/manager/daemon.ts';
import { startBenefactor } from '../../src/benefactor/daemon.ts';
import { StorageClient } from '../../src/client/storage-client.ts';
import { storeFrame } from '../../src/client/benefactor-pool.ts';
import { encodeRefs } from '../../src/chunking/refs.ts';
import { hashChunk } from '../../src/hashing/index.ts';
import { silentLogger } from '../../src/logging/index.ts';
import { unary } from '../../src/rpc/index.ts';
import { Vfs } from '../../src/fuse-client/vfs.ts';
import { constants } from 'node:fs';

const { O_RDONLY } = constants;

// Issue 19 item 3: a chunk's length comes from the first writer's report, and
// the reader used to trust whatever bytes came back for a hash. It now checks
// each fetched chunk's length against the version's: another length is a bad
// replica (the next one is asked), and the read fails clearly rather than
// returning bytes at the wrong offsets. A manager and two benefactors in this
// process, on real gRPC over loopback.

const dirs: string[] = [];
const stops: (() => Promise<void> | void)[] = [];
test.after.always(async () => {
  for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'stdchk-reader-'));
  dirs.push(d);
  return d;
}

test('a fetched chunk whose length differs from the version is refused on every replica, and the read fails clearly', async (t) => {
  const manager = await startManager({
    dataDir: tempDir(),
    listen: '127.0.0.1:0',
    logger: silentLogger,
    heartbeatIntervalMs: 200,
  });
  stops.push(() => manager.stop());
  for (let i = 0; i < 2; i++) {
    const b = await startBenefactor({
      managerAddress: manager.address,
      storeDir: tempDir(),
      capacityBytes: 256 * 1024 * 1024,
      listen: '127.0.0.1:0',
      logger: silentLogger,
      heartbeatIntervalMs: 200,
    });
    stops.push(() => b.stop());
  }
  const client = new StorageClient({ managerAddress: manager.address });
  stops.push(() => client.close());
  for (let i = 0; (await client.status()).benefactorsAlive < 2; i++) {
    if (i > 100) t.fail('benefactors did not register');
    await new Promise((r) => setTimeout(r, 100));
  }
  const benefactors = (await client.status()).benefactors;

  // A normal file reads back.
  const good = randomBytes(300_000);
  const w = await client.openWriter('/good', { replicas: 2 });
  await w.write(Buffer.from(good));
  await w.close();
  const rg = await client.openReader('/good');
  t.deepEqual(await rg.read(0, good.length), good);
  await rg.close();

  // A writer that reported (and committed) a chunk with the wrong length: the first report
  // is what the manager records, so the version says 20005 bytes for a 20000-byte chunk.
  const data = randomBytes(20_000);
  const hash = hashChunk(data);
  const frame = storeFrame([{ hash, data }]);
  const acks = await Promise.all(benefactors.map((b) => client.pool.store(b.address, frame)));
  const refs = encodeRefs([{ hash, length: data.length + 5 }]);
  await unary(client.manager, 'reportStored', {
    replicas: benefactors.map((b, i) => ({ benefactorId: b.id, refs, stamp: acks[i]!.stamp })),
  });
  await unary(client.manager, 'commitVersion', { path: '/liar', refs, size: data.length + 5, replicas: 2 });

  const asked: string[] = [];
  // Whichever chunk engine the client uses (framed or gRPC), every read goes through it.
  const read = client.chunks.read.bind(client.chunks);
  client.chunks.read = (target, hashes, timeoutMs) => {
    asked.push(target.address);
    return read(target, hashes, timeoutMs);
  };
  const reader = await client.openReader('/liar');
  const e = await t.throwsAsync(reader.read(0, data.length + 5));
  await reader.close();
  t.regex(e!.message, /not readable on any replica/);
  t.regex(e!.message, /has 20000 bytes, the version records 20005/);
  t.deepEqual(asked.sort(), benefactors.map((b) => b.address).sort(), 'every replica was tried');

  // The mount's reader checks the same: a read of the file fails, never bytes at wrong offsets.
  const vfs = await Vfs.create(client, { scratchDir: tempDir() });
  stops.push(() => vfs.close());
  const fh = await vfs.open('/liar', O_RDONLY);
  const viaMount = await t.throwsAsync(vfs.read(fh, 0, data.length + 5));
  t.regex(viaMount!.message, /the version records 20005/);
  await vfs.release(fh);

  // What `stdchk get` runs fails too, leaving no partial file.
  const out = path.join(tempDir(), 'liar');
  await t.throwsAsync(client.getFile('/liar', out), { message: /the version records 20005/ });
});
