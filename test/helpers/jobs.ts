import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';

/**
 * Helpers for the scheduler/worker tests. Kept apart from helpers/grid.ts so
 * that these tests do not load the storage stack.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const cleanups: (() => Promise<void> | void)[] = [];

export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** Runs registered cleanups, newest first; call from test.after.always. */
export async function cleanupAll(): Promise<void> {
  while (cleanups.length) {
    const fn = cleanups.pop() as () => Promise<void> | void;
    await Promise.resolve()
      .then(fn)
      .catch((e: unknown) => process.stderr.write(`cleanup failed: ${String(e)}\n`));
  }
}

/** A temporary folder deleted after the tests (kept, and named on stderr, with STDCHK_TEST_KEEP=1). */
export function tempDir(prefix = 'stdchk-jobs-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  if (process.env.STDCHK_TEST_KEEP) process.stderr.write(`keeping ${dir}\n`);
  else onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A busybox rootfs tarball built by scripts/make-busybox-rootfs.sh. */
export function busyboxTarball(dir: string): string {
  const out = path.join(dir, 'busybox.tar');
  execFileSync(path.join(ROOT, 'scripts/make-busybox-rootfs.sh'), [out], { stdio: 'ignore' });
  return out;
}

export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await Promise.resolve()
      .then(fn)
      .catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The numbers a counting job printed, one per line, in order. */
export function countsOf(text: string): number[] {
  return text
    .split('\n')
    .filter((l) => /^\d+$/.test(l.trim()))
    .map(Number);
}

export function countsIn(file: string): number[] {
  return existsSync(file) ? countsOf(readFileSync(file, 'utf8')) : [];
}

export function lastCount(file: string): number {
  const c = countsIn(file);
  return c.length ? (c[c.length - 1] as number) : 0;
}

/** A shell loop printing 1..n, one number every `step` seconds, then exiting with `code`. */
export function counterScript(n: number, step: number, code = 0): string {
  return `i=0; while [ $i -lt ${n} ]; do i=$((i+1)); echo $i; sleep ${step}; done; exit ${code}`;
}

/** Ids of runc containers (default root) whose id starts with `prefix`. */
export function runcContainers(prefix: string): string[] {
  const out = execFileSync('runc', ['list', '--quiet'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s.startsWith(prefix));
}

/**
 * Checks the log of a counter that may have been restored once: 1, 2, ...
 * up to where the first copy's output stopped, then (maybe) back to the
 * checkpoint's count and on to n. Never from 1 again, never back by more than
 * `maxBack`, never two copies interleaved. Returns where it resumed (or 0).
 */
export function checkCounts(t: ExecutionContext, counts: number[], n: number, maxBack: number): number {
  t.is(counts[0], 1);
  t.is(counts[counts.length - 1], n, 'the right final result');
  t.is(counts.filter((c) => c === 1).length, 1, 'never restarted from zero');
  const jumps = counts.map((c, i) => (i > 0 ? c - (counts[i - 1] as number) : 1)).filter((d) => d !== 1);
  t.true(jumps.length <= 1, `one resumption at most, no interleaving: ${JSON.stringify(jumps)}`);
  if (jumps.length === 0) return 0;
  const i = counts.findIndex((c, k) => k > 0 && c !== (counts[k - 1] as number) + 1);
  const resumedAt = counts[i] as number;
  const before = counts[i - 1] as number;
  t.true(resumedAt <= before, `a resumption goes back to the checkpoint (${before} -> ${resumedAt})`);
  t.true(before - resumedAt <= maxBack, `back by at most one interval (+ slack): ${before} -> ${resumedAt}`);
  return resumedAt;
}
