/**
 * What a worker needs from a way of running jobs: start one, checkpoint it
 * while it keeps running, restore it from a checkpoint (possibly taken on
 * another machine), pause, stop, and learn how it ended. Two implementations:
 * runc containers (`RuncRuntime`) and plain processes checkpointed with CRIU
 * (`ProcessRuntime`). Both keep the job's stdout and stderr on real pipes that
 * end in a local log file, because CRIU refuses sockets and ttys it does not
 * own and re-attaches only pipes on restore.
 */

import type { InstanceRecord } from './instance-record.ts';

export type JobKind = 'container' | 'process';

/** The program to run, identical for a fresh start and a restore. */
export interface ProcessSpec {
  /** argv; args[0] is looked up in PATH. */
  args: string[];
  /** Extra environment; PATH has a default. */
  env: Record<string, string>;
  /** Working folder (inside the container for runc); default "/". */
  cwd?: string;
}

export interface InstanceOptions {
  /**
   * Name unique on this machine among live instances ([A-Za-z0-9_.-]); the
   * runc container id is derived from it.
   */
  name: string;
  /** Local folder owned by this instance (bundle, CRIU work files, state). Must be on local disk. */
  dir: string;
  /** Local file the job's stdout and stderr are appended to. */
  logFile: string;
  /** Containers: the unpacked root file system (local, identical on every worker). */
  rootfs?: string;
  /**
   * Who the job runs as: its processes get this uid and gid, no
   * supplementary groups and no capabilities (uid 0 too). Inside a
   * container these are the container's ids.
   */
  user: RunAs;
}

/** The ids a job runs with, and its HOME (default "/"). */
export interface RunAs {
  uid: number;
  gid: number;
  home?: string;
}

export interface CheckpointResult {
  /** Wall time of the dump, seconds (the job is frozen for most of it). */
  seconds: number;
  /** Bytes of image files written. */
  bytes: number;
}

export interface ExitInfo {
  /** Exit status as a shell reports it: 0-255, 128+N when killed by signal N. */
  code: number;
  /** Set when the job could not be run at all (not an exit of the job itself). */
  error?: string;
}

export interface JobInstance {
  readonly name: string;
  readonly kind: JobKind;
  readonly logFile: string;
  /** Host pid of the job's main process (the container's init, or the process). */
  readonly pid: number;
  /** Resolves once the job has ended, whatever the reason. Never rejects. */
  readonly exited: Promise<ExitInfo>;
  /** True until `exited` resolves. */
  isRunning(): boolean;
  /**
   * Dumps the job into `imageDir` (created if missing) and leaves it running.
   * The folder may be on the checkpoint mount; CRIU's work files stay in the
   * instance's local folder.
   */
  checkpoint(imageDir: string): Promise<CheckpointResult>;
  /** Freezes every process of the job (used while the worker holds no lease). */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Kills the job, waits for it to end and releases what the runtime holds for it. */
  kill(): Promise<void>;
}

export interface ContainerRuntime {
  readonly kind: JobKind;
  /** Starts the job from the beginning. Resolves once it runs. */
  start(spec: ProcessSpec, opts: InstanceOptions): Promise<JobInstance>;
  /**
   * Restores the job from `imageDir` (a checkpoint this runtime wrote,
   * here or on another worker). Resolves once the restored job runs; rejects
   * if the restore fails. Output continues in `opts.logFile`.
   */
  restore(spec: ProcessSpec, opts: InstanceOptions & { imageDir: string }): Promise<JobInstance>;
  /**
   * Takes over an instance a previous life of the worker agent started and
   * left running (`rec`: its instance record; `restored`: it was started by
   * `restore`, not `start`).
   */
  reattach(rec: InstanceRecord, opts: InstanceOptions & { restored: boolean }): JobInstance;
}

/** PATH given to every job unless its env sets one. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Instance names become runc container ids and file names. */
export const INSTANCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$/;
