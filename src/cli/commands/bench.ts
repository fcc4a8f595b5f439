import type { Command } from 'commander';
import { action, printJson } from '../output.ts';
import { parseSize } from '../../config/units.ts';
import { StdchkError } from '../../errors/index.ts';
import { addTlsOptions, resolveClientConfig } from '../common.ts';
import { barChartSvg, printReport, writeJson, writeSvg } from '../../../bench/lib/report.ts';
import type { BenchReport } from '../../../bench/lib/report.ts';
import { runWriteBench } from '../../../bench/write.ts';

function finish(
  report: BenchReport,
  opts: { json?: boolean; out?: string; plot?: string },
  svg: () => string,
) {
  if (opts.json) printJson(report);
  else printReport(report);
  if (opts.out) writeJson(opts.out, report);
  if (opts.plot) writeSvg(opts.plot, svg());
}

function parseList(value: string, flag: string): number[] {
  const list = value.split(',').map((s) => Number(s.trim()));
  if (list.some((n) => !Number.isInteger(n) || n < 1 || n > 16)) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `${flag} must be a comma-separated list of integers from 1 to 16`,
    );
  }
  return list;
}

export function registerBenchCommands(program: Command): void {
  const bench = program
    .command('bench')
    .description('measure stdchk against a baseline taken in the same run');

  const write = bench
    .command('write')
    .description('write bandwidth of fresh data at several replica counts vs the same writer to local disk')
    .option('--size <size>', 'bytes to write', '2GiB')
    .option('--replicas <list>', 'replica counts to measure', '1,2')
    .option('--block <size>', 'size of each write', '1MiB')
    .option('--manager <addr>', 'use this cluster instead of a local grid')
    .option('--secret-file <file>', 'secret of that cluster')
    .option('--dir <dir>', 'folder for the local grid and the baseline file (default: a temp folder)')
    .option('--json', 'print the report as JSON')
    .option('--out <file>', 'also write the JSON report to this file')
    .option('--plot <file>', 'draw the results as an SVG chart')
    .action(
      action(
        async (opts: {
          size: string;
          replicas: string;
          block: string;
          manager?: string;
          secretFile?: string;
          tlsCa?: string;
          tlsCert?: string;
          tlsKey?: string;
          dir?: string;
          json?: boolean;
          out?: string;
          plot?: string;
        }) => {
          const sizeBytes = parseSize(opts.size, '--size');
          const blockBytes = parseSize(opts.block, '--block');
          if (blockBytes < 1) throw new StdchkError('INVALID_ARGUMENT', '--block must be at least 1 byte');
          const cfg = opts.manager ? resolveClientConfig(opts) : undefined;
          const report = await runWriteBench({
            sizeBytes,
            blockBytes,
            replicas: parseList(opts.replicas, '--replicas'),
            ...(cfg ? { manager: { address: cfg.managerAddress, secret: cfg.secret, tls: cfg.tls } } : {}),
            ...(opts.dir ? { dir: opts.dir } : {}),
          });
          finish(report, opts, () =>
            barChartSvg(
              `write bandwidth, ${(sizeBytes / 1048576).toFixed(0)} MiB fresh data`,
              'MB/s',
              (report.tables[0]?.rows ?? []).map((r) => ({
                label: String(r[0]),
                value: Number(r[2]),
                group: String(r[0]).startsWith('local') ? 'baseline' : 'stdchk',
              })),
            ),
          );
        },
      ),
    );
  addTlsOptions(write);
}
