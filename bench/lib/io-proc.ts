/**
 * The application in the benchmarks: a separate process doing plain POSIX I/O, so the mount is
 * measured as an application sees it (and a process never touches its own mount).
 *
 *   io-proc.ts write FILE SIZE BLOCK   fresh data in BLOCK-byte write()s, close(); then the file opened
 *                                      again and fsync()ed: until close() is what the application
 *                                      waits for (its freeze), until fsync() returned the data is
 *                                      durable (on a write-back mount: on its replicas)
 *   io-proc.ts files DIR COUNT SIZE    COUNT new files of SIZE bytes of fresh data in DIR, one after
 *                                      the other (open, write, close), as a program writing small files
 *   io-proc.ts read BLOCK FILE...      each file read sequentially in BLOCK-byte read()s
 *
 * Prints one JSON line. Times are taken in this process, from just before open() (so process
 * start-up is not counted); `t0EpochMs` lets the caller place them on its own clock.
 */
import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { FreshData } from './data.ts';

const now = () => performance.timeOrigin + performance.now();
const [mode, ...args] = process.argv.slice(2);

if (mode === 'write') {
  const [file, sizeText, blockText] = args as [string, string, string];
  const size = Number(sizeText);
  const block = Number(blockText);
  const data = new FreshData();
  const t0 = now();
  const fd = openSync(file, 'w');
  for (let done = 0; done < size;) {
    const b = data.next(Math.min(block, size - done));
    let off = 0;
    while (off < b.length) off += writeSync(fd, b, off);
    done += b.length;
  }
  const tWritten = now();
  closeSync(fd);
  const tClosed = now();
  const again = openSync(file, 'r');
  fsyncSync(again);
  closeSync(again);
  const tDurable = now();
  process.stdout.write(
    JSON.stringify({
      bytes: size,
      t0EpochMs: t0,
      writeSeconds: (tWritten - t0) / 1000,
      /** From open() until close() returned. */
      closeSeconds: (tClosed - t0) / 1000,
      /** From open() until the fsync() after it returned. */
      durableSeconds: (tDurable - t0) / 1000,
      seconds: (tDurable - t0) / 1000,
      // user + system: the system part includes the kernel's FUSE work done on the writer's behalf
      cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    }) + '\n',
  );
} else if (mode === 'files') {
  const [dir, countText, sizeText] = args as [string, string, string];
  const count = Number(countText);
  const size = Number(sizeText);
  const data = new FreshData();
  const t0 = now();
  for (let i = 0; i < count; i++) {
    const fd = openSync(`${dir}/f${i}`, 'w');
    const b = data.next(size);
    let off = 0;
    while (off < b.length) off += writeSync(fd, b, off);
    closeSync(fd);
  }
  process.stdout.write(
    JSON.stringify({ bytes: count * size, t0EpochMs: t0, seconds: (now() - t0) / 1000 }) + '\n',
  );
} else if (mode === 'read') {
  const [blockText, ...files] = args as [string, ...string[]];
  const buf = Buffer.allocUnsafe(Number(blockText));
  const t0 = now();
  let bytes = 0;
  for (const f of files) {
    const fd = openSync(f, 'r');
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      bytes += n;
    }
    closeSync(fd);
  }
  process.stdout.write(JSON.stringify({ bytes, t0EpochMs: t0, seconds: (now() - t0) / 1000 }) + '\n');
} else {
  process.stderr.write(
    'usage: io-proc.ts write FILE SIZE BLOCK | files DIR COUNT SIZE | read BLOCK FILE...\n',
  );
  process.exit(2);
}
