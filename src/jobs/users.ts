import { execFile } from 'node:child_process';
import os from 'node:os';
import { StdchkError } from '../errors/index.ts';
import { show } from '../validation/index.ts';
import { JOB_USER, MAX_ID } from './spec.ts';

/**
 * Who a job runs as, and who it may run as.
 *
 * A job file may name a user ("user": "alice", "1000" or "1000:1000"); a job
 * that names none runs as the grid's default user (`nobody` unless the
 * operator says otherwise). Any other user must be allowed by the operator
 * (`--allow-users`): names, uids and uid ranges. Root (uid 0) is never
 * implied: only a list naming `root`, `0` or a range starting at 0 allows it.
 * The scheduler checks at submit (a clear error for the submitter), every
 * worker checks again before it runs a job (the worker's machine, the
 * worker's word). Names are looked up in the host's user database
 * (`getent passwd`, so NSS sources count): keep it the same on every
 * machine of the grid, or use numbers. docs/security.md has the whole story.
 */

/** A job's user, resolved to the ids the job runs with. */
export interface JobUser {
  uid: number;
  gid: number;
  /** The name in the user database, if there is an entry. */
  name?: string;
  /** HOME for the job: the entry's home, or "/". */
  home: string;
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Looks a user up by name or by uid (as a decimal string); undefined if there is no such user. */
export type UserLookup = (key: string) => Promise<PasswdEntry | undefined>;

export const DEFAULT_JOB_USER = 'nobody';

export interface JobUserPolicyOptions {
  /** Who a job without "user" runs as (default "nobody"). */
  defaultUser?: string;
  /** Users a job file may name besides the default: a comma-separated list or an array of names, uids, "a-b" uid ranges. */
  allow?: string | string[];
  /** Default: `getent passwd`. */
  lookup?: UserLookup;
  /** Says where names were looked up, in error messages (default: this host's name). */
  where?: string;
}

type AllowEntry = { name: string } | { from: number; to: number };

/** The operator's rule for job users: the default user plus an allow list. */
export class JobUserPolicy {
  readonly defaultUser: string;
  private readonly allow: AllowEntry[];
  private readonly lookup: UserLookup;
  private readonly where: string;
  private defaultResolved: Promise<JobUser> | undefined;

  constructor(opts: JobUserPolicyOptions = {}) {
    this.defaultUser = opts.defaultUser ?? DEFAULT_JOB_USER;
    if (!JOB_USER.test(this.defaultUser) || idsOf(this.defaultUser).some((n) => n > MAX_ID)) {
      throw new StdchkError(
        'INVALID_ARGUMENT',
        `--default-user must be a user name, "uid" or "uid:gid", not ${show(this.defaultUser)}`,
      );
    }
    this.allow = parseAllowList(opts.allow ?? []);
    this.lookup = opts.lookup ?? getentLookup;
    this.where = opts.where ?? os.hostname();
  }

  /** The policy in words, for error messages and logs. */
  describe(): string {
    const extra = this.allow.map((e) =>
      'name' in e ? e.name : e.from === e.to ? `${e.from}` : `${e.from}-${e.to}`,
    );
    return [`the default user ${this.defaultUser}`, ...extra].join(', ');
  }

  /**
   * The ids a job runs with: its "user" resolved, or the default user.
   * Throws PERMISSION_DENIED if the policy does not allow it, and
   * INVALID_ARGUMENT for a name this host does not know.
   */
  async resolve(user: string | undefined): Promise<JobUser> {
    if (user === undefined) {
      this.defaultResolved ??= this.resolveOne(this.defaultUser, '--default-user');
      return this.defaultResolved;
    }
    const resolved = await this.resolveOne(user, 'job file: "user"');
    const def = await this.resolve(undefined);
    const explicitGid = /^\d+:\d+$/.test(user);
    const uidOk = resolved.uid === def.uid || (await this.allowsId(resolved.uid, 'uid'));
    let gidOk = true;
    if (explicitGid) {
      const primary = (await this.lookup(String(resolved.uid)))?.gid;
      gidOk =
        resolved.gid === primary || resolved.gid === def.gid || (await this.allowsId(resolved.gid, 'gid'));
    }
    if (!uidOk || !gidOk) {
      const who = resolved.name && resolved.name !== user ? `${show(user)} (${resolved.name})` : show(user);
      const what = !uidOk ? (resolved.uid === 0 ? 'root' : `uid ${resolved.uid}`) : `gid ${resolved.gid}`;
      throw new StdchkError(
        'PERMISSION_DENIED',
        `job file: "user" ${who} is not allowed on this grid: ${what} is not in --allow-users (allowed: ${this.describe()})`,
      );
    }
    return resolved;
  }

  private async resolveOne(user: string, what: string): Promise<JobUser> {
    const ids = idsOf(user);
    if (ids.length === 0) {
      const entry = await this.lookup(user);
      if (!entry)
        throw new StdchkError('INVALID_ARGUMENT', `${what}: no user ${show(user)} on ${this.where}`);
      return { uid: entry.uid, gid: entry.gid, name: entry.name, home: entry.home || '/' };
    }
    const [uid, gid] = ids as [number, number | undefined];
    const entry = await this.lookup(String(uid));
    return {
      uid,
      gid: gid ?? entry?.gid ?? uid,
      ...(entry ? { name: entry.name } : {}),
      home: entry?.home || '/',
    };
  }

  /** True if an allow-list entry covers this uid (or gid: the primary group of an allowed name, or a range). */
  private async allowsId(id: number, kind: 'uid' | 'gid'): Promise<boolean> {
    for (const e of this.allow) {
      if ('from' in e) {
        if (id >= e.from && id <= e.to) return true;
      } else {
        const entry = await this.lookup(e.name);
        if (entry && (kind === 'uid' ? entry.uid : entry.gid) === id) return true;
      }
    }
    return false;
  }
}

function idsOf(user: string): number[] {
  return /^\d/.test(user) ? user.split(':').map(Number) : [];
}

/** Parses `--allow-users`: "alice,bob,1000-1999,2500,root". Empty: only the default user. */
export function parseAllowList(value: string | string[]): AllowEntry[] {
  const items = (Array.isArray(value) ? value : value.split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return items.map((item) => {
    const range = /^(\d{1,10})-(\d{1,10})$/.exec(item);
    if (range) {
      const from = Number(range[1]);
      const to = Number(range[2]);
      if (from > to || to > MAX_ID) {
        throw new StdchkError(
          'INVALID_ARGUMENT',
          `--allow-users: ${show(item)} is not a uid range (low-high, at most ${MAX_ID})`,
        );
      }
      return { from, to };
    }
    if (/^\d{1,10}$/.test(item) && Number(item) <= MAX_ID) return { from: Number(item), to: Number(item) };
    if (/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/.test(item)) return { name: item };
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `--allow-users: ${show(item)} is not a user name, uid or uid range (e.g. alice,1000-1999)`,
    );
  });
}

/** `getent passwd KEY`: the host's user database, NSS sources included. */
export const getentLookup: UserLookup = (key) =>
  new Promise((resolve, reject) => {
    execFile('getent', ['passwd', key], { timeout: 10_000 }, (err, stdout) => {
      if (err) {
        // getent exits 2 when the key is not found.
        if (typeof err.code === 'number' && err.code === 2) resolve(undefined);
        else reject(new StdchkError('UNAVAILABLE', `cannot look up user ${show(key)}: ${err.message}`));
        return;
      }
      resolve(parsePasswdLine(stdout.split('\n')[0] ?? ''));
    });
  });

export function parsePasswdLine(line: string): PasswdEntry | undefined {
  const f = line.split(':');
  if (f.length < 7) return undefined;
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) return undefined;
  return { name: f[0] as string, uid, gid, home: f[5] as string };
}
