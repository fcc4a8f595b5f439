import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { StdchkError } from '../errors/index.ts';
import { resolveSecret } from '../config/secret.ts';
import { StorageClient } from '../client/storage-client.ts';

/** Where `stdchk up` keeps its grid unless --dir says otherwise. */
export const DEFAULT_UP_DIR = '.stdchk';

export interface ClientFlags {
  manager?: string;
  secretFile?: string;
}

export function addClientOptions(cmd: Command): Command {
  return cmd
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
}

/** Manager address and secret from flags, environment, or a local `stdchk up` grid, in that order. */
export function resolveClientConfig(flags: ClientFlags): {
  managerAddress: string;
  secret: Buffer | undefined;
} {
  let managerAddress = flags.manager ?? process.env.STDCHK_MANAGER;
  let secretFile = flags.secretFile ?? process.env.STDCHK_SECRET_FILE;
  const upAddr = path.join(DEFAULT_UP_DIR, 'manager.addr');
  if (!managerAddress && existsSync(upAddr)) {
    managerAddress = readFileSync(upAddr, 'utf8').trim();
    const upSecret = path.join(DEFAULT_UP_DIR, 'secret');
    if (!secretFile && existsSync(upSecret)) secretFile = upSecret;
  }
  if (!managerAddress) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      'no manager address: pass --manager HOST:PORT or set STDCHK_MANAGER',
    );
  }
  return { managerAddress, secret: resolveSecret(secretFile) };
}

export function openClient(flags: ClientFlags): StorageClient {
  const { managerAddress, secret } = resolveClientConfig(flags);
  return new StorageClient({ managerAddress, secret });
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

/** A daemon's secret; refuses to go on without one unless --insecure was given. */
export function requireSecret(secretFile: string | undefined, insecure: boolean | undefined, role: string) {
  const secret = resolveSecret(secretFile);
  if (!secret && !insecure) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `${role} needs the cluster secret: pass --secret-file FILE (or STDCHK_SECRET_FILE), or --insecure to run without authentication`,
    );
  }
  return secret;
}

export function checkListen(listen: string): string {
  if (!/^[^\s:]+:\d{1,5}$/.test(listen) && !/^\[[0-9a-fA-F:.]+\]:\d{1,5}$/.test(listen)) {
    throw new StdchkError('INVALID_ARGUMENT', `--listen must be HOST:PORT, not ${JSON.stringify(listen)}`);
  }
  return listen;
}
