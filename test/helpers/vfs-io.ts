import type { Vfs } from '../../src/fuse-client/vfs.ts';

// File I/O through the VFS layer as the kernel would drive it (128 KiB requests), for the
// tests that run a Vfs without a kernel mount.

const O_RDONLY = 0;

/** Writes `data` at `position` in kernel-sized pieces; a short write is an error. */
export async function writeAll(
  vfs: Vfs,
  fh: number,
  data: Buffer,
  position = 0,
  piece = 128 * 1024,
): Promise<void> {
  for (let off = 0; off < data.length; off += piece) {
    const part = Buffer.from(data.subarray(off, Math.min(data.length, off + piece)));
    const n = await vfs.write(fh, part, position + off);
    if (n !== part.length) throw new Error(`short write: ${n} of ${part.length}`);
  }
}

/** Creates `p` with `data`, then flush and release (what close() does). */
export async function put(vfs: Vfs, p: string, data: Buffer, mode = 0o644): Promise<void> {
  const fh = await vfs.create(p, mode);
  await writeAll(vfs, fh, data);
  await vfs.flush(fh);
  await vfs.release(fh);
}

/** The whole file through a new handle, read until a short read (as `cat` does). */
export async function readFile(vfs: Vfs, p: string): Promise<Buffer> {
  const fh = await vfs.open(p, O_RDONLY);
  try {
    const parts: Buffer[] = [];
    for (let off = 0; ;) {
      const piece = await vfs.read(fh, off, 128 * 1024);
      if (piece.length === 0) break;
      parts.push(piece);
      off += piece.length;
    }
    return Buffer.concat(parts);
  } finally {
    await vfs.release(fh);
  }
}

/** Resolves to the error a promise rejects with, or undefined. */
export const outcome = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );
