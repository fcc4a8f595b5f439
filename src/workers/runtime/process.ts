import { mkdirSync, readlinkSync } from 'node:fs';
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
  pidAlive,
  poll,
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
 * Starts argv[2:] as the init of a new pid namespace, leading its own
 * session, with no inherited descriptors but stdio and default signal
 * dispositions, killed if the launcher dies; writes its host pid to argv[1]; exits
 * with its status (128+N for signal N). util-linux `unshare --fork` loses the
 * status of a child killed by a signal, hence this.
 */
const LAUNCHER = [
  'import ctypes, os, signal, sys',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'if libc.unshare(0x20000000) != 0:',
  '    sys.exit("stdchk: unshare(CLONE_NEWPID): " + os.strerror(ctypes.get_errno()))',
  'pid = os.fork()',
  'if pid == 0:',
  '    libc.prctl(1, 9)',
  '    os.setsid()',
  '    signal.signal(signal.SIGPIPE, signal.SIG_DFL)',
  '    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)',
  '    os.closerange(3, 65536)',
  '    try:',
  '        os.execvp(sys.argv[2], sys.argv[2:])',
  '    except OSError as e:',
  '        sys.stderr.write("stdchk: cannot run %s: %s\\n" % (sys.argv[2], e.strerror))',
  '        os._exit(127)',
  'tmp = sys.argv[1] + ".tmp"',
  'with open(tmp, "w") as f:',
  '    f.write("%d\\n" % pid)',
  'os.rename(tmp, sys.argv[1])',
  '_, st = os.waitpid(pid, 0)',
  'sys.exit(os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st))',
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
 * Each job runs as the init of its own pid namespace and leads its own
 * session (a small python3 launcher does unshare + fork + setsid): CRIU then dumps it without a tty
 * (`--shell-job` is not needed) and restores it with the same pids inside a
 * fresh namespace, so a restore never collides with pids in use on the
 * target machine. Stdout and stderr are one real pipe into the log; the
 * restore re-attaches that pipe to a new one with `--inherit-fd`. The job sees
 * the worker's file system, so restoring elsewhere needs the same binaries and
 * paths there (containers do not have this limit).
 */
export class ProcessRuntime implements ContainerRuntime {
  readonly kind = 'process' as const;
  private readonly criu: string;
  private readonly startTimeoutMs: number;

  constructor(opts: ProcessRuntimeOptions = {}) {
    this.criu = opts.criu ?? findTool('criu');
    findTool('python3');
    this.startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  }

  async start(spec: ProcessSpec, opts: InstanceOptions): Promise<JobInstance> {
    checkName(opts.name);
    mkdirSync(opts.dir, { recursive: true });
    const statusFile = statusFileOf(opts.dir, 'run');
    const pidFile = path.join(opts.dir, 'job.pid');
    const wrapper = spawnWrapper(
      PIPE_WRAPPER,
      [statusFile, opts.logFile, findTool('cat'), findTool('python3'), '-c', LAUNCHER, pidFile, ...spec.args],
      { env: jobEnv(spec), cwd: spec.cwd ?? '/' },
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
    mkdirSync(work, { recursive: true });
    const statusFile = statusFileOf(opts.dir, 'restore');
    const pidFile = path.join(work, 'restored.pid');
    const wrapper = spawnWrapper(
      PIPE_WRAPPER,
      [
        statusFile,
        opts.logFile,
        findTool('cat'),
        this.criu,
        'restore',
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
      ],
      { env: jobEnv(spec), cwd: '/' },
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

function jobEnv(spec: ProcessSpec): NodeJS.ProcessEnv {
  return { PATH: DEFAULT_PATH, HOME: '/root', ...spec.env };
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
    mkdirSync(imageDir, { recursive: true });
    const work = path.join(this.dir, `dump-work-${++this.checkpoints}`);
    mkdirSync(work, { recursive: true });
    const t0 = performance.now();
    const r = await runCommand(
      this.criu,
      [
        'dump',
        '--tree',
        String(this.pid),
        '--images-dir',
        imageDir,
        '--work-dir',
        work,
        '--log-file',
        'dump.log',
        '--leave-running',
      ],
      { timeoutMs: 10 * 60_000 },
    );
    const seconds = (performance.now() - t0) / 1000;
    if (r.code !== 0) {
      const why = (await tailFile(path.join(work, 'dump.log'), 2)) || r.stderr.trim();
      throw new StdchkError('INTERNAL', `criu dump of ${this.name} failed: ${why}`);
    }
    const meta: ProcessMeta = { stdout };
    await writeFile(path.join(imageDir, PROCESS_META_FILE), JSON.stringify(meta) + '\n');
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
