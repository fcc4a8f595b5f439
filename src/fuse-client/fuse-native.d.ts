// Types for the parts of fuse-native 2.2.6 the mount uses (the package ships none).
declare module 'fuse-native' {
  type Cb = (err: number) => void;
  /** The calling process's credentials: passed by stdchk's patched build (scripts/build-fuse-native.sh), else undefined. */
  export interface Caller {
    uid: number;
    gid: number;
  }

  export interface FuseOps {
    init?(cb: Cb): void;
    statfs?(path: string, cb: (err: number, statfs?: object) => void): void;
    getattr?(path: string, cb: (err: number, stat?: object) => void): void;
    fgetattr?(path: string, fd: number, cb: (err: number, stat?: object) => void): void;
    flush?(path: string, fd: number, cb: Cb): void;
    fsync?(path: string, datasync: number, fd: number, cb: Cb): void;
    fsyncdir?(path: string, datasync: number, fd: number, cb: Cb): void;
    readdir?(path: string, cb: (err: number, names?: string[], stats?: object[]) => void): void;
    truncate?(path: string, size: number, cb: Cb): void;
    ftruncate?(path: string, fd: number, size: number, cb: Cb): void;
    /** Times in ms; stdchk's build passes UTIME_NOW as -1 and UTIME_OMIT as -2 (src/fuse-client/vfs.ts). */
    utimens?(path: string, atime: number, mtime: number, cb: Cb): void;
    readlink?(path: string, cb: (err: number, target?: string) => void): void;
    chown?(path: string, uid: number, gid: number, cb: Cb): void;
    chmod?(path: string, mode: number, cb: Cb): void;
    open?(path: string, flags: number, cb: (err: number, fd?: number) => void): void;
    read?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytes: number) => void): void;
    write?(
      path: string,
      fd: number,
      buf: Buffer,
      len: number,
      pos: number,
      cb: (bytes: number) => void,
    ): void;
    release?(path: string, fd: number, cb: Cb): void;
    create?(path: string, mode: number, cb: (err: number, fd?: number) => void, caller?: Caller): void;
    unlink?(path: string, cb: Cb): void;
    rename?(src: string, dest: string, cb: Cb): void;
    link?(src: string, dest: string, cb: Cb): void;
    symlink?(target: string, path: string, cb: Cb, caller?: Caller): void;
    mkdir?(path: string, mode: number, cb: Cb, caller?: Caller): void;
    mknod?(path: string, mode: number, dev: number, cb: Cb, caller?: Caller): void;
    rmdir?(path: string, cb: Cb): void;
  }

  export interface FuseOpts {
    mkdir?: boolean;
    force?: boolean;
    debug?: boolean;
    timeout?: false | number | Record<string, number | false>;
    [key: string]: unknown;
  }

  export default class Fuse {
    constructor(mnt: string, ops: FuseOps, opts?: FuseOpts);
    readonly mnt: string;
    readonly ops: FuseOps;
    opts: FuseOpts;
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
    protected _fuseOptions(): string;
    protected _close(cb: (err: Error | null) => void): void;
  }
}
