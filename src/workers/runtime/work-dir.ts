import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import type { IdMap } from './oci-config.ts';
import { CONTAINER_IDS } from './oci-config.ts';
import { StdchkError } from '../../errors/index.ts';

/**
 * Where containers' ids land on the worker by default: container id N is
 * host id 2,000,000,000 + N (N < 65,536). Far above the ranges useradd
 * hands out in /etc/subuid (100,000 + 65,536 per user) and below 2^31. Every
 * worker of a grid must use the same map: a container restores only where
 * its checkpoint's map is the same.
 */
export const DEFAULT_CONTAINER_ID_MAP: IdMap = { base: 2_000_000_000, size: CONTAINER_IDS };

/** Parses `--container-userns BASE|off`. */
export function parseContainerUserns(value: string): IdMap | null {
  if (value === 'off') return null;
  const base = Number(value);
  if (!/^\d+$/.test(value) || base < 1 || base + CONTAINER_IDS > 2 ** 32 - 1) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `--container-userns must be "off" or the first host id of the containers' ${CONTAINER_IDS} ids (1 to ${2 ** 32 - 1 - CONTAINER_IDS}), not ${JSON.stringify(value)}`,
    );
  }
  return { base, size: CONTAINER_IDS };
}

/**
 * Creates the worker's work folder readable by root alone: 0700, or 0710
 * with the containers' root group when containers run in a user namespace
 * (runc mounts their rootfs from inside it and must walk down to the rootfs
 * cache; that group can pass through but not list). Everything below it is
 * 0700 root (instances, logs, CRIU work files) except the rootfs cache
 * (RootfsCache).
 */
export function prepareWorkDir(dir: string, idMap: IdMap | null | undefined): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (idMap) {
    chownSync(dir, 0, idMap.base);
    chmodSync(dir, 0o710);
  } else {
    chmodSync(dir, 0o700);
  }
}
