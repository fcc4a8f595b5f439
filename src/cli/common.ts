import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { StdchkError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import { preparePrivateTree } from '../config/private-files.ts';
import type { StorageClient } from '../client/storage-client.ts';
import {
  CHUNK_TRANSPORT_ENV,
  DEFAULT_CHUNK_TRANSPORT,
  resolveChunkTransport,
} from '../client/transport-kind.ts';
import { gridClientTls, resolveCredentials } from '../rpc/credentials.ts';
import { ENCRYPTION_KEY_ENV, readEncryptionKeyFile } from '../client/encryption.ts';
import type { ClusterCredentials, CredentialFlags, TlsMaterial } from '../rpc/credentials.ts';

/** Where `stdchk up` keeps its grid unless --dir says otherwise. */
export const DEFAULT_UP_DIR = '.stdchk';

export interface ClientFlags extends CredentialFlags {
  manager?: string;
  /** --chunk-transport (put, get, mount). */
  chunkTransport?: string;
  /** --encryption-key-file (put, get, mount). */
  encryptionKeyFile?: string;
}

/**
 * --encryption-key-file: the cluster's chunk encryption key (docs/security.md,
 * "Chunk encryption"); with it, chunks are encrypted before they leave.
 */
export function addEncryptionOption(cmd: Command): Command {
  return cmd.addOption(
    new Option(
      '--encryption-key-file <file>',
      `encrypt chunks with this cluster key, 0600 (default: $${ENCRYPTION_KEY_ENV}, else ./${DEFAULT_UP_DIR}/encryption.key for the grid of \`stdchk up\`; none: chunks stored as written)`,
    ),
  );
}

/** The cluster key from --encryption-key-file, $STDCHK_ENCRYPTION_KEY_FILE, or (for the `stdchk up` grid) its key file. */
export function resolveEncryptionKey(flags: ClientFlags, fromGrid: boolean): Buffer | undefined {
  const env = process.env[ENCRYPTION_KEY_ENV];
  const gridKey = path.join(DEFAULT_UP_DIR, 'encryption.key');
  const file =
    flags.encryptionKeyFile ??
    (env ? env : undefined) ??
    (fromGrid && existsSync(gridKey) ? gridKey : undefined);
  return file ? readEncryptionKeyFile(file) : undefined;
}

/** --chunk-transport: how chunk bytes travel (docs/data-path.md). */
export function addChunkTransportOption(cmd: Command): Command {
  return cmd.addOption(
    new Option(
      '--chunk-transport <kind>',
      `chunk bytes over the framed stream with chain replication ("framed") or gRPC ("grpc") (default: $${CHUNK_TRANSPORT_ENV}, else ${DEFAULT_CHUNK_TRANSPORT})`,
    ),
  );
}

/**
 * --tls-ca, --tls-cert, --tls-key: the same three flags (and STDCHK_TLS_*
 * variables) for every daemon and client command.
 */
export function addTlsOptions(cmd: Command, fallback = ''): Command {
  const or = (env: string) => `(default: $${env}${fallback})`;
  return cmd
    .addOption(new Option('--tls-ca <file>', `mutual TLS: the cluster CA certificate ${or('STDCHK_TLS_CA')}`))
    .addOption(
      new Option(
        '--tls-cert <file>',
        `mutual TLS: this node's certificate, signed by the CA ${or('STDCHK_TLS_CERT')}`,
      ),
    )
    .addOption(new Option('--tls-key <file>', `mutual TLS: this node's private key ${or('STDCHK_TLS_KEY')}`));
}

/** A daemon's credential flags: the secret, TLS, and --insecure to run with neither. */
export function addDaemonCredentialOptions(cmd: Command): Command {
  cmd.option('--secret-file <file>', 'cluster secret shared by every node (or STDCHK_SECRET_FILE)');
  addTlsOptions(cmd);
  return cmd.option(
    '--insecure',
    'run without authentication: neither a secret nor TLS (only on a trusted network)',
  );
}

export function addClientOptions(cmd: Command): Command {
  cmd
    .addOption(
      new Option(
        '--manager <addr>',
        'manager address HOST:PORT (default: $STDCHK_MANAGER, else the grid of `stdchk up` in ./.stdchk)',
      ),
    )
    .addOption(
      new Option(
        '--secret-file <file>',
        'cluster secret (default: $STDCHK_SECRET_FILE, else ./.stdchk/secret)',
      ),
    );
  return addTlsOptions(cmd, ', else ./.stdchk/tls');
}

/**
 * Credentials of a client command: flags, else environment, else (when the
 * address itself came from the `stdchk up` grid in ./.stdchk) that grid's
 * secret and TLS files.
 */
export function resolveGridCredentials(flags: CredentialFlags, fromGrid: boolean): ClusterCredentials {
  if (!fromGrid) return resolveCredentials(flags);
  const upSecret = path.join(DEFAULT_UP_DIR, 'secret');
  return resolveCredentials(flags, {
    secretFile: existsSync(upSecret) ? upSecret : undefined,
    tls: gridClientTls(DEFAULT_UP_DIR),
  });
}

/** Manager address and credentials from flags, environment, or a local `stdchk up` grid, in that order. */
export function resolveClientConfig(flags: ClientFlags): {
  managerAddress: string;
  secret: Buffer | undefined;
  tls: TlsMaterial | undefined;
  encryptionKey: Buffer | undefined;
} {
  let managerAddress = flags.manager ?? process.env.STDCHK_MANAGER;
  let fromGrid = false;
  const upAddr = path.join(DEFAULT_UP_DIR, 'manager.addr');
  if (!managerAddress && existsSync(upAddr)) {
    managerAddress = readFileSync(upAddr, 'utf8').trim();
    fromGrid = true;
  }
  if (!managerAddress) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      existsSync(DEFAULT_UP_DIR)
        ? `the grid in ./${DEFAULT_UP_DIR} is not running (start it with \`stdchk up\`), and no --manager HOST:PORT or STDCHK_MANAGER is given`
        : 'no manager address: pass --manager HOST:PORT or set STDCHK_MANAGER',
    );
  }
  const { secret, tls } = resolveGridCredentials(flags, fromGrid);
  return { managerAddress, secret, tls, encryptionKey: resolveEncryptionKey(flags, fromGrid) };
}

/** How long a CLI command waits for an unreachable manager: seconds, not the daemons' half minute. */
export const CLI_RETRY_MS = 5_000;

/** A client of the manager the flags name; the storage stack (gRPC) is loaded here, not at start-up. */
export async function openClient(flags: ClientFlags): Promise<StorageClient> {
  const { managerAddress, secret, tls, encryptionKey } = resolveClientConfig(flags);
  const { StorageClient } = await import('../client/storage-client.ts');
  return new StorageClient({
    managerAddress,
    secret,
    tls,
    encryptionKey,
    chunkTransport: resolveChunkTransport(flags.chunkTransport),
    retryForMs: CLI_RETRY_MS,
    onRetry: () => {
      if (process.stderr.isTTY)
        process.stderr.write(
          `stdchk: manager at ${managerAddress} does not answer; retrying for ${CLI_RETRY_MS / 1000} s ...\n`,
        );
    },
  });
}

export function parseReplicas(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 16) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `--replicas must be an integer from 1 to 16, not ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/** --sync-replicas: how many of the replicas are durable before close()/put return. */
export function parseSyncReplicas(value: string | undefined, replicas: number): number | undefined {
  if (value === undefined || value === 'all') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > replicas) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `--sync-replicas must be "all" or an integer from 1 to --replicas (${replicas}), not ${JSON.stringify(value)}`,
    );
  }
  return n;
}

export { requireCredentials } from '../rpc/credentials.ts';

export function checkListen(listen: string, flag = '--listen'): string {
  if (!/^[^\s:]+:\d{1,5}$/.test(listen) && !/^\[[0-9a-fA-F:.]+\]:\d{1,5}$/.test(listen)) {
    throw new StdchkError('INVALID_ARGUMENT', `${flag} must be HOST:PORT, not ${JSON.stringify(listen)}`);
  }
  return listen;
}

/** --insecure-plaintext: the one way to serve beyond loopback without TLS. */
export function addPlaintextOption(cmd: Command): Command {
  return cmd.option(
    '--insecure-plaintext',
    'allow --listen beyond loopback without TLS: traffic (secret tokens, file names, chunks) travels unencrypted (only on a network you trust)',
  );
}

/** Is HOST (of HOST:PORT) a loopback address: 127.0.0.0/8, ::1 or localhost? */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost') return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/**
 * A daemon serving beyond loopback runs TLS (docs/security.md): without TLS
 * material it does not start (one line, exit 2) unless --insecure-plaintext
 * says the network is trusted. Loopback may stay plain (`stdchk up`).
 */
export function checkListenSecurity(
  listen: string,
  creds: ClusterCredentials,
  flags: { insecurePlaintext?: boolean | undefined },
  role: string,
): void {
  const host = listen.slice(0, listen.lastIndexOf(':'));
  if (creds.tls || flags.insecurePlaintext || isLoopbackHost(host)) return;
  throw new StdchkError(
    'INVALID_ARGUMENT',
    `${role} would listen on ${listen} without TLS: beyond loopback it must encrypt; pass --tls-ca, --tls-cert and --tls-key (see stdchk certs), listen on 127.0.0.1, or pass --insecure-plaintext on a network you trust`,
  );
}

/**
 * What a storage daemon (manager, benefactor, mount) writes is for its own
 * user only: umask 077, so every file it or a library it uses (LevelDB)
 * creates is 0600 and every folder 0700 (docs/security.md, "Files on disk").
 */
export function privateUmask(): void {
  process.umask(0o077);
}

/**
 * A daemon's own folder (--data, --store, --cache): created 0700, or an
 * existing one and everything in it tightened (an installation made by an
 * older stdchk had 0644 files in 0755 folders). Logged when it changed
 * anything; entries it could not change (not ours) are logged too.
 */
export function preparePrivateFolder(dir: string, what: string, logger: Logger): void {
  const r = preparePrivateTree(dir, what);
  if (r.changed > 0) logger.info({ dir, changed: r.changed }, `${what}: modes tightened to 0700/0600`);
  if (r.failed.length > 0) {
    logger.warn({ dir, failed: r.failed.slice(0, 10) }, `${what}: could not tighten some modes`);
  }
}
