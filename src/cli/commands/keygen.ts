import type { Command } from 'commander';
import { ChunkCipher, readEncryptionKeyFile, writeEncryptionKeyFile } from '../../client/encryption.ts';
import { action } from '../output.ts';

/** `stdchk keygen FILE`: a new cluster key for chunk encryption (docs/security.md). */
export function registerKeygenCommand(program: Command): void {
  program
    .command('keygen')
    .description(
      'write a new random chunk encryption key (64 hex digits, mode 0600) for --encryption-key-file; give it to clients and mounts only, never to benefactor-only machines',
    )
    .argument('<file>', 'where to write the key (never over an existing file)')
    .action(
      action((file: string) => {
        writeEncryptionKeyFile(file);
        const id = new ChunkCipher(readEncryptionKeyFile(file)).keyId.toString('hex');
        process.stdout.write(`wrote ${file} (key id ${id})\n`);
      }),
    );
}
