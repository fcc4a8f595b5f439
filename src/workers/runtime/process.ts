import { readlinkSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StdchkError } from '../../errors/index.ts';
import type {
  CheckpointResult,
  ContainerRuntime,
  InstanceOptions,
  JobInstance,
  ProcessSpec,
} from './types.ts';
import { DEFAULT_PATH, INSTANCE_NAME } from './types.ts';
import type { Wrapper } from './os-util.ts';
import {
  findTool,
  folderBytes,
  mkdirPrivate,
  pidAlive,
  poll,
  privately,
  readIntFile,
  runCommand,
  signal,
  spawnWrapper,
  tailFile,
  waitPidGone,
  watchWrapper,
} from './os-util.ts';
import { PIPE_WRAPPER, WrappedInstance, statusFileOf } from './wrapped-instance.ts';
import { processStartTime, writeInstanceRecord } from './instance-record.ts';
import type { InstanceRecord } from './instance-record.ts';

/** Written next to CRIU's images: what the restore must re-attach. */
export const PROCESS_META_FILE = 'stdchk-process.json';

interface ProcessMeta {
  /** The job's stdout at dump time, "pipe:[inode]"; stderr was the same pipe. */
  stdout: string;
}

/**
 * Runs a job (or a restore) inside a private user and mount namespace,
 * started as root (the worker).
 *   argv: UID GID start PIDFILE INIT...   or   UID GID exec COMMAND...
 *
 * The user namespace maps root and the job's ids onto themselves ("0 0 1"
 * and "UID UID 1", the same for gids), so files and `id` show the real ids,
 * and it is owned by the worker's root. That ownership is what lets CRIU,
 * run as root of that namespace, dump and restore the job's processes even
 * where the worker's root lacks CAP_SYS_RESOURCE; and the mount namespace,
 * owned by it too (a copy of the worker's mounts, following them as a
 * slave), is where CRIU's parasite may mount a /proc of the job's pid
 * namespace. "start" also makes a pid namespace: its init (PID 1) is INIT,
 * run as root of the namespace; it writes INIT's host pid to PIDFILE and
 * exits with INIT's status (128+N for signal N). "exec" runs COMMAND as root
 * of the new namespaces (a `criu restore` that recreates the pid namespace).
 * Descriptors opened before the unshare would name the worker's mounts:
 * stdin is reopened and everything above stderr closed.
 */
const USERNS = [
  'import ctypes, os, signal, sys',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'uid, gid, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]',
  'flags = 0x10000000 | 0x20000 | (0x20000000 if mode == "start" else 0)',
  'def status(st):',
  '    return os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st)',
  'r1, w1 = os.pipe()',
  'r2, w2 = os.pipe()',
  'pid = os.fork()',
  'if pid == 0:',
  '    os.close(w1); os.close(r2)',
  '    if libc.unshare(flags) != 0:',
  '        sys.stderr.write("stdchk: unshare: %s\\n" % os.strerror(ctypes.get_errno()))',
  '        os._exit(127)',
  '    os.write(w2, b"u"); os.close(w2)',
  '    if os.read(r1, 1) != b"m":',
  '        os._exit(127)',
  '    os.setresgid(0, 0, 0); os.setresuid(0, 0, 0)',
  '    fd = os.open("/dev/null", os.O_RDONLY)',
  '    if fd != 0:',
  '        os.dup2(fd, 0); os.close(fd)',
  '    os.closerange(3, 65536)',
  '    if mode == "exec":',
  '        try:',
  '            os.execvp(sys.argv[4], sys.argv[4:])',
  '        except OSError as e:',
  '            sys.stderr.write("stdchk: cannot run %s: %s\\n" % (sys.argv[4], e.strerror))',
  '            os._exit(127)',
  '    child = os.fork()',
  '    if child == 0:',
  '        libc.prctl(1, 9)',
  '        os.setsid()',
  '        signal.signal(signal.SIGPIPE, signal.SIG_DFL)',
  '        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)',
  '        os.umask(0o022)',
  '        os.chdir("/")',
  '        try:',
  '            os.execv(sys.argv[5], sys.argv[5:])',
  '        except OSError as e:',
  '            sys.stderr.write("stdchk: cannot run %s: %s\\n" % (sys.argv[5], e.strerror))',
  '            os._exit(127)',
  '    tmp = sys.argv[4] + ".tmp"',
  '    with open(tmp, "w") as f:',
  '        f.write("%d\\n" % child)',
  '    os.rename(tmp, sys.argv[4])',
  '    _, st = os.waitpid(child, 0)',
  '    os._exit(status(st))',
  'os.close(r1); os.close(w2)',
  'try:',
  '    if os.read(r2, 1) != b"u":',
  '        raise OSError(0, "the namespace was not made")',
  '    for name, i in (("uid_map", uid), ("gid_map", gid)):',
  '        with open("/proc/%d/%s" % (pid, name), "w") as f:',
  '            f.write("0 0 1\\n" + ("%d %d 1\\n" % (i, i) if i != 0 else ""))',
  '    os.write(w1, b"m")',
  'except OSError as e:',
  '    sys.stderr.write("stdchk: cannot map ids %d:%d into the job\'s namespace: %s\\n" % (uid, gid, e.strerror))',
  'os.close(w1)',
  '_, st = os.waitpid(pid, 0)',
  'sys.exit(status(st))',
].join('\n');

/**
 * The job's init (PID 1 of its pid namespace, root of its user namespace):
 * starts the job as UID:GID with no supplementary groups, no capabilities
 * (bounding, inheritable and ambient sets cleared) and no_new_privs, so
 * neither setuid programs nor file capabilities give any back; waits for it
 * and exits with its status. It stays root in the namespace so that CRIU's
 * parasite can mount a /proc of the namespace in it at dump time; the job
 * cannot reach it (a pid-namespace init gets no signal it does not handle,
 * and ptrace needs its capabilities). The job enters CWD as itself.
 *   argv: SETPRIV SH UID GID CWD COMMAND...
 */
const INIT = [
  'setpriv=$1 sh=$2 u=$3 g=$4 cwd=$5; shift 5',
  '"$setpriv" --reuid="$u" --regid="$g" --clear-groups --no-new-privs --bounding-set=-all --inh-caps=-all --ambient-caps=-all -- \\',
  '  "$sh" -c \'cd "$0" 2>/dev/null || { echo "stdchk: the job user cannot enter $0" >&2; exit 127; }; exec "$@"\' "$cwd" "$@"',
  'exit $?',
].join('\n');

/**
 * After `criu restore --exec-cmd`, this replaces criu as the restored job's
 * parent and exits with the job's status (CRIU itself reports 0 whatever the
 * job did). argv[1] is CRIU's pid file.
 */
const EXIT_WAITER = [
  'import os, sys',
  'pid = int(open(sys.argv[1]).read().strip())',
  '_, st = os.waitpid(pid, 0)',
  'sys.exit(os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st))',
].join('\n');

export interface ProcessRuntimeOptions {
  criu?: string;
  startTimeoutMs?: number;
}

/**
 * Jobs as plain processes on the worker, checkpointed with CRIU.
 *
 * Each job runs in its own user, mount and pid namespaces (USERNS above):
 * as the user the worker gives it, without capabilities, under a small init
 * that leads its own session; CRIU dumps the tree without a tty
 * (`--shell-job` is not needed) and restores it with the same pids inside a
 * fresh pid namespace, so a restore never collides with pids in use on the
 * target machine. CRIU runs as root of the job's user namespace (entered with
 * nsenter for a dump; a fresh one with the same id map for a restore, with
 * `--unprivileged`, since it then lacks the worker's network capabilities).
 * Stdout and stderr are one real pipe into the log; the restore re-attaches
 * that pipe to a new one with `--inherit-fd`. The job sees the worker's file
 * system and network, so restoring elsewhere needs the same binaries and
 * paths there (containers do not have this limit).
 */
export class ProcessRuntime implements ContainerRuntime {
  readonly kind = 'process' as const;
  private readonly criu: string;
  private readonly startTimeoutMs: number;

  constructor(opts: ProcessRuntimeOptions = {}) {
    this.criu = opts.criu ?? findTool('criu');
    for (const tool of ['python3', 'setpriv', 'nsenter']) findTool(tool);
    this.startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  }

  async start(spec: ProcessSpec, opts: InstanceOptions): Promise<JobInstance> {
    checkName(opts.name);
    checkUser(opts);
    await mkdirPrivate(opts.dir);
    const statusFile = statusFileOf(opts.dir, 'run');
    const pidFile = path.join(opts.dir, 'job.pid');
    const { uid, gid } = opts.user;
    const wrapper = spawnWrapper(
      PIPE_WRAPPER,
      [
        statusFile,
        opts.logFile,
        findTool('cat'),
        ...[findTool('python3'), '-c', USERNS, String(uid), String(gid), 'start', pidFile],
        ...[findTool('sh'), '-c', INIT, 'stdchk-init', findTool('setpriv'), findTool('sh')],
        ...[String(uid), String(gid), spec.cwd ?? '/', ...spec.args],
      ],
      { env: jobEnv(spec, opts), cwd: '/' },
    );
    writeInstanceRecord(opts.dir, { kind: 'process', name: opts.name, wrapperPid: wrapper.pid });
    let pid: number;
    try {
      pid = await poll(`starting ${opts.name}`, () => readIntFile(pidFile), {
        timeoutMs: this.startTimeoutMs,
        stop: () => (wrapper.done() ? 'the job ended before it ran' : undefined),
      });
    } catch (e) {
      signal(-wrapper.pid, 'SIGKILL');
      const why = await tailFile(opts.logFile, 3);
      throw new StdchkError('INTERNAL', `${(e as Error).message}${why ? `: ${why}` : ''}`, { cause: e });
    }
    return this.adopt(opts, wrapper, statusFile, pid);
  }

  async restore(spec: ProcessSpec, opts: InstanceOptions & { imageDir: string }): Promise<JobInstance> {
    checkName(opts.name);
    let meta: ProcessMeta;
    try {
      meta = JSON.parse(await readFile(path.join(opts.imageDir, PROCESS_META_FILE), 'utf8')) as ProcessMeta;
    } catch (e) {
      throw new StdchkError(
        'CORRUPT',
        `${opts.imageDir} is not a process checkpoint: ${(e as Error).message}`,
      );
    }
    if (!/^pipe:\[\d+\]$/.test(meta.stdout)) {
      throw new StdchkError('CORRUPT', `${opts.imageDir}: unexpected stdout ${JSON.stringify(meta.stdout)}`);
    }
    const work = path.join(opts.dir, 'restore-work');
    await mkdirPrivate(work);
    const statusFile = statusFileOf(opts.dir, 'restore');
    const pidFile = path.join(work, 'restored.pid');
    const restore = privately(this.criu, [
      'restore',
      '--unprivileged',
      '--images-dir',
      opts.imageDir,
      '--work-dir',
      work,
      '--log-file',
      'restore.log',
      '--pidfile',
      pidFile,
      '--inherit-fd',
      `fd[1]:${meta.stdout}`,
      '--exec-cmd',
      '--',
      findTool('sh'),
      '-c',
      // criu leaves its own descriptors on 0-2 at exec time: give python sane ones.
      'exec "$0" -c "$1" "$2" </dev/null >/dev/null 2>&1',
      findTool('python3'),
      EXIT_WAITER,
      pidFile,
    ]);
    const { uid, gid } = opts.user;
    const wrapper = spawnWrapper(
      PIPE_WRAPPER,
      [
        statusFile,
        opts.logFile,
        findTool('cat'),
        ...[findTool('python3'), '-c', USERNS, String(uid), String(gid), 'exec'],
        restore[0],
        ...restore[1],
      ],
      { env: jobEnv(spec, opts), cwd: '/' },
    );
    writeInstanceRecord(opts.dir, { kind: 'process', name: opts.name, wrapperPid: wrapper.pid });
    let pid: number;
    try {
      pid = await poll(
        `restoring ${opts.name}`,
        () => {
          const p = readIntFile(pidFile);
          return p !== undefined && pidAlive(p) ? p : undefined;
        },
        {
          timeoutMs: this.startTimeoutMs,
          stop: () => (wrapper.done() ? 'criu restore failed' : undefined),
        },
      );
    } catch (e) {
      signal(-wrapper.pid, 'SIGKILL');
      const why = await tailFile(path.join(work, 'restore.log'), 2);
      throw new StdchkError('INTERNAL', `${(e as Error).message}${why ? `: ${why}` : ''}`, { cause: e });
    }
    return this.adopt(opts, wrapper, statusFile, pid);
  }

  reattach(rec: InstanceRecord, opts: InstanceOptions & { restored: boolean }): JobInstance {
    if (rec.kind !== 'process' || !rec.jobPid)
      throw new StdchkError('INVALID_ARGUMENT', `${opts.name} is not a running process job`);
    const statusFile = statusFileOf(opts.dir, opts.restored ? 'restore' : 'run');
    const inst = new ProcessInstance(this.criu, opts, watchWrapper(rec.wrapperPid), statusFile);
    inst.pid = rec.jobPid;
    return inst;
  }

  private adopt(opts: InstanceOptions, wrapper: Wrapper, statusFile: string, pid: number): JobInstance {
    const start = processStartTime(pid);
    writeInstanceRecord(opts.dir, {
      kind: 'process',
      name: opts.name,
      wrapperPid: wrapper.pid,
      jobPid: pid,
      ...(start ? { jobStartTime: start } : {}),
    });
    const inst = new ProcessInstance(this.criu, opts, wrapper, statusFile);
    inst.pid = pid;
    return inst;
  }
}

function checkName(name: string): void {
  if (!INSTANCE_NAME.test(name)) throw new StdchkError('INVALID_ARGUMENT', `bad instance name ${name}`);
}

function checkUser(opts: InstanceOptions): void {
  for (const id of [opts.user.uid, opts.user.gid]) {
    if (!Number.isInteger(id) || id < 0 || id > 2 ** 32 - 2)
      throw new StdchkError('INVALID_ARGUMENT', `bad user id ${id} for ${opts.name}`);
  }
}

function jobEnv(spec: ProcessSpec, opts: InstanceOptions): NodeJS.ProcessEnv {
  return { PATH: DEFAULT_PATH, HOME: opts.user.home ?? '/', ...spec.env };
}

class ProcessInstance extends WrappedInstance {
  readonly kind = 'process' as const;
  private readonly criu: string;
  private checkpoints = 0;
  private paused = false;

  constructor(criu: string, opts: InstanceOptions, wrapper: Wrapper, statusFile: string) {
    super(opts.name, opts.dir, opts.logFile, wrapper, statusFile);
    this.criu = criu;
  }

  async checkpoint(imageDir: string): Promise<CheckpointResult> {
    if (!this.isRunning() || !pidAlive(this.pid)) {
      throw new StdchkError('CONFLICT', `${this.name} is not running`);
    }
    let stdout: string;
    try {
      stdout = readlinkSync(`/proc/${this.pid}/fd/1`);
    } catch (e) {
      throw new StdchkError('CONFLICT', `${this.name}: cannot read its stdout: ${(e as Error).message}`);
    }
    if (!stdout.startsWith('pipe:')) {
      throw new StdchkError('INTERNAL', `${this.name}: stdout is ${stdout}, not a pipe; cannot checkpoint`);
    }
    await mkdirPrivate(imageDir);
    const work = path.join(this.dir, `dump-work-${++this.checkpoints}`);
    await mkdirPrivate(work);
    const t0 = performance.now();
    // As root of the job's user namespace, in its mount namespace (see USERNS).
    const dump = privately(this.criu, [
      'dump',
      '-t',
      String(this.pid),
      '--images-dir',
      imageDir,
      '--work-dir',
      work,
      '--log-file',
      'dump.log',
      '--leave-running',
    ]);
    const r = await runCommand(
      findTool('nsenter'),
      [`--user=/proc/${this.pid}/ns/user`, `--mount=/proc/${this.pid}/ns/mnt`, '--', dump[0], ...dump[1]],
      { timeoutMs: 10 * 60_000 },
    );
    const seconds = (performance.now() - t0) / 1000;
    if (r.code !== 0) {
      const why = (await tailFile(path.join(work, 'dump.log'), 2)) || r.stderr.trim();
      throw new StdchkError('INTERNAL', `criu dump of ${this.name} failed: ${why}`);
    }
    const meta: ProcessMeta = { stdout };
    await writeFile(path.join(imageDir, PROCESS_META_FILE), JSON.stringify(meta) + '\n', { mode: 0o600 });
    return { seconds, bytes: await folderBytes(imageDir) };
  }

  async pause(): Promise<void> {
    signal(-this.pid, 'SIGSTOP');
    this.paused = true;
  }

  async resume(): Promise<void> {
    signal(-this.pid, 'SIGCONT');
    this.paused = false;
  }

  async kill(): Promise<void> {
    // The job is its pid namespace's init: killing it kills every process in it.
    signal(this.pid, 'SIGKILL');
    if (this.paused) signal(-this.pid, 'SIGCONT');
    await waitPidGone(this.pid, 10_000);
    // Let the wrapper record the status before forcing it.
    const ended = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 3_000).unref()),
    ]);
    if (!ended) signal(-this.wrapper.pid, 'SIGKILL');
    await this.exited;
  }
}
