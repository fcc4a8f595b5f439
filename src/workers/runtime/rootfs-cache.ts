import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StdchkError } from '../../errors/index.ts';
import { findTool, lastLines, runCommand } from './os-util.ts';

const READY = '.stdchk-ready';

/**
 * Container root file systems, unpacked once per worker from a tarball (any
 * tar can read: plain, gzip, xz) into `<root>/<sha256 of the tarball>/rootfs`.
 * Keyed by content, not path: the same image under two names is unpacked
 * once, and a changed tarball at the same path is unpacked again. CRIU needs
 * the root local and identical wherever a container is restored; unpacking
 * the same bytes gives the same tree (tar keeps modes and mtimes).
 */
export class RootfsCache {
  readonly root: string;
  private readonly hashes = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(root: string) {
    this.root = root;
  }

  /** The unpacked rootfs folder of `tarball`, unpacking it if needed. */
  async ensure(tarball: string): Promise<{ dir: string; sha256: string; unpacked: boolean }> {
    const sha256 = await this.hashOf(tarball);
    const dir = path.join(this.root, sha256, 'rootfs');
    if (existsSync(path.join(this.root, sha256, READY))) return { dir, sha256, unpacked: false };
    let p = this.inflight.get(sha256);
    if (!p) {
      p = this.unpack(tarball, sha256).finally(() => this.inflight.delete(sha256));
      this.inflight.set(sha256, p);
    }
    return { dir: await p, sha256, unpacked: true };
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

  private async unpack(tarball: string, sha256: string): Promise<string> {
    const final = path.join(this.root, sha256);
    const tmp = path.join(this.root, `.tmp-${sha256.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
    await mkdir(path.join(tmp, 'rootfs'), { recursive: true });
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
