import { invalid } from '../errors/index.ts';
import { MAX_CHUNK_BYTES } from './refs.ts';

/**
 * How a byte stream is cut into chunks.
 * - `fastcdc`: byte-level content-defined chunking (gear hash, normalized chunking level 2).
 * - `pages`: content-defined, but cuts only at 4 KiB page boundaries of the stream (CRIU images
 *   shift by whole pages between dumps, and page-aware cuts measured better dedup there).
 * - `fixed`: every `avgSize` bytes (min = avg = max).
 */
export type ChunkAlgorithm = 'fastcdc' | 'pages' | 'fixed';

export interface ChunkerParams {
  readonly algorithm: ChunkAlgorithm;
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
}

/**
 * Version of everything that decides where cuts fall: the gear table and its seed, the masks,
 * the page hash, the cut rule. Chunks cut by different versions do not dedup against each
 * other, so any change to those must bump this (and the pinned vectors in the tests).
 */
export const CHUNK_FORMAT_VERSION = 1;

/** The `pages` algorithm cuts only at multiples of this, counted from the start of the stream. */
export const PAGE_SIZE = 4096;

/** Smallest chunk any algorithm may be configured to produce (except a stream's last chunk). */
export const MIN_CHUNK_BYTES = 64;

/**
 * `pages:16k`: on CRIU images it stores less after a change than byte-level FastCDC at the same
 * average (bench dedup: 14.7% vs 15.6-16.0% new after 10% of memory changed) and cuts ~2x faster
 * (bench/chunking.ts), for ~15% more chunks per GiB. docs/benchmarks.md has the rule and figures.
 */
export const DEFAULT_CHUNKER_PARAMS: ChunkerParams = Object.freeze({
  algorithm: 'pages',
  minSize: 4 * 1024,
  avgSize: 16 * 1024,
  maxSize: 64 * 1024,
});

const ALGORITHMS: readonly ChunkAlgorithm[] = ['fastcdc', 'pages', 'fixed'];
const SIZE_RE = /^(\d+)\s*([kmg]?)(?:i?b)?$/i;
const UNIT: Record<string, number> = { '': 1, k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 };

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;

function parseSize(text: string, spec: string): number {
  const m = SIZE_RE.exec(text.trim());
  if (!m) throw invalid(`chunker ${JSON.stringify(spec)}: ${JSON.stringify(text)} is not a size (e.g. 16k)`);
  return Number(m[1]) * UNIT[(m[2] ?? '').toLowerCase()]!;
}

function formatSize(n: number): string {
  for (const [suffix, unit] of [
    ['g', UNIT.g!],
    ['m', UNIT.m!],
    ['k', UNIT.k!],
  ] as const) {
    if (n % unit === 0) return `${n / unit}${suffix}`;
  }
  return String(n);
}

/** min/max as a spec with only an average implies them. */
function impliedParams(algorithm: ChunkAlgorithm, avgSize: number): ChunkerParams {
  if (algorithm === 'fixed') return { algorithm, minSize: avgSize, avgSize, maxSize: avgSize };
  let minSize = Math.floor(avgSize / 4);
  // A page chunk cannot be shorter than one page.
  if (algorithm === 'pages') minSize = Math.max(PAGE_SIZE, minSize - (minSize % PAGE_SIZE));
  return { algorithm, minSize, avgSize, maxSize: avgSize * 4 };
}

/**
 * Parses `fastcdc:16k`, `pages:16k`, `fixed:64k` (min = avg/4 and max = avg*4 for the
 * content-defined ones; all equal for fixed), or the explicit `fastcdc:4k:16k:64k`
 * (min:avg:max). Sizes take k/m/g binary suffixes. Throws INVALID_ARGUMENT.
 */
export function parseChunkerSpec(spec: string): ChunkerParams {
  const parts = spec.trim().split(':');
  const algorithm = (parts[0] ?? '').toLowerCase() as ChunkAlgorithm;
  if (!ALGORITHMS.includes(algorithm)) {
    throw invalid(
      `chunker ${JSON.stringify(spec)}: unknown algorithm ${JSON.stringify(parts[0])} (use fastcdc:16k, pages:16k or fixed:64k)`,
    );
  }
  let params: ChunkerParams;
  if (parts.length === 2) {
    params = impliedParams(algorithm, parseSize(parts[1]!, spec));
  } else if (parts.length === 4) {
    const [minSize, avgSize, maxSize] = parts.slice(1).map((p) => parseSize(p, spec)) as [
      number,
      number,
      number,
    ];
    params = { algorithm, minSize, avgSize, maxSize };
  } else {
    throw invalid(
      `chunker ${JSON.stringify(spec)}: expected ALGORITHM:AVG or ALGORITHM:MIN:AVG:MAX, e.g. fastcdc:16k`,
    );
  }
  return validateChunkerParams(params, `chunker ${JSON.stringify(spec)}`);
}

/** The canonical spec of `params`; parseChunkerSpec(formatChunkerSpec(p)) equals p. */
export function formatChunkerSpec(params: ChunkerParams): string {
  const implied = impliedParams(params.algorithm, params.avgSize);
  if (implied.minSize === params.minSize && implied.maxSize === params.maxSize) {
    return `${params.algorithm}:${formatSize(params.avgSize)}`;
  }
  return `${params.algorithm}:${[params.minSize, params.avgSize, params.maxSize].map(formatSize).join(':')}`;
}

/** Checks params from any source (a spec, a config file, a peer); returns them, frozen. */
export function validateChunkerParams(params: ChunkerParams, what = 'chunker'): ChunkerParams {
  const { algorithm, minSize, avgSize, maxSize } = params;
  if (!ALGORITHMS.includes(algorithm))
    throw invalid(`${what}: unknown algorithm ${JSON.stringify(algorithm)}`);
  for (const [name, n] of [
    ['min', minSize],
    ['avg', avgSize],
    ['max', maxSize],
  ] as const) {
    if (!Number.isSafeInteger(n)) throw invalid(`${what}: ${name} size ${n} is not an integer`);
  }
  if (minSize < MIN_CHUNK_BYTES)
    throw invalid(`${what}: min size ${minSize} is below ${MIN_CHUNK_BYTES} bytes`);
  if (maxSize > MAX_CHUNK_BYTES) {
    throw invalid(`${what}: max size ${maxSize} is above the ${MAX_CHUNK_BYTES}-byte chunk limit`);
  }
  if (!(minSize <= avgSize && avgSize <= maxSize)) {
    throw invalid(`${what}: sizes must satisfy min <= avg <= max (got ${minSize}, ${avgSize}, ${maxSize})`);
  }
  if (algorithm === 'fixed') {
    if (minSize !== avgSize || maxSize !== avgSize) {
      throw invalid(`${what}: fixed chunking needs min = avg = max (got ${minSize}, ${avgSize}, ${maxSize})`);
    }
  } else {
    // The masks are whole bits of the gear hash, so the average is a power of two.
    if (!isPowerOfTwo(avgSize)) throw invalid(`${what}: average size ${avgSize} is not a power of two`);
    if (algorithm === 'fastcdc' && avgSize < 256)
      throw invalid(`${what}: average size ${avgSize} is below 256`);
    if (algorithm === 'pages') {
      for (const n of [minSize, avgSize, maxSize]) {
        if (n % PAGE_SIZE !== 0)
          throw invalid(`${what}: page chunk sizes must be multiples of ${PAGE_SIZE}, not ${n}`);
      }
    }
  }
  return Object.isFrozen(params) ? params : Object.freeze({ algorithm, minSize, avgSize, maxSize });
}
