import { StdchkError, notFound } from '../errors/index.ts';

export type NodeType = 'file' | 'directory' | 'symlink';

export const ROOT_INO = 1;

/**
 * One namespace entry. No hard links, so every inode has exactly one parent
 * and name, stored in the inode itself (a rename rewrites one record, and the
 * directory tree is rebuilt from the inodes at start).
 */
export interface Inode {
  ino: number;
  type: NodeType;
  parent: number; // the root is its own parent
  name: string;
  mode: number;
  uid: number;
  gid: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  size: number;
  version: number;
  replicas: number;
  chunks: number;
  target: string;
}

/** What Stat/List/... report (the proto's FileInfo, minus the wire types). */
export interface NodeInfo {
  path: string;
  name: string;
  type: NodeType;
  inode: number;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  version: number;
  nlink: number;
  target: string;
  replicas: number;
  chunks: number;
}

export const notADirectory = (path: string) => new StdchkError('NOT_A_DIRECTORY', `${path}: not a directory`);
export const isADirectory = (path: string) => new StdchkError('IS_A_DIRECTORY', `${path}: is a directory`);
export const alreadyExists = (path: string) => new StdchkError('ALREADY_EXISTS', `${path}: already exists`);

/** "/a/b" -> ["a", "b"]; "/" -> []. Paths are already normalised. */
export function components(path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/**
 * The directory tree in memory (loaded at start, kept in step with the
 * database by the metadata store), with the counters Status reports.
 */
export class Namespace {
  private readonly inodes = new Map<number, Inode>();
  private readonly children = new Map<number, Map<string, number>>();
  private readonly subdirs = new Map<number, number>();
  files = 0;
  directories = 0;
  /** Sum of the current sizes of all files. */
  logicalBytes = 0;

  get(ino: number): Inode | undefined {
    return this.inodes.get(ino);
  }

  root(): Inode {
    const root = this.inodes.get(ROOT_INO);
    if (!root) throw new StdchkError('INTERNAL', 'namespace has no root');
    return root;
  }

  childIno(dir: number, name: string): number | undefined {
    return this.children.get(dir)?.get(name);
  }

  childCount(dir: number): number {
    return this.children.get(dir)?.size ?? 0;
  }

  /** Entries of a directory, sorted by name. */
  entries(dir: number): Inode[] {
    const names = this.children.get(dir);
    if (!names) return [];
    return [...names.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, ino]) => this.inodes.get(ino) as Inode);
  }

  /** The inode at `path`, or undefined. A non-directory in the middle is NOT_A_DIRECTORY, as in POSIX. */
  lookup(path: string): Inode | undefined {
    let node = this.root();
    let walked = '';
    for (const name of components(path)) {
      if (node.type !== 'directory') throw notADirectory(walked || '/');
      const ino = this.childIno(node.ino, name);
      if (ino === undefined) return undefined;
      node = this.inodes.get(ino) as Inode;
      walked += `/${name}`;
    }
    return node;
  }

  /** Like lookup, but NOT_FOUND when absent. */
  require(path: string): Inode {
    const node = this.lookup(path);
    if (!node) throw notFound(path);
    return node;
  }

  pathOf(ino: number): string {
    const names: string[] = [];
    let node = this.inodes.get(ino);
    while (node && node.ino !== ROOT_INO) {
      names.push(node.name);
      node = this.inodes.get(node.parent);
    }
    return '/' + names.reverse().join('/');
  }

  /** Is `ino` `ancestor` or inside it? */
  isWithin(ino: number, ancestor: number): boolean {
    let node = this.inodes.get(ino);
    while (node) {
      if (node.ino === ancestor) return true;
      if (node.ino === ROOT_INO) return false;
      node = this.inodes.get(node.parent);
    }
    return false;
  }

  /** Every inode under `ino` (itself included), children before their parents. */
  subtree(ino: number): Inode[] {
    const out: Inode[] = [];
    const visit = (n: Inode) => {
      if (n.type === 'directory') for (const c of this.entries(n.ino)) visit(c);
      out.push(n);
    };
    const start = this.inodes.get(ino);
    if (start) visit(start);
    return out;
  }

  info(node: Inode, path = this.pathOf(node.ino)): NodeInfo {
    return {
      path,
      name: node.ino === ROOT_INO ? '' : node.name,
      type: node.type,
      inode: node.ino,
      size: node.size,
      mode: node.mode,
      uid: node.uid,
      gid: node.gid,
      atimeMs: node.atimeMs,
      mtimeMs: node.mtimeMs,
      ctimeMs: node.ctimeMs,
      version: node.version,
      nlink: node.type === 'directory' ? 2 + (this.subdirs.get(node.ino) ?? 0) : 1,
      target: node.target,
      replicas: node.replicas,
      chunks: node.chunks,
    };
  }

  /** Inserts or replaces an inode, moving its directory entry if parent or name changed. */
  put(node: Inode): void {
    const old = this.inodes.get(node.ino);
    if (old) {
      this.count(old, -1);
      if (old.ino !== ROOT_INO && (old.parent !== node.parent || old.name !== node.name)) this.unlink(old);
    }
    this.inodes.set(node.ino, node);
    this.count(node, +1);
    if (node.ino !== ROOT_INO && (!old || old.parent !== node.parent || old.name !== node.name)) {
      let names = this.children.get(node.parent);
      if (!names) this.children.set(node.parent, (names = new Map()));
      names.set(node.name, node.ino);
      if (node.type === 'directory') this.subdirs.set(node.parent, (this.subdirs.get(node.parent) ?? 0) + 1);
    }
    if (node.type === 'directory' && !this.children.has(node.ino)) this.children.set(node.ino, new Map());
  }

  delete(ino: number): void {
    const old = this.inodes.get(ino);
    if (!old) return;
    this.count(old, -1);
    this.unlink(old);
    this.inodes.delete(ino);
    this.children.delete(ino);
    this.subdirs.delete(ino);
  }

  private unlink(node: Inode): void {
    const names = this.children.get(node.parent);
    // Only if the entry still points here: a rename may already have put another inode under the name.
    if (names?.get(node.name) !== node.ino) return;
    names.delete(node.name);
    if (node.type === 'directory') this.subdirs.set(node.parent, (this.subdirs.get(node.parent) ?? 1) - 1);
  }

  private count(node: Inode, sign: 1 | -1): void {
    if (node.type === 'file') {
      this.files += sign;
      this.logicalBytes += sign * node.size;
    } else if (node.type === 'directory') {
      this.directories += sign;
    }
  }

  *all(): IterableIterator<Inode> {
    yield* this.inodes.values();
  }
}
