// A writer in the middle of a put, as its own process: uploads FILE's chunks through the
// client library (stored on their replicas and reported to the manager, not committed), prints
// {"chunks": N} and then, by MODE: "exit" quits without committing (a put that failed: its
// connection closes), "hold" waits for a line on stdin, then commits as REMOTE and prints
// {"committed": true}. The grid comes from STDCHK_MANAGER / STDCHK_SECRET_FILE.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { StorageClient } from '../../src/client/storage-client.ts';
import { resolveClientConfig } from '../../src/cli/common.ts';

const [file, remote, mode] = process.argv.slice(2) as [string, string, 'exit' | 'hold'];
const { managerAddress, secret, tls } = resolveClientConfig({});
const client = new StorageClient({ managerAddress, secret, tls });
const writer = await client.openWriter(remote, { replicas: 2 });
await writer.write(readFileSync(file));
const refs = await writer.cut();
process.stdout.write(
  JSON.stringify({ chunks: new Set(refs.map((r) => r.hash.toString('hex'))).size }) + '\n',
);
if (mode === 'exit') process.exit(0);
for await (const _line of createInterface({ input: process.stdin })) break;
await writer.close();
process.stdout.write(JSON.stringify({ committed: true }) + '\n');
client.close();
process.exit(0);
