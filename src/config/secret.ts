import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { StdchkError } from '../errors/index.ts';

/** Reads the cluster's shared secret; one clear error if the file is missing or too short. */
export function readSecretFile(file: string): Buffer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new StdchkError('INVALID_ARGUMENT', `cannot read secret file ${file}: ${(e as Error).message}`);
  }
  const secret = Buffer.from(text.trim(), 'utf8');
  if (secret.length < 16) {
    throw new StdchkError('INVALID_ARGUMENT', `secret file ${file} holds fewer than 16 characters`);
  }
  return secret;
}

/** Creates a random secret file (mode 0600) unless one exists. */
export function ensureSecretFile(file: string): void {
  if (existsSync(file)) return;
  writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
}
