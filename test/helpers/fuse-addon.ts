import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Throws a clear error unless the fuse-native addon in use was built from
 * the C source patched for issue 14 (utimens with both times, UTIME_NOW /
 * UTIME_OMIT, flag_utime_omit_ok): with an older build, tests of times in
 * the mount fail for a reason that has nothing to do with the code.
 */
export function requirePatchedFuseAddon(): void {
  const dir = path.dirname(createRequire(import.meta.url).resolve('fuse-native/package.json'));
  const source = path.join(dir, 'fuse-native.c');
  const built = path.join(dir, 'build/Release/fuse.node');
  const fix =
    'rebuild it: rm -rf node_modules/fuse-native && npm ci (patch-package, then scripts/build-fuse-native.sh)';
  if (!readFileSync(source, 'utf8').includes('flag_utime_omit_ok')) {
    throw new Error(`${source} lacks stdchk's utimens patch (patches/fuse-native+2.2.6.patch); ${fix}`);
  }
  if (!existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs) {
    throw new Error(`${built} is missing or older than the patched source; ${fix}`);
  }
}
