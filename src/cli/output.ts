import { StdchkError, errorMessage } from '../errors/index.ts';

/** Exit codes: 1 for a failed operation, 2 for bad usage or input. */
export function exitCodeFor(e: unknown): number {
  return e instanceof StdchkError && (e.code === 'INVALID_ARGUMENT' || e.code === 'NAME_TOO_LONG') ? 2 : 1;
}

/** One clear line on stderr and a non-zero exit. */
export function fail(e: unknown): never {
  process.stderr.write(`stdchk: ${errorMessage(e)}\n`);
  process.exit(exitCodeFor(e));
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** A plain aligned table for humans. */
export function printTable(headers: string[], rows: (string | number)[][]): void {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  for (const r of cells) {
    process.stdout.write(
      r
        .map((c, i) => (c ?? '').padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd() + '\n',
    );
  }
}

/** Wraps a command action: any error becomes one line and an exit code. */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<void> | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      fail(e);
    }
  };
}
