import { StdchkError } from '/work/main/src/errors/index.ts';
import { fuseOps, FuseMount } from '/work/main/src/fuse-client/fuse-binding.ts';
import { createLogger } from '/work/main/src/logging/index.ts';
const files = new Map<string, Buffer>();
const now = Date.now();
const fake: any = {
  getattr: async (p: string) => p === '/' ? { mode: 0o40755, uid: 0, gid: 0, size: 0, nlink: 2, ino: 1, blksize: 131072, blocks: 0, atime: now, mtime: now, ctime: now }
    : files.has(p) ? { mode: 0o100644, uid: 0, gid: 0, size: files.get(p)!.length, nlink: 1, ino: 2, blksize: 131072, blocks: 0, atime: now, mtime: now, ctime: now } : Promise.reject(new (StdchkError as any)('NOT_FOUND', 'nf')),
  fgetattr: async (p: string) => fake.getattr(p),
  readdir: async () => ({ names: ['.', '..', ...[...files.keys()].map((k) => k.slice(1))], stats: [] }),
  create: async (p: string) => { files.set(p, Buffer.alloc(0)); return 5; },
  open: async () => 5,
  write: async (_fd: number, d: Buffer, pos: number) => { sizes.push(d.length); return d.length; },
  read: async () => Buffer.alloc(0),
  flush: async () => {}, release: async () => {}, statfs: async () => ({ bsize: 131072, frsize: 131072, blocks: 1000, bfree: 500, bavail: 500, files: 10, ffree: 10, favail: 10, fsid: 1, flag: 0, namemax: 255 }),
  truncate: async () => {}, ftruncate: async () => {}, utimens: async () => {}, chmod: async () => {}, chown: async () => {},
};
const sizes: number[] = [];
const logger = createLogger('t');
const m = await FuseMount.mount(fake, { mountpoint: '/tmp/fz-mnt', logger });
const { execSync } = await import('node:child_process');
const out = await new Promise<string>((res) => require_exec(res));
function require_exec(res: (s: string) => void) {
  import('node:child_process').then(({ exec }) => exec('dd if=/dev/zero of=/tmp/fz-mnt/x bs=1M count=512 2>&1; df /tmp/fz-mnt; grep fz /proc/self/mountinfo', (e, so, se) => res(so + se)));
}
console.log(out);
console.log('write sizes', [...new Set(sizes)], sizes.length);
await m.unmount();
void execSync;
process.exit(0);
