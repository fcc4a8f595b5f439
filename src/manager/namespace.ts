import { StdchkError, notFound } from '../errors/index.ts';

/** Entry types: regular files, folders, symlinks and the special files (FIFOs, sockets, devices). */
export type NodeType = 'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device';

export const NODE_TYPES: readonly NodeType[] = [
  'file',
  'directory',
  'symlink',
  'fifo',
  'socket',
  'char-device',
  'block-device',
];

/** Types with no content (made by mknod): the entry is stored, data never travels through stdchk. */
export type SpecialType = 'fifo' | 'socket' | 'char-device' | 'block-device';
export const SPECIAL_TYPES: readonly SpecialType[] = ['fifo', 'socket', 'char-device', 'block-device'];

export const ROOT_INO = 1;

/** A name of an inode: the folder it is in and the name there. */
export interface Link {
  parent: number;
  name: string;
}

/**
 * One namespace entry. Its names are stored in the inode itself: the
 * primary one in `parent` + `name` (the only one of a folder), further hard
 * links in `links`; a rename rewrites one record, and the directory tree is
 * rebuilt from the inodes at start.
 */
export interface Inode {
  ino: number;
  type: NodeType;
  parent: number; // the root is its own parent
  name: string;
  /** Hard links besides the primary name (absent or empty: one name). Never on folders. */
  links?: Link[];
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
  /** Device number of a char/block device (the kernel's 32-bit encoding, as FUSE carries it); else 0. */
  rdev?: number;
}

/** Every name of an inode, the primary one first. */
export function namesOf(node: Inode): Link[] {
  const primary = { parent: node.parent, name: node.name };
  return node.links?.length ? [primary, ...node.links] : [primary];
}

export function hasName(node: Inode, parent: number, name: string): boolean {
  if (node.parent === parent && node.name === name) return true;
  return node.links?.some((l) => l.parent === parent && l.name === name) ?? false;
}

/** The inode with `names` as its names (the first becomes the primary one). */
export function withNames(node: Inode, names: readonly Link[]): Inode {
  const [first, ...rest] = names;
  if (!first) throw new StdchkError('INTERNAL', `inode ${node.ino} left without a name`);
  const next: Inode = { ...node, parent: first.parent, name: first.name };
  if (rest.length) next.links = rest.map((l) => ({ parent: l.parent, name: l.name }));
  else delete next.links;
  return next;
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
  rdev: number;
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

  /** Entries of a directory, sorted by name (a file linked twice there appears under each name). */
  entries(dir: number): { name: string; node: Inode }[] {
    const names = this.children.get(dir);
    if (!names) return [];
    return [...names.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, ino]) => ({ name, node: this.inodes.get(ino) as Inode }));
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

  /**
   * Every entry under the folder `ino` (its own excluded) as (folder, name,
   * inode), children before their parents. A file with several names there
   * appears once per name.
   */
  subtree(ino: number): { parent: number; name: string; node: Inode }[] {
    const out: { parent: number; name: string; node: Inode }[] = [];
    const visit = (dir: number) => {
      const names = this.children.get(dir);
      if (!names) return;
      for (const [name, child] of names) {
        const node = this.inodes.get(child) as Inode;
        if (node.type === 'directory') visit(node.ino);
        out.push({ parent: dir, name, node });
      }
    };
    visit(ino);
    return out;
  }

  /** What Stat reports of `node` reached by `path` (by default its primary name). */
  info(node: Inode, path = this.pathOf(node.ino)): NodeInfo {
    return {
      path,
      name: node.ino === ROOT_INO ? '' : path.slice(path.lastIndexOf('/') + 1),
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
      nlink:
        node.type === 'directory' ? 2 + (this.subdirs.get(node.ino) ?? 0) : 1 + (node.links?.length ?? 0),
      target: node.target,
      replicas: node.replicas,
      chunks: node.chunks,
      rdev: node.rdev ?? 0,
    };
  }

  /** Inserts or replaces an inode, moving its directory entries if its names changed. */
  put(node: Inode): void {
    const old = this.inodes.get(node.ino);
    const before = old && old.ino !== ROOT_INO ? namesOf(old) : [];
    const after = node.ino !== ROOT_INO ? namesOf(node) : [];
    const same = (a: Link, b: Link) => a.parent === b.parent && a.name === b.name;
    if (old) {
      this.count(old, -1);
      for (const l of before) if (!after.some((n) => same(n, l))) this.unlink(old, l);
    }
    this.inodes.set(node.ino, node);
    this.count(node, +1);
    for (const l of after) {
      if (before.some((o) => same(o, l))) continue;
      let names = this.children.get(l.parent);
      if (!names) this.children.set(l.parent, (names = new Map()));
      names.set(l.name, node.ino);
      if (node.type === 'directory') this.subdirs.set(l.parent, (this.subdirs.get(l.parent) ?? 0) + 1);
    }
    if (node.type === 'directory' && !this.children.has(node.ino)) this.children.set(node.ino, new Map());
  }

  delete(ino: number): void {
    const old = this.inodes.get(ino);
    if (!old) return;
    this.count(old, -1);
    for (const l of namesOf(old)) this.unlink(old, l);
    this.inodes.delete(ino);
    this.children.delete(ino);
    this.subdirs.delete(ino);
  }

  private unlink(node: Inode, l: Link): void {
    const names = this.children.get(l.parent);
    // Only if the entry still points here: a rename may already have put another inode under the name.
    if (names?.get(l.name) !== node.ino) return;
    names.delete(l.name);
    if (node.type === 'directory') this.subdirs.set(l.parent, (this.subdirs.get(l.parent) ?? 1) - 1);
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
