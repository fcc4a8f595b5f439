import type { ProcessSpec, RunAs } from './types.ts';
import { DEFAULT_PATH } from './types.ts';

/** Where container ids land on the worker: container id N is host id `base + N`, for N < `size`. */
export interface IdMap {
  base: number;
  size: number;
}

/** Container ids 0-65535 are mapped; a job's uid and gid must be below this. */
export const CONTAINER_IDS = 65_536;

export interface OciOptions {
  /** The container's user (ids inside the container). */
  user: RunAs;
  /** A private user namespace mapping the container's ids onto the worker's (the rootfs must be owned by the mapped ids). */
  idMap?: IdMap | undefined;
}

/**
 * An OCI runtime config (config.json) with `runc spec`'s defaults, adapted for
 * batch jobs: no terminal (stdio are pipes), the job's args/env/cwd and user,
 * a shared read-only root (the cached rootfs) with a writable tmpfs on /tmp,
 * private namespaces (pid, network with loopback only, ipc, uts, mount, and
 * user when `idMap` is given), which CRIU dumps and restores with the
 * container, no new privileges, and the default seccomp profile. A non-root
 * user has no capabilities; root (only if the grid allows it) keeps three
 * harmless ones, and inside a user namespace even those are the namespace's.
 */
export function ociConfig(spec: ProcessSpec, rootfs: string, opts: OciOptions): Record<string, unknown> {
  const env = { PATH: DEFAULT_PATH, HOME: opts.user.home ?? '/', ...spec.env };
  const caps = opts.user.uid === 0 ? ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'] : [];
  const idMap = opts.idMap;
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: { uid: opts.user.uid, gid: opts.user.gid, umask: 0o022 },
      args: spec.args,
      env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      cwd: spec.cwd ?? '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, ambient: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: rootfs, readonly: true },
    hostname: 'stdchk',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      {
        destination: '/dev/mqueue',
        type: 'mqueue',
        source: 'mqueue',
        options: ['nosuid', 'noexec', 'nodev'],
      },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      {
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
      },
      {
        destination: '/tmp',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'nodev', 'mode=1777', 'size=65536k'],
      },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [
        { type: 'pid' },
        { type: 'network' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        ...(idMap ? [{ type: 'user' }] : []),
      ],
      ...(idMap
        ? {
            uidMappings: [{ containerID: 0, hostID: idMap.base, size: idMap.size }],
            gidMappings: [{ containerID: 0, hostID: idMap.base, size: idMap.size }],
          }
        : {}),
      seccomp: SECCOMP_PROFILE,
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

const EPERM = 1;
const ENOSYS = 38;
const CLONE_NEW_FLAGS = {
  CLONE_NEWNS: 0x00020000,
  CLONE_NEWCGROUP: 0x02000000,
  CLONE_NEWUTS: 0x04000000,
  CLONE_NEWIPC: 0x08000000,
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNET: 0x40000000,
};

/**
 * The containers' seccomp profile: everything is allowed except a short,
 * documented denylist (in the spirit of Docker's default profile, which is an
 * allowlist of ~350 calls; ours is the other way round so that it stays small
 * and readable). Denied calls fail with EPERM (clone3 with ENOSYS, so that
 * libc falls back to clone, whose namespace flags are checked):
 * - new namespaces and mounts: unshare, setns, clone with a CLONE_NEW* flag,
 *   mount and the new mount API, pivot_root (a way into kernel code that
 *   used to be root-only, and a user namespace would give a job
 *   capabilities over it);
 * - the kernel keyring: add_key, keyctl, request_key (not namespaced);
 * - large kernel surfaces a batch job does not need: bpf, perf_event_open,
 *   userfaultfd, io_uring, open_by_handle_at (the "shocker" escape);
 * - calls that need host capabilities anyway (modules, kexec, reboot, swap,
 *   acct, quotactl, syslog, iopl/ioperm): denied outright.
 * CRIU dumps and restores the filter with the container (it suspends it for
 * its own code while dumping); tested in test/integration/runtime.test.ts.
 */
export const SECCOMP_PROFILE = {
  defaultAction: 'SCMP_ACT_ALLOW',
  architectures:
    process.arch === 'arm64'
      ? ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']
      : ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  syscalls: [
    {
      names: [
        'unshare',
        'setns',
        'mount',
        'umount',
        'umount2',
        'pivot_root',
        'open_tree',
        'move_mount',
        'fsopen',
        'fsconfig',
        'fsmount',
        'fspick',
        'mount_setattr',
        'add_key',
        'keyctl',
        'request_key',
        'bpf',
        'perf_event_open',
        'userfaultfd',
        'io_uring_setup',
        'io_uring_enter',
        'io_uring_register',
        'open_by_handle_at',
        'init_module',
        'finit_module',
        'delete_module',
        'kexec_load',
        'kexec_file_load',
        'reboot',
        'swapon',
        'swapoff',
        'acct',
        'quotactl',
        'quotactl_fd',
        'syslog',
        'iopl',
        'ioperm',
      ],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: EPERM,
    },
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
    ...Object.values(CLONE_NEW_FLAGS).map((flag) => ({
      names: ['clone'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: EPERM,
      // x86_64 and arm64 both pass clone's flags first.
      args: [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }],
    })),
  ],
};
