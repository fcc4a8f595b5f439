import test from 'ava';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanupAll, counterScript, waitFor } from '../helpers/jobs.ts';
import { SchedGrid } from '../helpers/sched-grid.ts';
import type { Host } from '../helpers/sched-grid.ts';
import { sha256File, writeRandomFile } from '../helpers/grid.ts';
import { copiesHistogram, fileChunks, holdings } from '../helpers/replicas.ts';
import type { ChunkRef } from '../../src/chunking/refs.ts';
import { StorageClient } from '../../src/client/storage-client.ts';
import { readSecretFile } from '../../src/config/secret.ts';

// Issue 6, fault 5 ("network partition"), with real processes: a manager
// and a benefactor on the "server", two hosts each in its own network
// namespace with a benefactor, a `stdchk mount` and a worker. The host
// running a job is cut off (its link set down): its benefactor's chunks are
// re-replicated on the others and its job moves. When the link comes back
// the manager reconciles the returning benefactor: every file reads back
// identical, every chunk is on exactly r benefactors, and the job only ever
// had one live copy.

const MiB = 1024 * 1024;
const STEP = 0.25;

const grid = new SchedGrid({
  storage: true,
  schedulerArgs: ['--heartbeat-timeout', '5s', '--heartbeat-interval', '500ms', '--retention-grace', '3s'],
});
let hosts: Host[];
let rootfs: string;

test.before(async () => {
  const g = await grid.setup(['a', 'b']);
  hosts = g.hosts;
  rootfs = g.rootfs;
});

test.after.always(cleanupAll);

interface StatusJson {
  benefactors: { id: string; host: string; address: string; alive: boolean }[];
  underReplicatedChunks: number;
  repairsInProgress: number;
  health: string;
}

test.serial(
  'a host cut off by a network partition: its chunks are re-replicated, its job moves, and on its return nothing is duplicated or lost',
  async (t) => {
    const managerAddress = `127.0.0.1:${grid.managerPort}`;
    const client = new StorageClient({ managerAddress, secret: readSecretFile(grid.secretFile) });
    t.teardown(() => client.close());
    const status = async (): Promise<StatusJson> => {
      const r = await grid.cli(['status', '--json', '--manager', managerAddress]);
      // 0 ok, 3 degraded, 4 unavailable: the status itself is in the JSON.
      if (![0, 3, 4].includes(r.code ?? -1)) throw new Error(r.stderr);
      return JSON.parse(r.stdout) as StatusJson;
    };

    const id = await grid.submit({
      name: 'partition',
      kind: 'container',
      rootfs,
      args: ['sh', '-c', counterScript(2_000, STEP)],
      checkpoint: { interval: '2s', keep: 2 },
    });
    await waitFor('a checkpoint', async () => (await grid.job(id)).checkpointsTaken >= 1, 60_000, 200);
    const running = (await grid.job(id)).worker;
    const cutHost = hosts.find((h) => h.workerId === running) as Host;
    const other = hosts.find((h) => h !== cutHost) as Host;

    // Files stored (from the server) before the partition, r = 2 over three benefactors.
    const work = path.join(grid.dir, 'files');
    mkdirSync(work);
    const sums = new Map<string, string>();
    for (const name of ['p1', 'p2']) {
      const f = path.join(work, name);
      writeRandomFile(f, 16 * MiB);
      sums.set(`/${name}`, await sha256File(f));
      const r = await grid.cli(['put', f, `/${name}`, '--replicas', '2', '--manager', managerAddress]);
      t.is(r.code, 0, r.stderr);
    }
    const files = async (): Promise<ChunkRef[]> => [
      ...(await fileChunks(client, '/p1')),
      ...(await fileChunks(client, '/p2')),
    ];
    const chunks = await files();
    const before = await status();
    const cutBenefactor = before.benefactors.find((b) => b.host === cutHost.name);
    t.truthy(cutBenefactor, 'the host runs a benefactor');
    const onCut = (await holdings(client, [cutBenefactor?.address as string], chunks)).values().next()
      .value as Set<string>;
    t.true(onCut.size > 0, 'the host to be cut off holds some of the chunks');

    grid.cut(cutHost, true);
    const tCut = Date.now();
    t.log(
      `cut ${cutHost.name} off (its benefactor holds ${onCut.size} of ${chunks.length} chunks; job ${id} ran there)`,
    );
    await waitFor(
      'its benefactor lost and its chunks re-replicated',
      async () => {
        const s = await status();
        const b = s.benefactors.find((x) => x.host === cutHost.name);
        return b && !b.alive && s.underReplicatedChunks === 0 && s.repairsInProgress === 0;
      },
      90_000,
      500,
    );
    t.log(`re-replicated ${((Date.now() - tCut) / 1000).toFixed(1)} s after the cut`);
    const reachable = (await status()).benefactors.filter((b) => b.alive).map((b) => b.address);
    t.deepEqual(copiesHistogram(await holdings(client, reachable, chunks), chunks), { 2: chunks.length });
    await waitFor(
      'the job running on the other host',
      async () => {
        const j = await grid.job(id);
        return j.worker === other.workerId && j.state === 'running';
      },
      60_000,
      200,
    );
    t.log(`job moved to ${other.name} ${((Date.now() - tCut) / 1000).toFixed(1)} s after the cut`);

    grid.cut(cutHost, false);
    const tBack = Date.now();
    let why = '';
    await waitFor(
      'the host back and reconciled: exactly r copies of every chunk',
      async () => {
        const s = await status();
        const b = s.benefactors.find((x) => x.host === cutHost.name);
        why = JSON.stringify({ back: b?.alive, u: s.underReplicatedChunks, r: s.repairsInProgress });
        if (!b?.alive || s.underReplicatedChunks !== 0 || s.repairsInProgress !== 0) return;
        const hist = copiesHistogram(
          await holdings(
            client,
            s.benefactors.map((x) => x.address),
            chunks,
          ),
          chunks,
        );
        why = `copies ${JSON.stringify(hist)}`;
        return hist[2] === chunks.length;
      },
      120_000,
      1_000,
    ).catch((e: unknown) => {
      // What the manager did about the returned benefactor (to tell a lost inventory from a lost delete).
      const trail = grid
        .logOf('manager')
        .split('\n')
        .filter((l) => /returned|inventory|surplus|delete/i.test(l))
        .slice(-30)
        .join('\n');
      throw new Error(`${String(e)}; last: ${why}\nmanager log:\n${trail}`);
    });
    t.log(`reconciled ${((Date.now() - tBack) / 1000).toFixed(1)} s after the link came back`);
    await waitFor(
      'the cut-off host to stop its copy of the job',
      () => grid.containersOf(cutHost).length === 0 && grid.instancesOn(cutHost).length === 0,
      60_000,
      200,
    );
    t.is((await grid.job(id)).worker, other.workerId, 'the job stays where it moved');
    t.is((await status()).health, 'ok');

    // Every file reads back identical, through the CLI as a user would.
    for (const [remote, sum] of sums) {
      const out = path.join(work, `back-${remote.slice(1)}`);
      const r = await grid.cli(['get', remote, out, '--manager', managerAddress]);
      t.is(r.code, 0, r.stderr);
      t.is(await sha256File(out), sum, `${remote} reads back identical`);
    }

    // One live copy at a time: the job's output never has two interleaved counters.
    await sleep(2_000);
    const seen = await grid.logCounts(id);
    const jumps = seen.map((c, i) => (i > 0 ? c - (seen[i - 1] as number) : 1)).filter((d) => d !== 1);
    t.true(jumps.length <= 1, `the two copies never both wrote output: ${JSON.stringify(jumps)}`);
    t.is(seen.filter((c) => c === 1).length, 1, 'never restarted from zero');
    const c = await grid.cli(['cancel', id]);
    t.is(c.code, 0, c.stderr);
  },
);
