// Loaded with `node --require` (through NODE_OPTIONS) into a stdchk process by a test: at exit,
// writes the npm packages the process loaded (CommonJS: grpc-js, protobufjs, pino, level and
// fuse-native all are) to the file $STDCHK_TEST_MODULE_TRACE, one name a line.
'use strict';
const { writeFileSync } = require('node:fs');

process.on('exit', () => {
  const names = new Set();
  for (const file of Object.keys(require.cache)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
    if (m) names.add(m[1]);
  }
  writeFileSync(process.env.STDCHK_TEST_MODULE_TRACE, [...names].sort().join('\n') + '\n');
});
