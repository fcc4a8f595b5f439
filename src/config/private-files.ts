import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { StdchkError, errorMessage } from '../errors/index.ts';

/**
 * Modes of what stdchk keeps on local disk (docs/security.md, "Files on
 * disk"): folders 0700, files 0600, owned by the user the daemon runs as.
 * Chunk bytes, metadata, scratch copies, secrets and keys are readable by
 * nobody else on the machine, whatever the umask.
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** The process's umask, read without changing it (process.umask() with no argument is deprecated). */
export function currentUmask(): number {
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return parseInt(m[1] as string, 8);
  } catch {
    /* not Linux */
  }
  return 0o022;
}

const mode = (st: Stats) => `0${(st.mode & 0o777).toString(8)}`;

/** The permission bits that let group or others in. */
function looseBits(st: Stats): number {
  return st.mode & 0o077;
}

/**
 * Refuses a secret or private key that someone else could read or change:
 * one clear line naming the file and the fix. `st` is the fstat of the open
 * file (what was read, even through a symlink).
 */
export function checkPrivateFile(file: string, st: Stats, what: string): void {
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== uid && st.uid !== 0) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `${what} ${file} belongs to uid ${st.uid}, not to this user (${uid}) or root: another user could change it`,
    );
  }
  if (looseBits(st) !== 0) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `${what} ${file} has mode ${mode(st)}: other users could read or change it; run chmod 600 ${file}`,
    );
  }
}

/** Creates `dir` (and missing parents) with mode 0700; an existing one is left as it is (see tightenTree). */
export function ensurePrivateDir(dir: string, what = 'folder'): void {
  try {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  } catch (e) {
    throw new StdchkError('INVALID_ARGUMENT', `cannot create ${what} ${dir}: ${errorMessage(e)}`);
  }
}

/**
 * Removes group and other bits from `dir` and everything beneath it
 * (folders end 0700, files 0600 or 0700), without following symlinks.
 * For installations made by an older stdchk, whose files were 0644 in 0755
 * folders. Returns how many entries were changed; entries it cannot change
 * (not ours) are reported, not fatal.
 */
export function tightenTree(dir: string): { changed: number; failed: string[] } {
  const out = { changed: 0, failed: [] as string[] };
  const visit = (p: string) => {
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch {
      return; // gone meanwhile
    }
    if (st.isSymbolicLink()) return;
    if (looseBits(st) !== 0) {
      try {
        chmodSync(p, st.mode & 0o700);
        out.changed++;
      } catch (e) {
        out.failed.push(`${p}: ${errorMessage(e)}`);
      }
    }
    if (st.isDirectory()) {
      let names: string[];
      try {
        names = readdirSync(p);
      } catch (e) {
        out.failed.push(`${p}: ${errorMessage(e)}`);
        return;
      }
      for (const n of names) visit(path.join(p, n));
    }
  };
  visit(dir);
  return out;
}

/** A folder stdchk keeps private files in: created 0700, and an existing one (and its content) tightened. */
export function preparePrivateTree(dir: string, what: string): { changed: number; failed: string[] } {
  ensurePrivateDir(dir, what);
  return tightenTree(dir);
}

/**
 * A folder in a place other users can write to (the system temp folder):
 * used only if it is a real folder (not a symlink) owned by this user; its
 * mode is tightened to 0700. Created 0700 if missing. Throws
 * PERMISSION_DENIED naming the owner otherwise (the caller may pick another
 * folder).
 */
export function ownPrivateDir(dir: string): void {
  try {
    mkdirSync(path.dirname(dir), { recursive: true, mode: PRIVATE_DIR_MODE });
    mkdirSync(dir, { mode: PRIVATE_DIR_MODE });
  } catch (e) {
    // Whatever is there already (a folder, a symlink, a file) is judged below, not trusted.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new StdchkError('INVALID_ARGUMENT', `cannot create ${dir}: ${errorMessage(e)}`);
    }
  }
  const st = lstatSync(dir);
  const uid = process.getuid?.() ?? 0;
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new StdchkError('PERMISSION_DENIED', `${dir} is not a folder (a symlink or a file)`);
  }
  if (st.uid !== uid) {
    throw new StdchkError('PERMISSION_DENIED', `${dir} belongs to uid ${st.uid}, not to this user (${uid})`);
  }
  if ((st.mode & 0o777) !== PRIVATE_DIR_MODE) chmodSync(dir, PRIVATE_DIR_MODE);
}

/**
 * A folder an operator named to hold private subfolders (--scratch): created
 * 0700 if missing; an existing one (a symlink the operator made is followed)
 * must belong to this user or root and be closed to writes by others unless
 * sticky (like /tmp), so no one else can replace what stdchk makes in it.
 * Its mode is left alone. Throws PERMISSION_DENIED otherwise.
 */
export function checkSafeParent(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  } catch (e) {
    throw new StdchkError('INVALID_ARGUMENT', `cannot create ${dir}: ${errorMessage(e)}`);
  }
  const st = statSync(dir);
  const uid = process.getuid?.() ?? 0;
  if (!st.isDirectory()) throw new StdchkError('PERMISSION_DENIED', `${dir} is not a folder`);
  if (st.uid !== uid && st.uid !== 0) {
    throw new StdchkError(
      'PERMISSION_DENIED',
      `${dir} belongs to uid ${st.uid}, not to this user (${uid}) or root`,
    );
  }
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
    throw new StdchkError(
      'PERMISSION_DENIED',
      `${dir} has mode ${mode(st)}: other users could replace what is made in it (make it 0700, or sticky)`,
    );
  }
}

/** A fresh private folder in `parent` (mkdtemp: 0700, an unguessable name). */
export function freshPrivateDir(parent: string, prefix: string): string {
  return mkdtempSync(path.join(parent, prefix));
}
