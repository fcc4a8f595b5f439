import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { hashChunk } from '../hashing/index.ts';
import { MARKER_FILE } from '../jobs/layout.ts';

const PAGE = 4096;
const READ = 1024 * 1024;

/**
 * The distinct non-zero 4 KiB pages of a checkpoint folder (BLAKE3, first
 * 16 bytes, mapped to the page's length). Comparing two checkpoints' sets estimates what an
 * incremental checkpoint costs: CRIU cannot track dirty memory on this
 * kernel, so every dump is full and only dedup makes the second one cheap;
 * 4 KiB pages are the floor any chunking can reach.
 */
export async function pageHashes(dir: string): Promise<Map<string, number>> {
  const set = new Map<string, number>();
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const buf = Buffer.alloc(READ);
  for (const e of entries) {
    if (!e.isFile() || e.name === MARKER_FILE) continue;
    const fh = await open(path.join(e.parentPath, e.name), 'r');
    try {
      let pos = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, READ, pos);
        if (bytesRead === 0) break;
        for (let off = 0; off < bytesRead; off += PAGE) {
          const page = buf.subarray(off, Math.min(off + PAGE, bytesRead));
          if (isZero(page)) continue;
          set.set(hashChunk(page).subarray(0, 16).toString('base64'), page.length);
        }
        pos += bytesRead;
      }
    } finally {
      await fh.close();
    }
  }
  return set;
}

/** Bytes of `current`'s distinct pages that `previous` does not hold. */
export function newBytesBetween(
  previous: Map<string, number> | undefined,
  current: Map<string, number>,
): number {
  let n = 0;
  for (const [h, len] of current) if (!previous?.has(h)) n += len;
  return n;
}

const ZERO_PAGE = Buffer.alloc(PAGE);

function isZero(b: Buffer): boolean {
  return b.length === PAGE ? b.equals(ZERO_PAGE) : b.equals(ZERO_PAGE.subarray(0, b.length));
}
