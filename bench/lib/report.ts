import os from 'node:os';
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';

export type Cell = string | number;
export interface BenchTable {
  title: string;
  columns: string[];
  rows: Cell[][];
}

export interface BenchReport {
  bench: string;
  startedAt: string;
  machine: { cpus: number; cpuModel: string; memoryBytes: number; node: string; kernel: string };
  params: Record<string, unknown>;
  tables: BenchTable[];
  /** Ratios against the baseline measured in the same run: what to compare across machines. */
  ratios: Record<string, number>;
  notes: string[];
}

export function newReport(bench: string, params: Record<string, unknown>): BenchReport {
  return {
    bench,
    startedAt: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryBytes: os.totalmem(),
      node: process.version,
      kernel: os.release(),
    },
    params,
    tables: [],
    ratios: {},
    notes: [],
  };
}

export function printReport(r: BenchReport): void {
  const out = process.stdout;
  out.write(`\n${r.bench} (${r.machine.cpus} cores, ${r.machine.cpuModel}, node ${r.machine.node})\n`);
  for (const t of r.tables) {
    out.write(`\n${t.title}\n`);
    const cells = [t.columns, ...t.rows.map((row) => row.map(fmt))];
    const widths = t.columns.map((_, i) => Math.max(...cells.map((row) => String(row[i] ?? '').length)));
    for (const row of cells)
      out.write(row.map((c, i) => String(c ?? '').padEnd(widths[i] ?? 0)).join('  ') + '\n');
  }
  if (Object.keys(r.ratios).length) {
    out.write('\nratios against the same-run baseline\n');
    for (const [k, v] of Object.entries(r.ratios)) out.write(`  ${k}: ${v.toFixed(2)}\n`);
  }
  for (const n of r.notes) out.write(`note: ${n}\n`);
}

function fmt(c: Cell): string {
  if (typeof c === 'number') return Number.isInteger(c) ? String(c) : c.toFixed(2);
  return c;
}

export function writeJson(file: string, r: BenchReport): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, JSON.stringify(r, null, 2) + '\n');
}

export interface BarSeries {
  label: string;
  value: number;
  group?: string;
}

/** A horizontal bar chart as a standalone SVG (no dependencies, readable in any browser). */
export function barChartSvg(title: string, unit: string, bars: BarSeries[]): string {
  const rowH = 26;
  const left = 260;
  const width = 820;
  const plotW = width - left - 90;
  const top = 46;
  const height = top + bars.length * rowH + 30;
  const max = Math.max(1e-9, ...bars.map((b) => b.value));
  const palette = ['#4C78A8', '#F58518', '#54A24B', '#B279A2', '#E45756', '#72B7B2'];
  const groups = [...new Set(bars.map((b) => b.group ?? ''))];
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const rows = bars
    .map((b, i) => {
      const y = top + i * rowH;
      const w = Math.max(1, (b.value / max) * plotW);
      const color = palette[groups.indexOf(b.group ?? '') % palette.length];
      return (
        `<text x="${left - 8}" y="${y + 17}" text-anchor="end" font-size="13">${esc(b.label)}</text>` +
        `<rect x="${left}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${color}"/>` +
        `<text x="${left + w + 6}" y="${y + 17}" font-size="12">${b.value.toFixed(1)} ${esc(unit)}</text>`
      );
    })
    .join('\n');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n` +
    `<text x="${width / 2}" y="26" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)}</text>\n` +
    rows +
    '\n</svg>\n'
  );
}

export function writeSvg(file: string, svg: string): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, svg);
}

/** A progress bar on stderr for long runs (silent when stderr is not a terminal unless forced). */
export function progressBar(label: string, total: number): { update(n: number): void; stop(): void } {
  if (!process.stderr.isTTY && !process.env.STDCHK_BENCH_PROGRESS) {
    return { update: () => undefined, stop: () => undefined };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value}/{total} MiB | {eta}s left`, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.ceil(total / 1048576), 0);
  return { update: (n) => bar.update(Math.floor(n / 1048576)), stop: () => bar.stop() };
}

export const MiB = 1024 * 1024;
export const mbps = (bytes: number, seconds: number) => bytes / 1e6 / Math.max(seconds, 1e-9);
