import { writeFileSync } from 'node:fs';
import { chmod, chown } from 'node:fs/promises';
import path from 'node:path';
import { StdchkError } from '../../errors/index.ts';
import type {
  CheckpointResult,
  ContainerRuntime,
  InstanceOptions,
  JobInstance,
  ProcessSpec,
} from './types.ts';
import { INSTANCE_NAME } from './types.ts';
import { CONTAINER_IDS, ociConfig } from './oci-config.ts';
import type { IdMap } from './oci-config.ts';
import {
  findTool,
  folderBytes,
  mkdirPrivate,
  mustRun,
  poll,
  privately,
  runCommand,
  signal,
  spawnWrapper,
  tailFile,
  toolEnv,
  watchWrapper,
} from './os-util.ts';
import { PIPE_WRAPPER, WrappedInstance, statusFileOf } from './wrapped-instance.ts';
import { processStartTime, writeInstanceRecord } from './instance-record.ts';
import type { InstanceRecord } from './instance-record.ts';

export interface RuncRuntimeOptions {
  /** runc binary (default: found in PATH). */
  runc?: string;
  /** Prefix of container ids, so `runc list` shows whose containers they are. */
  idPrefix?: string;
  /** How long a start or restore may take before it counts as failed. */
  startTimeoutMs?: number;
  /**
   * Run containers in a user namespace with this id map (container id N is
   * host id base + N, N < size); the rootfs given to start/restore must be
   * owned by the mapped ids (RootfsCache with the same map). Checkpoints
   * restore only where the map is the same.
   */
  idMap?: IdMap | undefined;
}

/**
 * Jobs as runc containers. Each instance gets a bundle in its local folder
 * (config.json pointing at the shared, read-only cached rootfs). runc runs in
 * the foreground under a wrapper so the container's stdio are pipes ending in
 * the log; `runc checkpoint --leave-running` dumps it (CRIU underneath) and a
 * foreground `runc restore` brings it back with output continuing into the
 * log, runc staying its parent so the exit status is known.
 */
export class RuncRuntime implements ContainerRuntime {
  readonly kind = 'container' as const;
  private readonly runc: string;
  private readonly idPrefix: string;
  private readonly startTimeoutMs: number;
  readonly idMap: IdMap | undefined;

  constructor(opts: RuncRuntimeOptions = {}) {
    this.runc = opts.runc ?? findTool('runc');
    findTool('criu');
    this.idPrefix = opts.idPrefix ?? 'stdchk-';
    this.startTimeoutMs = opts.startTimeoutMs ?? 60_000;
    this.idMap = opts.idMap;
    if (
      this.idMap &&
      (this.idMap.size !== CONTAINER_IDS ||
        this.idMap.base < 1 ||
        this.idMap.base + this.idMap.size > 2 ** 32 - 1)
    )
      throw new StdchkError('INVALID_ARGUMENT', `bad container id map ${JSON.stringify(this.idMap)}`);
  }

  containerId(name: string): string {
    return `${this.idPrefix}${name}`;
  }

  start(spec: ProcessSpec, opts: InstanceOptions): Promise<JobInstance> {
    return this.launch(spec, opts, 'run', []);
  }

  async restore(spec: ProcessSpec, opts: InstanceOptions & { imageDir: string }): Promise<JobInstance> {
    const work = path.join(opts.dir, 'restore-work');
    await mkdirPrivate(work);
    return this.launch(spec, opts, 'restore', ['--image-path', opts.imageDir, '--work-path', work]);
  }

  private async launch(
    spec: ProcessSpec,
    opts: InstanceOptions,
    verb: 'run' | 'restore',
    extra: string[],
  ): Promise<JobInstance> {
    if (!INSTANCE_NAME.test(opts.name))
      throw new StdchkError('INVALID_ARGUMENT', `bad instance name ${opts.name}`);
    if (!opts.rootfs) throw new StdchkError('INVALID_ARGUMENT', 'a container needs a rootfs');
    const { uid, gid } = opts.user;
    const limit = this.idMap ? this.idMap.size - 1 : 2 ** 32 - 2;
    for (const id of [uid, gid]) {
      if (!Number.isInteger(id) || id < 0 || id > limit) {
        throw new StdchkError(
          'INVALID_ARGUMENT',
          `user ${uid}:${gid} cannot run in a container here: container ids are 0-${limit}`,
        );
      }
    }
    const id = this.containerId(opts.name);
    const bundle = path.join(opts.dir, 'bundle');
    await mkdirPrivate(bundle);
    writeFileSync(
      path.join(bundle, 'config.json'),
      JSON.stringify(ociConfig(spec, opts.rootfs, { user: opts.user, idMap: this.idMap }), null, 1),
    );
    // A container of that id left over from an earlier life of this worker would block us.
    await runCommand(this.runc, ['delete', '--force', id], { timeoutMs: 15_000 });
    const statusFile = statusFileOf(opts.dir, verb);
    const wrapper = spawnWrapper(
      PIPE_WRAPPER,
      [statusFile, opts.logFile, findTool('cat'), this.runc, verb, '--bundle', bundle, ...extra, id],
      { env: toolEnv(), cwd: bundle },
    );
    writeInstanceRecord(opts.dir, {
      kind: 'container',
      name: opts.name,
      containerId: id,
      wrapperPid: wrapper.pid,
    });
    const inst = new RuncInstance(this.runc, id, opts, wrapper, statusFile, this.idMap);
    try {
      inst.pid = await poll(
        `runc ${verb} ${id}`,
        async () => {
          const st = await this.state(id);
          return st && (st.status === 'running' || st.status === 'paused') && st.pid > 0 ? st.pid : undefined;
        },
        {
          timeoutMs: this.startTimeoutMs,
          stop: () => (wrapper.done() ? 'runc ended before the container ran' : undefined),
        },
      );
    } catch (e) {
      signal(-wrapper.pid, 'SIGKILL');
      await runCommand(this.runc, ['delete', '--force', id], { timeoutMs: 15_000 });
      const why =
        (await tailFile(path.join(opts.dir, 'restore-work', 'restore.log'), 3)) ||
        (await tailFile(opts.logFile, 3));
      throw new StdchkError('INTERNAL', `${(e as Error).message}${why ? `: ${why}` : ''}`, { cause: e });
    }
    writeInstanceRecord(opts.dir, {
      kind: 'container',
      name: opts.name,
      containerId: id,
      wrapperPid: wrapper.pid,
      jobPid: inst.pid,
      ...(processStartTime(inst.pid) ? { jobStartTime: processStartTime(inst.pid) as string } : {}),
    });
    return inst;
  }

  reattach(rec: InstanceRecord, opts: InstanceOptions & { restored: boolean }): JobInstance {
    if (rec.kind !== 'container' || !rec.containerId || !rec.jobPid)
      throw new StdchkError('INVALID_ARGUMENT', `${opts.name} is not a running container`);
    const statusFile = statusFileOf(opts.dir, opts.restored ? 'restore' : 'run');
    const inst = new RuncInstance(
      this.runc,
      rec.containerId,
      opts,
      watchWrapper(rec.wrapperPid),
      statusFile,
      this.idMap,
    );
    inst.pid = rec.jobPid;
    return inst;
  }

  async state(id: string): Promise<{ status: string; pid: number } | undefined> {
    const r = await runCommand(this.runc, ['state', id], { timeoutMs: 15_000 });
    if (r.code !== 0) return undefined;
    try {
      const s = JSON.parse(r.stdout) as { status?: string; pid?: number };
      return { status: s.status ?? 'unknown', pid: s.pid ?? 0 };
    } catch {
      return undefined;
    }
  }
}

class RuncInstance extends WrappedInstance {
  readonly kind = 'container' as const;
  private readonly runc: string;
  readonly containerId: string;
  private readonly idMap: IdMap | undefined;
  private checkpoints = 0;
  private paused = false;

  constructor(
    runc: string,
    id: string,
    opts: InstanceOptions,
    wrapper: ConstructorParameters<typeof WrappedInstance>[3],
    statusFile: string,
    idMap: IdMap | undefined,
  ) {
    super(opts.name, opts.dir, opts.logFile, wrapper, statusFile);
    this.runc = runc;
    this.containerId = id;
    this.idMap = idMap;
  }

  protected override async afterExit(): Promise<void> {
    await runCommand(this.runc, ['delete', '--force', this.containerId], { timeoutMs: 15_000 });
  }

  async checkpoint(imageDir: string): Promise<CheckpointResult> {
    if (!this.isRunning()) throw new StdchkError('CONFLICT', `container ${this.containerId} is not running`);
    await mkdirPrivate(imageDir);
    const work = path.join(this.dir, `dump-work-${++this.checkpoints}`);
    await mkdirPrivate(work);
    const args = [
      'checkpoint',
      '--leave-running',
      '--image-path',
      imageDir,
      '--work-path',
      work,
      this.containerId,
    ];
    let cmd = privately(this.runc, args);
    if (this.idMap) {
      // CRIU reads some images from inside the user namespace when it
      // restores, as the containers' root: the images are root's, readable by
      // that group alone (0750 folder, 0640 files), made so by running the
      // dump with that group and umask 027.
      await chown(imageDir, 0, this.idMap.base);
      await chmod(imageDir, 0o750);
      cmd = [
        findTool('setpriv'),
        [
          `--regid=${this.idMap.base}`,
          '--clear-groups',
          '--',
          findTool('sh'),
          '-c',
          'umask 027 && exec "$@"',
          'sh',
          this.runc,
          ...args,
        ],
      ];
    }
    const t0 = performance.now();
    const r = await runCommand(...cmd, { timeoutMs: 10 * 60_000 });
    const seconds = (performance.now() - t0) / 1000;
    if (r.code !== 0) {
      const why = (await tailFile(path.join(work, 'dump.log'), 3)) || r.stderr.trim();
      throw new StdchkError('INTERNAL', `runc checkpoint ${this.containerId} failed: ${why}`);
    }
    return { seconds, bytes: await folderBytes(imageDir) };
  }

  async pause(): Promise<void> {
    await mustRun(this.runc, ['pause', this.containerId], { timeoutMs: 30_000 });
    this.paused = true;
  }

  async resume(): Promise<void> {
    await mustRun(this.runc, ['resume', this.containerId], { timeoutMs: 30_000 });
    this.paused = false;
  }

  async kill(): Promise<void> {
    if (this.isRunning()) {
      // A frozen task only dies once thawed.
      if (this.paused) await runCommand(this.runc, ['resume', this.containerId], { timeoutMs: 15_000 });
      await runCommand(this.runc, ['kill', this.containerId, 'KILL'], { timeoutMs: 15_000 });
      const gone = await Promise.race([
        this.exited.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 10_000).unref()),
      ]);
      if (!gone) signal(-this.wrapper.pid, 'SIGKILL');
    }
    await runCommand(this.runc, ['delete', '--force', this.containerId], { timeoutMs: 15_000 });
    signal(-this.wrapper.pid, 'SIGKILL');
    await this.exited;
  }
}
