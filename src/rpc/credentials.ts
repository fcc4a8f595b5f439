import { X509Certificate, createPrivateKey } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type * as grpc from '@grpc/grpc-js';
import { StdchkError, errorMessage } from '../errors/index.ts';
import { readSecretFile } from '../config/secret.ts';
import { checkPrivateFile } from '../config/private-files.ts';

/**
 * Cluster credentials, loaded the same way by every role (daemons, mounts,
 * CLI commands, LocalGrid): a shared secret (an HMAC token on every call,
 * see auth.ts), mutual TLS (a certificate signed by the cluster CA on every
 * connection), or both. Whatever a process is given it uses: a server
 * enforces each mechanism it is configured with, a client presents each.
 */
export interface ClusterCredentials {
  secret?: Buffer | undefined;
  tls?: TlsMaterial | undefined;
}

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/** A node's TLS identity, read and checked once. */
export interface TlsMaterial {
  files: TlsFiles;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  /** The certificate's subject CN (for logs). */
  name: string;
  notAfter: Date;
}

/** The flags every role takes (commander turns --tls-ca into tlsCa). */
export interface CredentialFlags {
  secretFile?: string | undefined;
  tlsCa?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
}

export const TLS_ENV = { ca: 'STDCHK_TLS_CA', cert: 'STDCHK_TLS_CERT', key: 'STDCHK_TLS_KEY' } as const;
const FLAG = { ca: '--tls-ca', cert: '--tls-cert', key: '--tls-key' } as const;

function bad(message: string): StdchkError {
  return new StdchkError('INVALID_ARGUMENT', message);
}

/** Reads one of the three files; a private key must be closed to other users (like the secret file). */
function readFile(file: string, flag: string, privateKey = false): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw bad(`cannot read ${flag} ${file}: ${errorMessage(e)}`);
  }
  try {
    if (privateKey) checkPrivateFile(file, fstatSync(fd), `the private key (${flag})`);
    return readFileSync(fd);
  } catch (e) {
    if (e instanceof StdchkError) throw e;
    throw bad(`cannot read ${flag} ${file}: ${errorMessage(e)}`);
  } finally {
    closeSync(fd);
  }
}

/** Every PEM certificate in a file (a CA bundle or a chain). */
function parseCerts(pem: Buffer, file: string, flag: string): X509Certificate[] {
  const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) throw bad(`${flag} ${file} holds no PEM certificate`);
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw bad(`${flag} ${file} holds a malformed certificate: ${errorMessage(e)}`);
    }
  });
}

function commonName(subject: string): string {
  const cn = subject.split('\n').find((l) => l.startsWith('CN='));
  return cn ? cn.slice(3) : subject.replace(/\n/g, ', ');
}

/**
 * Reads the CA, certificate and key and checks what can be checked locally,
 * so a misconfigured node stops at start with one clear line instead of
 * failing every handshake: the key belongs to the certificate, the
 * certificate chains to the CA, and it is valid now.
 */
export function loadTls(files: TlsFiles, now = new Date()): TlsMaterial {
  const ca = readFile(files.ca, FLAG.ca);
  const cert = readFile(files.cert, FLAG.cert);
  const key = readFile(files.key, FLAG.key, true);
  const roots = parseCerts(ca, files.ca, FLAG.ca);
  const chain = parseCerts(cert, files.cert, FLAG.cert);
  const leaf = chain[0] as X509Certificate;
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (e) {
    throw bad(`${FLAG.key} ${files.key} is not a PEM private key: ${errorMessage(e)}`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw bad(`${FLAG.key} ${files.key} does not belong to the certificate ${files.cert}`);
  }
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (now < notBefore || now > notAfter) {
    throw bad(
      `the certificate ${files.cert} is valid from ${notBefore.toISOString()} to ${notAfter.toISOString()}, not now`,
    );
  }
  // Walk issuer links (intermediates may follow the leaf in the cert file) up to a root in the CA file.
  let current = leaf;
  const intermediates = chain.slice(1);
  for (let depth = 0; ; depth++) {
    if (roots.some((r) => current.checkIssued(r) && current.verify(r.publicKey))) break;
    const next = intermediates.find((c) => current.checkIssued(c) && current.verify(c.publicKey));
    if (!next || depth > 8) {
      throw bad(
        `the certificate ${files.cert} (${commonName(leaf.subject)}) is not signed by the CA in ${files.ca}`,
      );
    }
    current = next;
  }
  return { files, ca, cert, key, name: commonName(leaf.subject), notAfter };
}

/**
 * TLS files from flags, else STDCHK_TLS_* variables, else `fallback` (the
 * grid of `stdchk up`); all three or none.
 */
export function resolveTls(flags: CredentialFlags, fallback?: TlsFiles): TlsMaterial | undefined {
  const given = {
    ca: flags.tlsCa ?? process.env[TLS_ENV.ca],
    cert: flags.tlsCert ?? process.env[TLS_ENV.cert],
    key: flags.tlsKey ?? process.env[TLS_ENV.key],
  };
  const set = (Object.keys(given) as (keyof TlsFiles)[]).filter((k) => given[k]);
  if (set.length === 0) return fallback ? loadTls(fallback) : undefined;
  if (set.length < 3) {
    const missing = (Object.keys(given) as (keyof TlsFiles)[]).filter((k) => !given[k]);
    throw bad(
      `mutual TLS needs ${FLAG.ca}, ${FLAG.cert} and ${FLAG.key} together; missing ${missing
        .map((k) => `${FLAG[k]} (or ${TLS_ENV[k]})`)
        .join(', ')}`,
    );
  }
  return loadTls(given as TlsFiles);
}

/** The grid of `stdchk up --tls` in DIR: DIR/tls/{ca,client}.*, if it is there. */
export function gridClientTls(dir: string): TlsFiles | undefined {
  const files = {
    ca: path.join(dir, 'tls', 'ca.crt'),
    cert: path.join(dir, 'tls', 'client.crt'),
    key: path.join(dir, 'tls', 'client.key'),
  };
  return existsSync(files.ca) && existsSync(files.cert) && existsSync(files.key) ? files : undefined;
}

/** Secret (from --secret-file or STDCHK_SECRET_FILE, else `fallback.secretFile`) and TLS, as given. */
export function resolveCredentials(
  flags: CredentialFlags,
  fallback: { secretFile?: string | undefined; tls?: TlsFiles | undefined } = {},
): ClusterCredentials {
  const secretFile = flags.secretFile ?? process.env.STDCHK_SECRET_FILE ?? fallback.secretFile;
  return {
    secret: secretFile ? readSecretFile(secretFile) : undefined,
    tls: resolveTls(flags, fallback.tls),
  };
}

/** A daemon's credentials; refuses to go on with neither unless --insecure was given. */
export function requireCredentials(
  flags: CredentialFlags & { insecure?: boolean | undefined },
  role: string,
): ClusterCredentials {
  const creds = resolveCredentials(flags);
  if (!creds.secret && !creds.tls && !flags.insecure) {
    throw bad(
      `${role} needs cluster credentials: pass --secret-file FILE (or STDCHK_SECRET_FILE), ` +
        `or --tls-ca, --tls-cert and --tls-key (see stdchk certs), or --insecure to run without authentication`,
    );
  }
  return creds;
}

/** What a process authenticates with, for its start-up log line. */
export function describeCredentials(c: ClusterCredentials): { secret: boolean; tls: string | null } {
  return { secret: !!c.secret, tls: c.tls ? c.tls.name : null };
}

// ---- gRPC credentials ------------------------------------------------------------

/** grpc-js, loaded only here: resolving credentials (every command) must not cost its load. */
const grpcJs = (): typeof grpc => createRequire(import.meta.url)('@grpc/grpc-js') as typeof grpc;

const channelCache = new WeakMap<TlsMaterial, grpc.ChannelCredentials>();

/**
 * Channel credentials: TLS that verifies the server's certificate against
 * the cluster CA and its SANs against the address dialled (grpc-js uses the
 * target's host for SNI and Node's checkServerIdentity), presenting our own
 * certificate. One object per identity, so grpc-js can share connections.
 */
export function channelCredentials(tls: TlsMaterial | undefined): grpc.ChannelCredentials {
  if (!tls) return grpcJs().credentials.createInsecure();
  let c = channelCache.get(tls);
  if (!c) {
    c = grpcJs().credentials.createSsl(tls.ca, tls.key, tls.cert);
    channelCache.set(tls, c);
  }
  return c;
}

/**
 * Server credentials: TLS with our certificate, requiring a client
 * certificate that chains to the cluster CA (Node's tls server then rejects
 * every handshake without one; `rejectUnauthorized` defaults to true).
 * The returned key-cert buffers are fresh copies: rpc/index.ts uses their
 * identity to find which server a failed handshake belongs to.
 */
export function serverCredentials(tls: TlsMaterial | undefined): {
  credentials: grpc.ServerCredentials;
  certBuffer: Buffer | undefined;
} {
  if (!tls) return { credentials: grpcJs().ServerCredentials.createInsecure(), certBuffer: undefined };
  const certBuffer = Buffer.from(tls.cert);
  return {
    credentials: grpcJs().ServerCredentials.createSsl(
      tls.ca,
      [{ private_key: tls.key, cert_chain: certBuffer }],
      true,
    ),
    certBuffer,
  };
}
