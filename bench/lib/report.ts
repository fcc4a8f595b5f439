import os from 'node:os';
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';

export type Cell = string | number | null;
export interface BenchTable {
  title: string;
  columns: string[];
  rows: Cell[][];
}

/** A goal from issue 5 ("Targets"): reported against, never asserted. */
export interface BenchTarget {
  id: string;
  /** What the goal says, in words. */
  goal: string;
  /** The measured value the goal is about (a ratio or a rate); null when not measured in this run. */
  value: number | null;
  /** The bound: `value <= limit` or `value >= limit` (see `direction`). */
  limit: number;
  direction: 'at-least' | 'at-most';
  met: boolean | null;
}

export interface BenchReport {
  bench: string;
  startedAt: string;
  finishedAt?: string;
  /** Wall time of the whole benchmark, setup included. */
  seconds?: number;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryBytes: number;
    node: string;
    kernel: string;
    /** 1-minute load average when the benchmark started and ended: a shared machine shows here. */
    loadStart: number;
    loadEnd?: number;
  };
  params: Record<string, unknown>;
  /** The measurements as records (stable field names, SI units: bytes, seconds). */
  results: Record<string, unknown>;
  /** The same measurements laid out for humans. */
  tables: BenchTable[];
  /** Ratios against the baseline measured in the same run: what to compare across machines. */
  ratios: Record<string, number>;
  targets: BenchTarget[];
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
      loadStart: os.loadavg()[0] ?? 0,
    },
    params,
    results: {},
    tables: [],
    ratios: {},
    targets: [],
    notes: [],
  };
}

/** Stamps the end time and load on a report. */
export function finishReport(r: BenchReport): BenchReport {
  const end = new Date();
  r.finishedAt = end.toISOString();
  r.seconds = (end.getTime() - Date.parse(r.startedAt)) / 1000;
  r.machine.loadEnd = os.loadavg()[0] ?? 0;
  return r;
}

/** Adds a target with its verdict (null value: not measured). */
export function addTarget(
  r: BenchReport,
  t: {
    id: string;
    goal: string;
    value: number | null | undefined;
    limit: number;
    direction: 'at-least' | 'at-most';
  },
): void {
  const value = t.value ?? null;
  const met =
    value === null || !Number.isFinite(value)
      ? null
      : t.direction === 'at-least'
        ? value >= t.limit
        : value <= t.limit;
  r.targets.push({ id: t.id, goal: t.goal, value, limit: t.limit, direction: t.direction, met });
}

export function formatTable(t: BenchTable): string {
  const cells = [t.columns, ...t.rows.map((row) => row.map(fmt))];
  const widths = t.columns.map((_, i) => Math.max(...cells.map((row) => String(row[i] ?? '').length)));
  return cells
    .map((row) =>
      row
        .map((c, i) => {
          const s = String(c ?? '');
          // Text left, numbers right.
          return i === 0 || typeof t.rows[0]?.[i] === 'string'
            ? s.padEnd(widths[i] ?? 0)
            : s.padStart(widths[i] ?? 0);
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function printReport(r: BenchReport, out: NodeJS.WritableStream = process.stdout): void {
  const load = `load ${r.machine.loadStart.toFixed(1)}${r.machine.loadEnd !== undefined ? `-${r.machine.loadEnd.toFixed(1)}` : ''}`;
  out.write(
    `\n== bench ${r.bench} (${r.machine.cpus} cores, ${r.machine.cpuModel}, node ${r.machine.node}, ${load}` +
      `${r.seconds !== undefined ? `, ${r.seconds.toFixed(0)} s` : ''})\n`,
  );
  for (const t of r.tables) out.write(`\n${t.title}\n${formatTable(t)}\n`);
  if (Object.keys(r.ratios).length) {
    out.write('\nratios against the same-run baseline\n');
    for (const [k, v] of Object.entries(r.ratios)) out.write(`  ${k}: ${fmtNumber(v)}\n`);
  }
  if (r.targets.length) {
    out.write('\ntargets (issue 5)\n');
    for (const t of r.targets) {
      const verdict = t.met === null ? 'not measured' : t.met ? 'met' : 'MISSED';
      const v = t.value === null ? '-' : fmtNumber(t.value);
      out.write(
        `  ${verdict.padEnd(12)} ${t.goal}: ${v} (${t.direction === 'at-least' ? '>=' : '<='} ${t.limit})\n`,
      );
    }
  }
  for (const n of r.notes) out.write(`note: ${n}\n`);
}

function fmtNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  const a = Math.abs(n);
  return a >= 100 ? n.toFixed(0) : a >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function fmt(c: Cell): string {
  if (c === null) return '-';
  return typeof c === 'number' ? fmtNumber(c) : c;
}

export function writeJson(file: string, r: BenchReport): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, JSON.stringify(r, null, 2) + '\n');
}

// ---- charts: standalone SVG, no dependencies, readable in any browser -------

/** One panel of a figure: its size and its SVG elements (drawn at 0,0). */
export interface Chart {
  width: number;
  height: number;
  body: string;
}

const PALETTE = ['#4C78A8', '#F58518', '#54A24B', '#B279A2', '#E45756', '#72B7B2', '#EECA3B', '#9D755D'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const color = (i: number) => PALETTE[i % PALETTE.length] as string;

function title(text: string, width: number): string {
  return `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(text)}</text>`;
}

function legend(names: string[], x: number, y: number): string {
  return names
    .map(
      (n, i) =>
        `<rect x="${x}" y="${y + i * 18}" width="12" height="12" fill="${color(i)}"/>` +
        `<text x="${x + 18}" y="${y + i * 18 + 11}" font-size="12">${esc(n)}</text>`,
    )
    .join('');
}

export interface BarSeries {
  label: string;
  value: number;
  group?: string;
}

/** Horizontal bars, one per row, coloured by group. */
export function barChart(titleText: string, unit: string, bars: BarSeries[]): Chart {
  const rowH = 26;
  const left = 280;
  const width = 860;
  const plotW = width - left - 110;
  const top = 46;
  const height = top + bars.length * rowH + 20;
  const max = Math.max(1e-9, ...bars.map((b) => b.value));
  const groups = [...new Set(bars.map((b) => b.group ?? ''))];
  const rows = bars
    .map((b, i) => {
      const y = top + i * rowH;
      const w = Math.max(1, (b.value / max) * plotW);
      return (
        `<text x="${left - 8}" y="${y + 17}" text-anchor="end" font-size="13">${esc(b.label)}</text>` +
        `<rect x="${left}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${color(groups.indexOf(b.group ?? ''))}"/>` +
        `<text x="${left + w + 6}" y="${y + 17}" font-size="12">${fmtNumber(b.value)} ${esc(unit)}</text>`
      );
    })
    .join('\n');
  return { width, height, body: title(titleText, width) + '\n' + rows };
}

/** Kept for callers of the first version: one bar chart as a whole SVG document. */
export function barChartSvg(titleText: string, unit: string, bars: BarSeries[]): string {
  return renderSvg([barChart(titleText, unit, bars)]);
}

export interface GroupedBars {
  title: string;
  unit: string;
  /** One group of bars per category (e.g. per write size). */
  categories: string[];
  /** One bar per series in every category (e.g. local disk, replicas 1, replicas 2); null: not measured. */
  series: { name: string; values: (number | null)[] }[];
}

/** Horizontal grouped bars: categories down the side, one coloured bar per series, a legend. */
export function groupedBarChart(g: GroupedBars): Chart {
  const barH = 16;
  const gap = 12;
  const left = 230;
  const width = 860;
  const legendW = 170;
  const plotW = width - left - legendW - 70;
  const top = 46;
  const groupH = g.series.length * barH + gap;
  const height = Math.max(top + g.categories.length * groupH + 20, top + g.series.length * 18 + 30);
  const max = Math.max(1e-9, ...g.series.flatMap((s) => s.values.map((v) => v ?? 0)));
  const parts: string[] = [title(g.title, width)];
  g.categories.forEach((cat, ci) => {
    const y0 = top + ci * groupH;
    parts.push(
      `<text x="${left - 8}" y="${y0 + (g.series.length * barH) / 2 + 5}" text-anchor="end" font-size="13">${esc(cat)}</text>`,
    );
    g.series.forEach((s, si) => {
      const v = s.values[ci];
      const y = y0 + si * barH;
      if (v === null || v === undefined) {
        parts.push(`<text x="${left + 4}" y="${y + 12}" font-size="11" fill="#888">not measured</text>`);
        return;
      }
      const w = Math.max(1, (v / max) * plotW);
      parts.push(
        `<rect x="${left}" y="${y + 1}" width="${w.toFixed(1)}" height="${barH - 2}" fill="${color(si)}"/>` +
          `<text x="${left + w + 5}" y="${y + 12}" font-size="11">${fmtNumber(v)} ${esc(g.unit)}</text>`,
      );
    });
  });
  parts.push(
    legend(
      g.series.map((s) => s.name),
      width - legendW,
      top,
    ),
  );
  return { width, height, body: parts.join('\n') };
}

export interface LineSeries {
  name: string;
  points: [number, number][];
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** Start the y axis at 0 (default true). */
  yFromZero?: boolean;
}

function niceStep(range: number): number {
  const raw = range / 5;
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-12)));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/** Lines with markers over a numeric x axis, with gridlines and a legend. */
export function lineChart(c: LineChartSpec): Chart {
  const width = 860;
  const height = 380;
  const left = 70;
  const right = 190;
  const top = 46;
  const bottom = 50;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const xs = c.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = c.series.flatMap((s) => s.points.map((p) => p[1]));
  let xMin = Math.min(...xs, Infinity);
  let xMax = Math.max(...xs, -Infinity);
  if (!Number.isFinite(xMin)) [xMin, xMax] = [0, 1];
  if (xMin === xMax) [xMin, xMax] = [xMin - 1, xMax + 1];
  const yMin = c.yFromZero === false ? Math.min(...ys, 0) : 0;
  let yMax = Math.max(...ys, 1e-9);
  const yStep = niceStep(yMax - yMin);
  yMax = Math.ceil(yMax / yStep) * yStep;
  const X = (x: number) => left + ((x - xMin) / (xMax - xMin)) * plotW;
  const Y = (y: number) => top + plotH - ((y - yMin) / (yMax - yMin || 1)) * plotH;
  const parts: string[] = [title(c.title, width)];
  for (let y = yMin; y <= yMax + yStep / 2; y += yStep) {
    parts.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${Y(y).toFixed(1)}" y2="${Y(y).toFixed(1)}" stroke="#ddd"/>` +
        `<text x="${left - 6}" y="${(Y(y) + 4).toFixed(1)}" text-anchor="end" font-size="11">${fmtNumber(y)}</text>`,
    );
  }
  const xTicks = [...new Set(xs)].sort((a, b) => a - b);
  for (const x of xTicks.length <= 12 ? xTicks : []) {
    parts.push(
      `<text x="${X(x).toFixed(1)}" y="${top + plotH + 16}" text-anchor="middle" font-size="11">${fmtNumber(x)}</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>` +
      `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#333"/>` +
      `<text x="${left + plotW / 2}" y="${height - 10}" text-anchor="middle" font-size="12">${esc(c.xLabel)}</text>` +
      `<text x="16" y="${top + plotH / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${top + plotH / 2})">${esc(c.yLabel)}</text>`,
  );
  c.series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    if (pts.length > 1) {
      parts.push(
        `<polyline fill="none" stroke="${color(i)}" stroke-width="2" points="${pts.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ')}"/>`,
      );
    }
    for (const p of pts)
      parts.push(
        `<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="3.5" fill="${color(i)}"/>`,
      );
  });
  parts.push(
    legend(
      c.series.map((s) => s.name),
      width - right + 20,
      top,
    ),
  );
  return { width, height, body: parts.join('\n') };
}

/** Panels stacked vertically into one SVG document. */
export function renderSvg(charts: Chart[]): string {
  const width = Math.max(1, ...charts.map((c) => c.width));
  const height = charts.reduce((h, c) => h + c.height, 0);
  let y = 0;
  const panels = charts.map((c) => {
    const g = `<g transform="translate(0 ${y})">\n${c.body}\n</g>`;
    y += c.height;
    return g;
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n` +
    panels.join('\n') +
    '\n</svg>\n'
  );
}

export function writeSvg(file: string, svg: string): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, svg);
}

// ---- progress ---------------------------------------------------------------

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

/**
 * Step-by-step progress of a benchmark on stderr ("[dedup 3/12] change 10%: dump 2 into the mount"),
 * so stdout stays the table or the JSON. Silent with STDCHK_BENCH_QUIET=1.
 */
export class Steps {
  private done = 0;
  private readonly started = performance.now();
  constructor(
    private readonly bench: string,
    private total: number,
  ) {}

  /** Announces the next step. */
  next(what: string): void {
    this.done++;
    this.say(`[${this.done}/${this.total}] ${what}`);
  }

  /** A line that is not a step (setup, a result). */
  say(what: string): void {
    if (process.env.STDCHK_BENCH_QUIET === '1') return;
    const t = ((performance.now() - this.started) / 1000).toFixed(0).padStart(4);
    process.stderr.write(`bench ${this.bench} ${t}s ${what}\n`);
  }

  addSteps(n: number): void {
    this.total += n;
  }
}

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const GiB = 1024 * 1024 * 1024;
export const mbps = (bytes: number, seconds: number) => bytes / 1e6 / Math.max(seconds, 1e-9);
/** a / b, or null when either is missing or b is 0. */
export const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b;
