import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, chown, lchown, lstat, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StdchkError } from '../../errors/index.ts';
import type { IdMap } from './oci-config.ts';
import { findTool, lastLines, runCommand } from './os-util.ts';

const READY = '.stdchk-ready';

export interface RootfsCacheOptions {
  /**
   * Containers run in a user namespace with this id map: unpacked trees are
   * owned by the mapped ids (file owner N becomes `base + N`), and the
   * folders above them let the containers' root (host `base`) through.
   */
  idMap?: IdMap | undefined;
}

/**
 * Container root file systems, unpacked once per worker from a tarball (any
 * tar can read: plain, gzip, xz) into `<root>/<sha256 of the tarball>/rootfs`
 * (`<sha256>.u<base>/rootfs` when shifted to a user namespace's ids).
 * Keyed by content, not path: the same image under two names is unpacked
 * once, and a changed tarball at the same path is unpacked again. CRIU needs
 * the root local and identical wherever a container is restored; unpacking
 * the same bytes gives the same tree (tar keeps modes and mtimes, and the
 * shift is the same on every worker with the same map).
 *
 * Folder modes: `root` and each image folder are 0700, or 0710 with group
 * `base` under an id map: runc mounts the rootfs from inside the user
 * namespace, as the containers' root, which must be able to walk down to it
 * (and no one else can, not even list the folders).
 */
export class RootfsCache {
  readonly root: string;
  private readonly idMap: IdMap | undefined;
  private readonly hashes = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(root: string, opts: RootfsCacheOptions = {}) {
    this.root = root;
    this.idMap = opts.idMap;
  }

  /** The unpacked rootfs folder of `tarball`, unpacking it if needed. */
  async ensure(tarball: string): Promise<{ dir: string; sha256: string; unpacked: boolean }> {
    const sha256 = await this.hashOf(tarball);
    const key = this.idMap ? `${sha256}.u${this.idMap.base}` : sha256;
    const dir = path.join(this.root, key, 'rootfs');
    if (existsSync(path.join(this.root, key, READY))) return { dir, sha256, unpacked: false };
    let p = this.inflight.get(key);
    if (!p) {
      p = this.unpack(tarball, key).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return { dir: await p, sha256, unpacked: true };
  }

  /**
   * Creates the cache folder with its mode and, under an id map, checks that
   * the containers' root can walk down to it: a folder above that only root
   * may enter makes every container fail to start, so say so at once.
   */
  async prepare(): Promise<void> {
    await this.privateDir(this.root);
    if (!this.idMap) return;
    const { base } = this.idMap;
    for (let dir = path.dirname(path.resolve(this.root)); ; dir = path.dirname(dir)) {
      const st = await stat(dir);
      const ok =
        (st.mode & 0o001) !== 0 ||
        (st.gid === base && (st.mode & 0o010) !== 0) ||
        (st.uid === base && (st.mode & 0o100) !== 0);
      if (!ok) {
        throw new StdchkError(
          'INVALID_ARGUMENT',
          `containers run as host uid ${base} (their root) and cannot reach the rootfs cache ${this.root}: ` +
            `${dir} is mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')} owner ${st.uid}:${st.gid}; ` +
            `let others through it (chmod o+x ${dir}), choose another --work, or run without a user namespace (--container-userns off)`,
        );
      }
      if (dir === path.dirname(dir)) return;
    }
  }

  private async privateDir(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (this.idMap) {
      await chown(dir, 0, this.idMap.base);
      await chmod(dir, 0o710);
    } else {
      await chmod(dir, 0o700);
    }
  }

  private async hashOf(tarball: string): Promise<string> {
    let st;
    try {
      st = await stat(tarball);
    } catch (e) {
      throw new StdchkError(
        'NOT_FOUND',
        `rootfs ${tarball}: ${(e as NodeJS.ErrnoException).code ?? 'cannot stat'}`,
      );
    }
    if (!st.isFile()) throw new StdchkError('INVALID_ARGUMENT', `rootfs ${tarball} is not a file`);
    const key = `${tarball}\0${st.size}\0${st.mtimeMs}\0${st.ino}`;
    const known = this.hashes.get(key);
    if (known) return known;
    const h = createHash('sha256');
    for await (const piece of createReadStream(tarball)) h.update(piece as Buffer);
    const sha = h.digest('hex');
    this.hashes.set(key, sha);
    return sha;
  }

  private async unpack(tarball: string, key: string): Promise<string> {
    await this.prepare();
    const final = path.join(this.root, key);
    const tmp = path.join(this.root, `.tmp-${key.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
    await this.privateDir(tmp);
    await mkdir(path.join(tmp, 'rootfs'));
    try {
      const r = await runCommand(
        findTool('tar'),
        ['-x', '-f', tarball, '-C', path.join(tmp, 'rootfs'), '--numeric-owner', '--same-permissions'],
        { timeoutMs: 30 * 60_000 },
      );
      if (r.code !== 0) {
        throw new StdchkError(
          'INVALID_ARGUMENT',
          `cannot unpack rootfs ${tarball}: ${lastLines(r.stderr, 3)}`,
        );
      }
      if (this.idMap) await shiftOwners(path.join(tmp, 'rootfs'), this.idMap);
      await writeFile(path.join(tmp, READY), `${tarball}\n`);
      await rm(final, { recursive: true, force: true });
      await rename(tmp, final);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    return path.join(final, 'rootfs');
  }
}

/**
 * Gives every file of a tree the owner and group it has as seen from inside
 * the user namespace (N becomes base + N; ids beyond the map become the
 * namespace's nobody). chown clears setuid and setgid bits, so the mode is
 * put back. Hard links are shifted once.
 */
export async function shiftOwners(top: string, idMap: IdMap): Promise<void> {
  const shift = (id: number) => idMap.base + (id < idMap.size ? id : 65_534);
  const seen = new Set<string>();
  const stack = [top];
  while (stack.length) {
    const p = stack.pop() as string;
    const st = await lstat(p);
    const inode = `${st.dev}:${st.ino}`;
    if (!seen.has(inode)) {
      seen.add(inode);
      await lchown(p, shift(st.uid), shift(st.gid));
      if (!st.isSymbolicLink() && (st.mode & 0o6000) !== 0) await chmod(p, st.mode & 0o7777);
    }
    if (st.isDirectory()) for (const name of await readdir(p)) stack.push(path.join(p, name));
  }
}
