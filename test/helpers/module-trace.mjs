// Test-only preload (NODE_OPTIONS=--import=file://.../module-trace.mjs) for a stdchk process:
// at exit, writes the npm packages the process loaded to the file $STDCHK_TEST_MODULE_TRACE,
// one name a line. CommonJS packages only (grpc-js, protobufjs, pino, level and fuse-native
// all are): they are in the one module cache every require() shares.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import process from 'node:process';

const require = createRequire(import.meta.url);

process.on('exit', () => {
  const names = new Set();
  for (const file of Object.keys(require.cache)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
    if (m) names.add(m[1]);
  }
  writeFileSync(process.env.STDCHK_TEST_MODULE_TRACE, [...names].sort().join('\n') + '\n');
});
