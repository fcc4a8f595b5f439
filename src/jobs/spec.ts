import path from 'node:path';
import { StdchkError } from '../errors/index.ts';
import { parseDuration, parseSize } from '../config/units.ts';
import { show as showValue } from '../validation/index.ts';

/**
 * A job file, validated and normalised. Every rejection names the field:
 *   job file: "checkpoint.interval" must be a duration like "30s", "auto" or "off", not "soon"
 */
export interface JobSpec {
  name: string;
  kind: 'container' | 'process';
  /**
   * Container root file system: a tarball every worker can read. An absolute
   * path is used as is; a relative one is inside each worker's mount of the
   * storage (e.g. "images/busybox.tar"), wherever that is mounted.
   */
  rootfs?: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  /**
   * Who the job runs as on the worker: a user name, or "uid" or "uid:gid".
   * Absent: the grid's default user. Checked against the grid's policy
   * (src/jobs/users.ts) at submit and again on the worker.
   */
  user?: string;
  checkpoint: CheckpointPolicy;
  resources: Resources;
}

export interface CheckpointPolicy {
  /** "fixed": every intervalMs; "auto": Daly's optimum; "off": never. */
  policy: 'fixed' | 'auto' | 'off';
  intervalMs?: number;
  /** Mean time between failures to assume (auto); otherwise the grid's observed one. */
  mtbfMs?: number;
  /** Complete checkpoints to keep (>= 1). */
  keep: number;
}

export interface Resources {
  /** Worker slots the job occupies (default 1). */
  slots: number;
  /** Hints, recorded and shown; not enforced. */
  memoryBytes?: number;
  cpus?: number;
}

export const DEFAULT_KEEP = 2;
export const MIN_INTERVAL_MS = 1_000;
/** Longest checkpoint interval (a year) and MTBF (a century) a job file may give. */
export const MAX_INTERVAL_MS = 365 * 24 * 3600 * 1000;
export const MAX_MTBF_MS = 100 * MAX_INTERVAL_MS;
/** A memory hint above this (1 PiB) is a typo. */
const MAX_MEMORY_BYTES = 2 ** 50;
/** Bounds on the command line (the whole job file is at most 256 KiB anyway). */
const MAX_ARGS = 4_096;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TOP_FIELDS = new Set([
  'name',
  'kind',
  'rootfs',
  'args',
  'env',
  'cwd',
  'user',
  'checkpoint',
  'resources',
]);
/** A user name, or a numeric uid with an optional numeric gid. */
export const JOB_USER = /^(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}|\d{1,10}(?::\d{1,10})?)$/;
/** Largest uid or gid (2^32 - 1 is "no id" to the kernel). */
export const MAX_ID = 2 ** 32 - 2;
const CHECKPOINT_FIELDS = new Set(['interval', 'mtbf', 'keep']);
const RESOURCE_FIELDS = new Set(['slots', 'memory', 'cpus']);

function bad(field: string, message: string): StdchkError {
  return new StdchkError('INVALID_ARGUMENT', `job file: "${field}" ${message}`);
}

const show = (v: unknown) => showValue(v, 60);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkFields(obj: Record<string, unknown>, allowed: Set<string>, prefix: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k)) {
      throw bad(`${prefix}${k}`, `is not a known field (known: ${[...allowed].join(', ')})`);
    }
  }
}

/** Parses the text of a job file. */
export function parseJobFile(text: string): JobSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new StdchkError('INVALID_ARGUMENT', `job file is not valid JSON: ${(e as Error).message}`);
  }
  return validateJobSpec(raw);
}

export function validateJobSpec(raw: unknown): JobSpec {
  if (!isObject(raw)) throw new StdchkError('INVALID_ARGUMENT', 'job file must hold a JSON object');
  checkFields(raw, TOP_FIELDS, '');

  const kind = raw.kind ?? 'container';
  if (kind !== 'container' && kind !== 'process') {
    throw bad('kind', `must be "container" or "process", not ${show(kind)}`);
  }

  if (!Array.isArray(raw.args) || raw.args.length === 0) {
    throw bad('args', 'must be a non-empty array of strings (the command and its arguments)');
  }
  if (raw.args.length > MAX_ARGS)
    throw bad('args', `must have at most ${MAX_ARGS} entries, not ${raw.args.length}`);
  const args = raw.args.map((a, i) => {
    if (typeof a !== 'string') throw bad(`args[${i}]`, `must be a string, not ${show(a)}`);
    if (a.includes('\0')) throw bad(`args[${i}]`, 'must not contain NUL');
    return a;
  });
  if ((args[0] as string).length === 0) throw bad('args[0]', 'must name a program');

  let name: string;
  if (raw.name === undefined) {
    name = path.basename(args[0] as string).replace(/[^A-Za-z0-9_.-]/g, '-') || 'job';
    if (!NAME.test(name)) name = 'job';
  } else if (typeof raw.name !== 'string' || !NAME.test(raw.name)) {
    throw bad(
      'name',
      `must be 1-64 letters, digits, "_", "." or "-" (starting with a letter or digit), not ${show(raw.name)}`,
    );
  } else {
    name = raw.name;
  }

  let rootfs: string | undefined;
  if (kind === 'container') {
    if (typeof raw.rootfs !== 'string' || raw.rootfs.length === 0) {
      throw bad('rootfs', 'is required for a container: the path of a rootfs tarball every worker can read');
    }
    if (raw.rootfs.includes('\0') || raw.rootfs.split('/').includes('..')) {
      throw bad('rootfs', `must not contain NUL or ".." components: ${show(raw.rootfs)}`);
    }
    rootfs = path.normalize(raw.rootfs);
  } else if (raw.rootfs !== undefined) {
    throw bad('rootfs', 'is only for "kind": "container" (a process runs on the worker\'s own file system)');
  }

  const env: Record<string, string> = {};
  if (raw.env !== undefined) {
    if (!isObject(raw.env)) throw bad('env', 'must be an object of NAME: "value" strings');
    for (const [k, v] of Object.entries(raw.env)) {
      if (!ENV_NAME.test(k)) throw bad(`env.${k}`, 'is not a valid environment variable name');
      if (typeof v !== 'string') throw bad(`env.${k}`, `must be a string, not ${show(v)}`);
      if (v.includes('\0')) throw bad(`env.${k}`, 'must not contain NUL');
      env[k] = v;
    }
  }

  let cwd: string | undefined;
  if (raw.cwd !== undefined) {
    if (typeof raw.cwd !== 'string' || !path.isAbsolute(raw.cwd)) {
      throw bad('cwd', `must be an absolute path, not ${show(raw.cwd)}`);
    }
    cwd = path.normalize(raw.cwd);
  }

  let user: string | undefined;
  if (raw.user !== undefined) {
    const ids = typeof raw.user === 'string' && /^\d/.test(raw.user) ? raw.user.split(':').map(Number) : [];
    if (typeof raw.user !== 'string' || !JOB_USER.test(raw.user) || ids.some((n) => n > MAX_ID)) {
      throw bad(
        'user',
        `must be a user name, "uid" or "uid:gid" (numbers up to ${MAX_ID}), not ${show(raw.user)}`,
      );
    }
    user = raw.user;
  }

  return {
    name,
    kind,
    ...(rootfs ? { rootfs } : {}),
    args,
    env,
    ...(cwd ? { cwd } : {}),
    ...(user !== undefined ? { user } : {}),
    checkpoint: validateCheckpoint(raw.checkpoint),
    resources: validateResources(raw.resources),
  };
}

function validateCheckpoint(raw: unknown): CheckpointPolicy {
  if (raw === undefined) return { policy: 'auto', keep: DEFAULT_KEEP };
  if (!isObject(raw)) throw bad('checkpoint', 'must be an object like {"interval": "30s", "keep": 2}');
  checkFields(raw, CHECKPOINT_FIELDS, 'checkpoint.');
  const out: CheckpointPolicy = { policy: 'auto', keep: DEFAULT_KEEP };
  const iv = raw.interval ?? 'auto';
  if (iv === 'auto' || iv === 'off') {
    out.policy = iv;
  } else if (typeof iv === 'string') {
    let ms: number;
    try {
      ms = parseDuration(iv, 'checkpoint.interval');
    } catch {
      throw bad('checkpoint.interval', `must be a duration like "30s", "auto" or "off", not ${show(iv)}`);
    }
    if (ms < MIN_INTERVAL_MS) throw bad('checkpoint.interval', `must be at least 1s, not ${show(iv)}`);
    if (ms > MAX_INTERVAL_MS) throw bad('checkpoint.interval', `must be at most a year, not ${show(iv)}`);
    out.policy = 'fixed';
    out.intervalMs = ms;
  } else {
    throw bad('checkpoint.interval', `must be a duration like "30s", "auto" or "off", not ${show(iv)}`);
  }
  if (raw.mtbf !== undefined) {
    let ms: number;
    try {
      // A bare number has no unit: refused like on the command line.
      if (typeof raw.mtbf !== 'string') throw new Error();
      ms = parseDuration(raw.mtbf, 'checkpoint.mtbf');
    } catch {
      throw bad('checkpoint.mtbf', `must be a duration like "2h", not ${show(raw.mtbf)}`);
    }
    if (ms < MIN_INTERVAL_MS) throw bad('checkpoint.mtbf', `must be at least 1s, not ${show(raw.mtbf)}`);
    if (ms > MAX_MTBF_MS) throw bad('checkpoint.mtbf', `must be at most 100 years, not ${show(raw.mtbf)}`);
    out.mtbfMs = ms;
  }
  if (raw.keep !== undefined) {
    if (typeof raw.keep !== 'number' || !Number.isInteger(raw.keep) || raw.keep < 1 || raw.keep > 1000) {
      throw bad('checkpoint.keep', `must be a whole number from 1 to 1000, not ${show(raw.keep)}`);
    }
    out.keep = raw.keep;
  }
  return out;
}

function validateResources(raw: unknown): Resources {
  if (raw === undefined) return { slots: 1 };
  if (!isObject(raw))
    throw bad('resources', 'must be an object like {"slots": 1, "memory": "512MiB", "cpus": 1}');
  checkFields(raw, RESOURCE_FIELDS, 'resources.');
  const out: Resources = { slots: 1 };
  if (raw.slots !== undefined) {
    if (typeof raw.slots !== 'number' || !Number.isInteger(raw.slots) || raw.slots < 1 || raw.slots > 1024) {
      throw bad('resources.slots', `must be a whole number from 1 to 1024, not ${show(raw.slots)}`);
    }
    out.slots = raw.slots;
  }
  if (raw.memory !== undefined) {
    try {
      if (typeof raw.memory !== 'string' && typeof raw.memory !== 'number') throw new Error();
      out.memoryBytes = parseSize(raw.memory, 'resources.memory');
      if (out.memoryBytes > MAX_MEMORY_BYTES) throw new Error();
    } catch {
      throw bad('resources.memory', `must be a size like "512MiB", not ${show(raw.memory)}`);
    }
  }
  if (raw.cpus !== undefined) {
    if (typeof raw.cpus !== 'number' || !(raw.cpus > 0) || raw.cpus > 4096) {
      throw bad('resources.cpus', `must be a positive number, not ${show(raw.cpus)}`);
    }
    out.cpus = raw.cpus;
  }
  return out;
}

/** The spec back in job-file form (what `stdchk job` shows and workers receive). */
export function jobSpecToJson(spec: JobSpec): Record<string, unknown> {
  const cp: Record<string, unknown> = {
    interval:
      spec.checkpoint.policy === 'fixed'
        ? `${(spec.checkpoint.intervalMs ?? 0) / 1000}s`
        : spec.checkpoint.policy,
    keep: spec.checkpoint.keep,
  };
  if (spec.checkpoint.mtbfMs !== undefined) cp.mtbf = `${spec.checkpoint.mtbfMs / 1000}s`;
  const res: Record<string, unknown> = { slots: spec.resources.slots };
  if (spec.resources.memoryBytes !== undefined) res.memory = spec.resources.memoryBytes;
  if (spec.resources.cpus !== undefined) res.cpus = spec.resources.cpus;
  return {
    name: spec.name,
    kind: spec.kind,
    ...(spec.rootfs ? { rootfs: spec.rootfs } : {}),
    args: spec.args,
    env: spec.env,
    ...(spec.cwd ? { cwd: spec.cwd } : {}),
    ...(spec.user !== undefined ? { user: spec.user } : {}),
    checkpoint: cp,
    resources: res,
  };
}
