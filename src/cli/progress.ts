import cliProgress from 'cli-progress';
import { formatSize } from '../config/units.ts';

/** What `put` and `get` tell while bytes move: how many so far, and that they are done. */
export interface Progress {
  update(bytes: number): void;
  stop(): void;
}

const SILENT: Progress = { update: () => undefined, stop: () => undefined };

/**
 * A progress bar on standard error for `put` and `get` ("put big.iso
 * [=====-----] 48% | 96.0 MiB / 200.0 MiB | 41.2 MiB/s | 3s left"), only when
 * standard error is a terminal and the output is not --json: scripts, pipes
 * and logs get nothing but the summary line. No bar for an unknown size (a pipe).
 */
export function transferProgress(
  label: string,
  total: number | undefined,
  opts: { json?: boolean },
): Progress {
  if (opts.json || !process.stderr.isTTY || total === undefined) return SILENT;
  const started = performance.now();
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {done} / {size} | {rate} | {eta_formatted} left`,
      barCompleteChar: '=',
      barIncompleteChar: '-',
      hideCursor: false,
      clearOnComplete: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.legacy,
  );
  const payload = (bytes: number) => ({
    done: formatSize(bytes),
    size: formatSize(total),
    rate: `${formatSize(bytes / Math.max((performance.now() - started) / 1000, 1e-3))}/s`,
  });
  bar.start(Math.max(total, 1), 0, payload(0));
  return {
    update: (bytes) => bar.update(Math.min(bytes, Math.max(total, 1)), payload(bytes)),
    stop: () => bar.stop(),
  };
}
