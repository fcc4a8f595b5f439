import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fstatSync, lstatSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { StdchkError, errorMessage } from '../errors/index.ts';
import { PRIVATE_FILE_MODE, checkPrivateFile } from './private-files.ts';

/**
 * Reads the cluster's shared secret; one clear error if the file is missing,
 * too short, or open to other users (a secret others can read is no
 * secret; one others can change lets them pick it): mode 0600 (or 0400),
 * owned by this user or root. See docs/security.md.
 */
export function readSecretFile(file: string): Buffer {
  let text: string;
  try {
    const fd = openSync(file, 'r');
    try {
      checkPrivateFile(file, fstatSync(fd), 'the secret file');
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if (e instanceof StdchkError) throw e;
    throw new StdchkError('INVALID_ARGUMENT', `cannot read secret file ${file}: ${errorMessage(e)}`);
  }
  const secret = Buffer.from(text.trim(), 'utf8');
  if (secret.length < 16) {
    throw new StdchkError('INVALID_ARGUMENT', `secret file ${file} holds fewer than 16 characters`);
  }
  return secret;
}

/**
 * Creates a random secret file (mode 0600, never through a planted symlink)
 * unless one exists; an existing one of ours (a grid made by an older
 * stdchk, 0644) is tightened to 0600.
 */
export function ensureSecretFile(file: string): void {
  try {
    writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = lstatSync(file);
  if (st.isFile() && st.uid === (process.getuid?.() ?? 0) && (st.mode & 0o077) !== 0) {
    chmodSync(file, PRIVATE_FILE_MODE);
  }
}
