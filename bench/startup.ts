import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { LocalGrid, STDCHK_BIN } from '../src/grid/local-grid.ts';
import { ensureSecretFile } from '../src/config/secret.ts';
import { StdchkError } from '../src/errors/index.ts';
import { ROOT, run, tempDir } from './lib/proc.ts';
import { Steps, finishReport, newReport } from './lib/report.ts';
import type { BenchReport, Cell } from './lib/report.ts';

export interface StartupBenchOptions {
  /** Runs of each command (the median is reported). */
  runs: number;
  dir?: string | undefined;
}

export interface StartupRow {
  command: string;
  /** 'dist': the JavaScript built at install; 'source': the TypeScript through tsx. */
  from: 'node' | 'dist' | 'source';
  medianMs: number;
  minMs: number;
  /** Median minus the median of `node -e 0` measured in the same run. */
  overNodeMs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Wall time of `runs` runs of a command that must succeed, in ms. */
async function times(cmd: string, args: string[], env: NodeJS.ProcessEnv, runs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await run(cmd, args, { env, timeoutMs: 60_000 });
    if (r.code !== 0)
      throw new StdchkError('INTERNAL', `${[cmd, ...args].join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    out.push(r.seconds * 1000);
  }
  return out;
}

/**
 * How long a command takes to start and finish: `stdchk --help`, and `stdchk ls /` against a
 * running manager (one gRPC round trip), from the built JavaScript and from the TypeScript
 * source, against `node -e 0` in the same run (the floor: starting node itself).
 */
export async function runStartupBench(opts: StartupBenchOptions): Promise<BenchReport> {
  const built = existsSync(path.join(ROOT, 'dist/src/cli/main.js'));
  const report = newReport('startup', {
    runs: opts.runs,
    built,
    manager: 'a real `stdchk manager` process on loopback, with the shared secret',
  });
  const steps = new Steps('startup', 3);
  const dir = tempDir(opts.dir, 'stdchk-bench-startup-');
  const grid = new LocalGrid({ dir: path.join(dir, 'grid'), benefactors: 0 });
  const rows: StartupRow[] = [];
  let node = 0;
  try {
    steps.next('starting a manager');
    mkdirSync(grid.logDir, { recursive: true });
    ensureSecretFile(grid.secretFile);
    await grid.startManager();
    const gridEnv = { ...process.env, ...grid.env() };
    delete gridEnv.STDCHK_FROM_SOURCE;
    const sourceEnv = { ...gridEnv, STDCHK_FROM_SOURCE: '1' };

    steps.next(`node -e 0, ${opts.runs} runs`);
    // One warm-up run of each, so that every command is measured with its files in the page cache.
    await times(process.execPath, ['-e', '0'], gridEnv, 1);
    node = median(await times(process.execPath, ['-e', '0'], gridEnv, opts.runs));
    rows.push({ command: 'node -e 0', from: 'node', medianMs: node, minMs: node, overNodeMs: 0 });

    steps.next(`stdchk --help and stdchk ls /, ${opts.runs} runs each`);
    const variants: [StartupRow['from'], NodeJS.ProcessEnv][] = built
      ? [
          ['dist', gridEnv],
          ['source', sourceEnv],
        ]
      : [['source', sourceEnv]];
    for (const [from, env] of variants) {
      for (const args of [['--help'], ['ls', '/']]) {
        await times(STDCHK_BIN, args, env, 1);
        const t = await times(STDCHK_BIN, args, env, opts.runs);
        const m = median(t);
        rows.push({
          command: `stdchk ${args.join(' ')}`,
          from,
          medianMs: m,
          minMs: Math.min(...t),
          overNodeMs: m - node,
        });
      }
    }
  } finally {
    await grid.stop();
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
  }
  report.results.rows = rows;
  report.tables.push({
    title: `wall time per command, median of ${opts.runs} runs (ms); baseline: node -e 0 in the same run`,
    columns: ['command', 'from', 'median ms', 'min ms', 'over node ms'],
    rows: rows.map((r): Cell[] => [r.command, r.from, r.medianMs, r.minMs, r.overNodeMs]),
  });
  for (const r of rows)
    if (r.from !== 'node') report.ratios[`${r.command} (${r.from}) / node -e 0`] = r.medianMs / node;
  if (!built) report.notes.push('no dist/ here (npm run build): measured from the TypeScript source only');
  return finishReport(report);
}
