import test from 'ava';
import { runMetadataBench } from '../../bench/metadata.ts';

// The manager benchmark (bench/metadata.ts, `stdchk bench metadata`) at a small size: a real
// manager process indexes chunks, answers lookups and commits, restarts and loads them again.
// Sanity only, never speed: full-size runs are `stdchk bench metadata` (docs/benchmarks.md).

process.env.STDCHK_BENCH_QUIET = '1';

test('bench metadata at 20k chunks: every chunk indexed, found by lookups, and loaded again after a restart', async (t) => {
  const r = await runMetadataBench({
    chunks: 20_000,
    batches: [256],
    inFlight: [1, 4],
    seconds: 0.3,
    commitRefs: 8,
  });
  const res = r.results as {
    chunks: number;
    restart: { chunksLoaded: number | null; chunksAfterRestart: number };
    lookups: { kind: string; lookupsPerSecond: number }[];
    commits: { commitsPerSecond: number }[];
    memory: { indexArrayBytesPerChunk: number | null };
    disk: { bytesPerChunk: number };
  };
  t.is(res.chunks, 20_000);
  t.is(res.restart.chunksLoaded, 20_000, 'the restarted manager loaded every chunk from LevelDB');
  t.is(res.restart.chunksAfterRestart, 20_000);
  t.deepEqual(
    res.lookups.map((l) => l.kind),
    ['present', 'present', 'new'],
  );
  t.true(res.lookups.every((l) => l.lookupsPerSecond > 0));
  t.true(res.commits.length === 2 && res.commits.every((c) => c.commitsPerSecond > 0));
  t.true((res.memory.indexArrayBytesPerChunk ?? 0) > 32, 'at least the hash itself per chunk');
  t.true(res.disk.bytesPerChunk > 0);
  t.is(r.targets[0]?.id, 'metadata_lookups_per_second');
});
