import { X509Certificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { StdchkError, errorMessage } from '../errors/index.ts';
import { checkPrivateFile } from '../config/private-files.ts';

/**
 * A cluster CA and node certificates signed by it, made in-process with
 * @peculiar/x509 over Node's WebCrypto. Keys are ECDSA P-256 (fast to make,
 * small, supported by every TLS stack gRPC uses).
 */

const subtle = webcrypto.subtle;
x509.cryptoProvider.set(webcrypto);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type Algorithm = webcrypto.Algorithm;
type EcdsaParams = webcrypto.EcdsaParams;

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_ECDSA = { name: 'ECDSA', hash: 'SHA-256' } as const;

export const CA_CERT_FILE = 'ca.crt';
export const CA_KEY_FILE = 'ca.key';
const DAY_MS = 86_400_000;
export const DEFAULT_CA_DAYS = 3650;
export const DEFAULT_NODE_DAYS = 825;

export interface PemPair {
  /** PEM certificate. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

export interface Validity {
  /** Default: now minus 5 minutes (tolerates small clock skew between nodes). */
  notBefore?: Date;
  /** Default: notBefore + days. */
  notAfter?: Date;
  days?: number;
}

export type SubjectAltName = { type: 'dns' | 'ip'; value: string };

function validity(v: Validity, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const notBefore = v.notBefore ?? new Date(Date.now() - 5 * 60_000);
  const days = v.days ?? defaultDays;
  if (!v.notAfter && (!Number.isFinite(days) || days <= 0 || days > 36_500)) {
    throw new StdchkError('INVALID_ARGUMENT', `--days must be from 1 to 36500, not ${days}`);
  }
  const notAfter = v.notAfter ?? new Date(notBefore.getTime() + days * DAY_MS);
  return { notBefore, notAfter };
}

/** A positive 128-bit serial number in hex. */
function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] as number) & 0x7f;
  return b.toString('hex');
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey('pkcs8', key));
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN PRIVATE KEY-----\n${b64}-----END PRIVATE KEY-----\n`;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DNS_LABEL_RE = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** A certificate name: also a file name, so letters, digits, '.', '_' and '-' only. */
export function checkName(name: string, what = '--name'): string {
  if (!NAME_RE.test(name)) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `${what} must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), not ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/** One SAN entry: an IPv4/IPv6 address, or a DNS name (a leading "*." wildcard allowed). */
export function parseSan(entry: string): SubjectAltName {
  const value = entry.trim();
  const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  if (net.isIP(bare)) return { type: 'ip', value: bare };
  const labels = (value.startsWith('*.') ? value.slice(2) : value).split('.');
  if (value.length > 253 || !labels.every((l) => DNS_LABEL_RE.test(l))) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `--san entries must be IP addresses or DNS names, not ${JSON.stringify(entry)}`,
    );
  }
  return { type: 'dns', value: value.toLowerCase() };
}

/** "127.0.0.1,host1, ::1" -> SAN entries (duplicates dropped). */
export function parseSanList(list: string): SubjectAltName[] {
  const out: SubjectAltName[] = [];
  for (const part of list.split(',')) {
    if (part.trim() === '') continue;
    const san = parseSan(part);
    if (!out.some((s) => s.type === san.type && s.value === san.value)) out.push(san);
  }
  return out;
}

/** Makes a self-signed cluster CA (may sign node certificates only, path length 0). */
export async function makeCa(opts: Validity & { name?: string } = {}): Promise<PemPair> {
  const keys = (await subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const { notBefore, notAfter } = validity(opts, DEFAULT_CA_DAYS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: [{ CN: [opts.name ?? 'stdchk cluster CA'] }],
    notBefore,
    notAfter,
    signingAlgorithm: SIGN_ECDSA,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await keyPem(keys.privateKey) };
}

/** The CA's private key as a WebCrypto signing key (EC P-256/P-384 or RSA, so an openssl-made CA works too). */
async function signingKey(ca: PemPair): Promise<{ key: CryptoKey; algorithm: Algorithm | EcdsaParams }> {
  let k;
  try {
    k = createPrivateKey(ca.key);
  } catch (e) {
    throw new StdchkError('INVALID_ARGUMENT', `the CA key is not a PEM private key: ${errorMessage(e)}`);
  }
  let caCert: X509Certificate;
  try {
    caCert = new X509Certificate(ca.cert);
  } catch (e) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `the CA certificate is not a PEM certificate: ${errorMessage(e)}`,
    );
  }
  if (!caCert.checkPrivateKey(k)) {
    throw new StdchkError('INVALID_ARGUMENT', 'the CA key does not belong to the CA certificate');
  }
  if (!caCert.ca)
    throw new StdchkError('INVALID_ARGUMENT', 'the CA certificate is not a CA (basicConstraints)');
  const der = k.export({ type: 'pkcs8', format: 'der' });
  if (k.asymmetricKeyType === 'ec') {
    const curve = k.asymmetricKeyDetails?.namedCurve;
    const namedCurve = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : undefined;
    if (!namedCurve) throw new StdchkError('INVALID_ARGUMENT', `unsupported CA key curve ${curve}`);
    const key = await subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve }, false, ['sign']);
    return { key, algorithm: { name: 'ECDSA', hash: namedCurve === 'P-256' ? 'SHA-256' : 'SHA-384' } };
  }
  if (k.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const key = await subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
    return { key, algorithm };
  }
  throw new StdchkError('INVALID_ARGUMENT', `unsupported CA key type ${k.asymmetricKeyType}`);
}

/**
 * Makes a node certificate signed by the CA, for both TLS roles (every
 * stdchk node is a server and a client): CN=name, the given SANs, EKU
 * serverAuth + clientAuth.
 */
export async function makeNodeCert(
  ca: PemPair,
  opts: Validity & { name: string; sans: SubjectAltName[] },
): Promise<PemPair> {
  checkName(opts.name);
  if (opts.sans.length === 0) {
    throw new StdchkError('INVALID_ARGUMENT', 'a node certificate needs at least one --san (IP or DNS name)');
  }
  const { key: caKey, algorithm } = await signingKey(ca);
  const caCert = new x509.X509Certificate(ca.cert);
  const keys = (await subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const { notBefore, notAfter } = validity(opts, DEFAULT_NODE_DAYS);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: [{ CN: [opts.name] }],
    issuer: caCert.subjectName,
    notBefore,
    notAfter,
    signingAlgorithm: algorithm,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension(opts.sans),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await keyPem(keys.privateKey) };
}

// ---- files ----------------------------------------------------------------------

function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new StdchkError('INVALID_ARGUMENT', `cannot create ${dir}: ${errorMessage(e)}`);
  }
}

function refuseOverwrite(files: string[], force: boolean): void {
  if (force) return;
  const existing = files.filter((f) => existsSync(f));
  if (existing.length > 0) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `${existing.join(', ')} already ${existing.length > 1 ? 'exist' : 'exists'} (pass --force to replace)`,
    );
  }
}

function write(file: string, text: string, mode: number): void {
  // A fresh file created with its mode: a key is never readable by others, even briefly
  // (writing over an existing file would keep that file's mode).
  rmSync(file, { force: true });
  writeFileSync(file, text, { mode, flag: 'wx' });
}

export interface CaFiles {
  cert: string;
  key: string;
}

/** Writes DIR/ca.crt (0644) and DIR/ca.key (0600). */
export async function writeCa(
  dir: string,
  opts: Validity & { name?: string; force?: boolean } = {},
): Promise<CaFiles> {
  const files = { cert: path.join(dir, CA_CERT_FILE), key: path.join(dir, CA_KEY_FILE) };
  refuseOverwrite([files.cert, files.key], !!opts.force);
  const ca = await makeCa(opts);
  ensureDir(dir);
  write(files.key, ca.key, 0o600);
  write(files.cert, ca.cert, 0o644);
  return files;
}

export function readCa(dir: string): PemPair {
  const read = (f: string) => {
    try {
      return readFileSync(path.join(dir, f), 'utf8');
    } catch (e) {
      throw new StdchkError('INVALID_ARGUMENT', `cannot read the CA's ${f} in ${dir}: ${errorMessage(e)}`);
    }
  };
  const cert = read(CA_CERT_FILE);
  const key = read(CA_KEY_FILE);
  // The CA's key signs every identity in the cluster: refused if others could read or change it.
  const keyFile = path.join(dir, CA_KEY_FILE);
  checkPrivateFile(keyFile, statSync(keyFile), "the CA's key");
  return { cert, key };
}

export interface NodeFiles {
  /** Copy of the CA certificate, so the folder is all a node needs: --tls-ca. */
  ca: string;
  cert: string;
  key: string;
}

/** Writes OUT/NAME.crt (0644), OUT/NAME.key (0600) and OUT/ca.crt (the CA certificate, 0644). */
export async function writeNodeCert(
  caDir: string,
  outDir: string,
  opts: Validity & { name: string; sans: SubjectAltName[]; force?: boolean },
): Promise<NodeFiles> {
  checkName(opts.name);
  const ca = readCa(caDir);
  const files = {
    ca: path.join(outDir, CA_CERT_FILE),
    cert: path.join(outDir, `${opts.name}.crt`),
    key: path.join(outDir, `${opts.name}.key`),
  };
  refuseOverwrite([files.cert, files.key], !!opts.force);
  const pair = await makeNodeCert(ca, opts);
  ensureDir(outDir);
  write(files.key, pair.key, 0o600);
  write(files.cert, pair.cert, 0o644);
  if (path.resolve(files.ca) !== path.resolve(caDir, CA_CERT_FILE)) write(files.ca, ca.cert, 0o644);
  return files;
}
