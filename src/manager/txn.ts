import type { KvOp } from './kv.ts';
import { ROOT_INO, components, hasName, notADirectory } from './namespace.ts';
import type { Inode, Namespace } from './namespace.ts';

/**
 * One request's changes, staged: the namespace view it reads sees its own
 * writes, and nothing reaches memory before the LevelDB batch is durable.
 */
export class Txn {
  readonly ops: KvOp[] = [];
  readonly inodes = new Map<number, Inode | null>();
  readonly deltas = new Map<number, number>();
  readonly raises = new Map<number, number>();
  readonly after: (() => void)[] = [];

  constructor(
    private readonly ns: Namespace,
    public nextInode: number,
  ) {}

  get(ino: number): Inode | undefined {
    const staged = this.inodes.get(ino);
    if (staged === null) return undefined;
    return staged ?? this.ns.get(ino);
  }

  child(dir: number, name: string): Inode | undefined {
    for (const n of this.inodes.values()) {
      if (n && n.ino !== ROOT_INO && hasName(n, dir, name)) return n;
    }
    const ino = this.ns.childIno(dir, name);
    if (ino === undefined) return undefined;
    const n = this.get(ino);
    return n && hasName(n, dir, name) ? n : undefined;
  }

  lookup(path: string): Inode | undefined {
    let node = this.get(ROOT_INO) as Inode;
    let walked = '';
    for (const name of components(path)) {
      if (node.type !== 'directory') throw notADirectory(walked || '/');
      const next = this.child(node.ino, name);
      if (!next) return undefined;
      node = next;
      walked += `/${name}`;
    }
    return node;
  }

  put(node: Inode): void {
    this.inodes.set(node.ino, node);
  }

  remove(ino: number): void {
    this.inodes.set(ino, null);
  }

  allocInode(): number {
    return this.nextInode++;
  }

  touchDir(ino: number, now: number): void {
    const dir = this.get(ino);
    if (dir) this.put({ ...dir, mtimeMs: now, ctimeMs: now });
  }

  delta(id: number, d: number): void {
    this.deltas.set(id, (this.deltas.get(id) ?? 0) + d);
  }

  raiseTarget(id: number, replicas: number): void {
    this.raises.set(id, Math.max(this.raises.get(id) ?? 0, replicas));
  }
}
