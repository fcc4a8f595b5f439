import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding stdchk's package.json (proto/, bin/, examples/), found
 * from this file whether it runs as TypeScript in src/ or compiled in dist/.
 */
export const PACKAGE_ROOT: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'proto'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`stdchk: no package root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
})();
