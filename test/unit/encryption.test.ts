import test from 'ava';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ChunkCipher,
  ENCRYPTION_OVERHEAD,
  readEncryptionKeyFile,
  writeEncryptionKeyFile,
} from '../../src/client/encryption.ts';
import { hashChunk } from '../../src/hashing/index.ts';
import { isStdchkError } from '../../src/errors/index.ts';

// The chunk cipher (src/client/encryption.ts) and the key file: convergent
// (the same plaintext, the same stored bytes and address), authenticated
// (a changed byte, or another key, is refused), and keys are private files.

const dir = mkdtempSync(path.join(os.tmpdir(), 'stdchk-enc-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const key = randomBytes(32);
const seal = (c: ChunkCipher, data: Buffer) => c.seal(hashChunk(data), data);

test('the stored form hides the plaintext, opens to it, and is the same for the same plaintext and key', (t) => {
  const c = new ChunkCipher(key);
  const data = Buffer.from('STDCHK-MARKER '.repeat(2000));
  const a = seal(c, data);
  t.is(a.length, data.length + ENCRYPTION_OVERHEAD);
  t.is(a.indexOf('STDCHK-MARKER'), -1, 'no plaintext in the stored bytes');
  t.deepEqual(c.open(a), data);
  t.deepEqual(seal(new ChunkCipher(Buffer.from(key)), data), a, 'convergent: dedup keeps working');
  t.notDeepEqual(seal(c, Buffer.from('STDCHK-MARKER '.repeat(1999) + 'STDCHK-MARKEX ')), a);
  t.notDeepEqual(seal(new ChunkCipher(randomBytes(32)), data), a, 'another cluster key, other bytes');
  t.deepEqual(c.open(seal(c, Buffer.alloc(0))), Buffer.alloc(0));
});

test('a flipped bit anywhere in a stored chunk, or a chunk of another key, is refused (CORRUPT)', (t) => {
  const c = new ChunkCipher(key);
  const data = randomBytes(5000);
  const stored = seal(c, data);
  // Past the magic (a changed magic reads as a chunk written without encryption; its hash
  // no longer matches its address, which every reader checks first).
  for (const at of [4, 8, 19, 20, 2500, stored.length - 17, stored.length - 1]) {
    const bad = Buffer.from(stored);
    bad[at] = (bad[at] as number) ^ 0x01;
    const e = t.throws(() => c.open(bad), undefined, `byte ${at}`);
    t.true(isStdchkError(e, 'CORRUPT'), `byte ${at}: ${String(e)}`);
  }
  const other = new ChunkCipher(randomBytes(32));
  const e = t.throws(() => other.open(stored));
  t.true(isStdchkError(e, 'CORRUPT'));
  t.regex(String(e), /another cluster key \(key id [0-9a-f]{8}/);
});

test('chunks not in the encrypted form (written while the cluster did not encrypt) read as they are', (t) => {
  const c = new ChunkCipher(key);
  for (const data of [randomBytes(100), Buffer.from('plain'), Buffer.alloc(0)])
    t.deepEqual(c.open(data), data);
});

test('key files: keygen writes 0600 and never replaces a key; 64 hex digits, private, are required', (t) => {
  const file = path.join(dir, 'k1');
  writeEncryptionKeyFile(file);
  t.is(statSync(file).mode & 0o777, 0o600);
  const k = readEncryptionKeyFile(file);
  t.is(k.length, 32);
  const before = readFileSync(file);
  t.throws(() => writeEncryptionKeyFile(file), { message: /exists; not replacing a key/ });
  t.deepEqual(readFileSync(file), before);

  chmodSync(file, 0o644);
  t.throws(() => readEncryptionKeyFile(file), { message: /encryption key file/ });
  const short = path.join(dir, 'k2');
  writeFileSync(short, 'abcd\n', { mode: 0o600 });
  t.throws(() => readEncryptionKeyFile(short), { message: /must hold 64 hex digits/ });
  t.throws(() => readEncryptionKeyFile(path.join(dir, 'none')), {
    message: /cannot read encryption key file/,
  });
  t.throws(() => new ChunkCipher(randomBytes(16)), { message: /at least 32 bytes/ });
});
