import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalGrid, STDCHK_BIN, mountSource } from '../../src/grid/local-grid.ts';
import type { GridProcess } from '../../src/grid/local-grid.ts';
import { StorageClient } from '../../src/client/storage-client.ts';
import type { ChunkTransportKind } from '../../src/client/chunks.ts';
import { readSecretFile } from '../../src/config/secret.ts';
import type { ClusterCredentials, TlsMaterial } from '../../src/rpc/credentials.ts';
import { StdchkError } from '../../src/errors/index.ts';
import { cpuSeconds, run } from './proc.ts';

/** An existing cluster to measure instead of a one-machine grid. */
export interface ExistingCluster {
  address: string;
  /** Its secret file (the mounts the benchmark starts need the file, not just the bytes). */
  secretFile: string | undefined;
  /** Its mutual-TLS identity, if it uses TLS (the mounts get the same files). */
  tls?: TlsMaterial | undefined;
}

export interface BenchMountOptions {
  replicas?: number;
  /** `stdchk mount --sync-replicas`: copies durable before close() returns (default: all). */
  syncReplicas?: number;
  /** On-disk chunk cache folder; none: memory only. */
  cacheDir?: string;
  /**
   * `stdchk mount --write-mode` (default sync here: the benchmarks other than
   * `bench write`/`bench small` measure storage and reads, and take the
   * durable point as close()). Write-back stages in CACHE/staging, or a
   * staging folder beside the mount point.
   */
  writeMode?: 'writeback' | 'sync';
  chunker?: string;
  /** `stdchk mount --chunk-transport`. */
  chunkTransport?: ChunkTransportKind;
  /** `stdchk mount --encryption-key-file`. */
  encryptionKeyFile?: string;
  name: string;
}

/** CPU seconds (user + system) of the processes of a write, at one moment. */
export interface CpuSnapshot {
  atMs: number;
  mount: number;
  manager: number | null;
  benefactors: number | null;
}

export interface BenchMount {
  mountpoint: string;
  proc: GridProcess;
}

/**
 * Where a benchmark runs: the one-machine grid (a manager and N benefactors as real `stdchk`
 * processes on local folders, like `stdchk up`) or an existing cluster given by `--manager`.
 * Either way the benchmark starts its own `stdchk mount` processes against it.
 */
export class BenchCluster {
  readonly grid: LocalGrid | undefined;
  readonly managerAddress: string;
  readonly description: string;
  /** The credential flags a `stdchk mount` of this cluster gets. */
  private readonly mountArgs: string[];
  private readonly credentials: ClusterCredentials;
  private readonly mounts: BenchMount[] = [];
  private clientCache: StorageClient | undefined;
  private readonly transportClients = new Map<string, StorageClient>();

  private constructor(grid: LocalGrid | undefined, address: string, existing?: ExistingCluster) {
    this.grid = grid;
    this.managerAddress = address;
    if (grid) {
      this.mountArgs = grid.credentialArgs('mount');
      this.credentials = grid.credentials();
    } else {
      const tls = existing?.tls;
      this.mountArgs = [
        ...(existing?.secretFile ? ['--secret-file', existing.secretFile] : []),
        ...(tls ? ['--tls-ca', tls.files.ca, '--tls-cert', tls.files.cert, '--tls-key', tls.files.key] : []),
      ];
      this.credentials = {
        secret: existing?.secretFile ? readSecretFile(existing.secretFile) : undefined,
        tls,
      };
    }
    this.description = grid
      ? `one-machine grid: a manager and ${grid.benefactors.length} benefactors on local folders (${grid.dir})`
      : `existing cluster at ${address}`;
  }

  static async open(opts: {
    dir: string;
    existing?: ExistingCluster | undefined;
    benefactors?: number;
    managerArgs?: string[];
    /** Mutual TLS on the local grid (with the secret too). */
    tls?: boolean | undefined;
  }): Promise<BenchCluster> {
    if (opts.existing) {
      const c = new BenchCluster(undefined, opts.existing.address, opts.existing);
      await c.client().status(); // fail early and clearly if it is unreachable
      return c;
    }
    const grid = new LocalGrid({
      dir: path.join(opts.dir, 'grid'),
      benefactors: opts.benefactors ?? 3,
      capacity: '64GiB',
      ...(opts.managerArgs ? { managerArgs: opts.managerArgs } : {}),
      ...(opts.tls ? { tls: true } : {}),
    });
    try {
      await grid.start();
    } catch (e) {
      await grid.stop(1_000);
      throw e;
    }
    return new BenchCluster(grid, grid.managerAddress);
  }

  /**
   * A client of this cluster (with `transport`: one that moves chunks that
   * way; with `encryptionKey`: one that encrypts them).
   */
  client(transport?: ChunkTransportKind, encryptionKey?: Buffer): StorageClient {
    if (transport) {
      const key = `${transport}${encryptionKey ? '-encrypted' : ''}`;
      let c = this.transportClients.get(key);
      if (!c) {
        c = new StorageClient({
          managerAddress: this.managerAddress,
          ...this.credentials,
          chunkTransport: transport,
          encryptionKey,
        });
        this.transportClients.set(key, c);
      }
      return c;
    }
    this.clientCache ??= new StorageClient({ managerAddress: this.managerAddress, ...this.credentials });
    return this.clientCache;
  }

  /** Bytes of unique chunks the manager has stored (each chunk once, whatever its replicas). */
  async storedBytes(): Promise<number> {
    return (await this.client().status()).storedBytes;
  }

  /**
   * Starts `stdchk mount` at `mountpoint` and resolves once the kernel shows it. `logDir` is
   * where its log goes (the grid's logs folder for the local grid).
   */
  async mount(mountpoint: string, opts: BenchMountOptions, logDir: string): Promise<BenchMount> {
    const mp = path.resolve(mountpoint);
    mkdirSync(logDir, { recursive: true });
    const args = [
      'mount',
      mp,
      '--manager',
      this.managerAddress,
      ...this.mountArgs,
      ...(opts.replicas !== undefined ? ['--replicas', String(opts.replicas)] : []),
      ...(opts.syncReplicas !== undefined ? ['--sync-replicas', String(opts.syncReplicas)] : []),
      ...(opts.cacheDir ? ['--cache', opts.cacheDir] : []),
      ...(opts.chunker ? ['--chunker', opts.chunker] : []),
      ...(opts.chunkTransport ? ['--chunk-transport', opts.chunkTransport] : []),
      ...(opts.encryptionKeyFile ? ['--encryption-key-file', opts.encryptionKeyFile] : []),
      '--write-mode',
      opts.writeMode ?? 'sync',
      ...(opts.writeMode === 'writeback' && !opts.cacheDir ? ['--staging', `${mp}.staging`] : []),
    ];
    const log = openSync(path.join(logDir, `${opts.name}.log`), 'a');
    const child = spawn(STDCHK_BIN, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    const proc: GridProcess = {
      name: opts.name,
      child,
      args,
      exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    };
    const m: BenchMount = { mountpoint: mp, proc };
    this.mounts.push(m);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new StdchkError(
          'UNAVAILABLE',
          `${opts.name} exited during start; see ${logDir}/${opts.name}.log`,
        );
      }
      if (mountSource(mp) === `stdchk:${child.pid}`) return m;
      if (Date.now() > deadline) throw new StdchkError('TIMEOUT', `${opts.name} did not mount ${mp} in time`);
      await sleep(50);
    }
  }

  /**
   * CPU seconds used so far by the processes a write goes through: this mount and, on the
   * local grid, the manager and the benefactors (null for an existing cluster's).
   */
  cpu(m: BenchMount | undefined): CpuSnapshot {
    const pidOf = (p: GridProcess | undefined) => p?.child.pid;
    const sum = (ps: (GridProcess | undefined)[]) =>
      ps.reduce((n, p) => n + (pidOf(p) ? cpuSeconds(pidOf(p) as number) : 0), 0);
    return {
      atMs: performance.now(),
      mount: m?.proc.child.pid ? cpuSeconds(m.proc.child.pid) : 0,
      manager: this.grid ? sum([this.grid.manager]) : null,
      benefactors: this.grid ? sum(this.grid.benefactors) : null,
    };
  }

  /** Stops a mount (SIGTERM: it unmounts); clears what a stuck one leaves. */
  async unmount(m: BenchMount): Promise<void> {
    const i = this.mounts.indexOf(m);
    if (i >= 0) this.mounts.splice(i, 1);
    const c = m.proc.child;
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
      await m.proc.exited;
      clearTimeout(t);
    }
    if (mountSource(m.mountpoint)?.startsWith('stdchk:')) await run('umount', ['-l', m.mountpoint]);
  }

  /** The benefactors' pack files (local grid only), to drop them from the page cache for cold reads. */
  benefactorFiles(): string[] {
    if (!this.grid) return [];
    const out: string[] = [];
    for (let i = 0; i < this.grid.benefactors.length; i++) {
      const dir = this.grid.benefactorStore(i);
      try {
        for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
          if (e.isFile()) out.push(path.join(e.parentPath, e.name));
        }
      } catch {
        // no store yet
      }
    }
    return out;
  }

  /** Removes a folder of the storage (what a benchmark wrote), best effort. */
  async remove(storagePath: string): Promise<void> {
    await this.client()
      .remove(storagePath, { recursive: true })
      .catch(() => undefined);
  }

  async stop(): Promise<void> {
    for (const m of [...this.mounts].reverse()) await this.unmount(m);
    this.clientCache?.close();
    for (const c of this.transportClients.values()) c.close();
    await this.grid?.stop();
  }
}
