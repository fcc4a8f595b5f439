export type {
  CheckpointResult,
  ContainerRuntime,
  ExitInfo,
  InstanceOptions,
  JobInstance,
  JobKind,
  ProcessSpec,
  RunAs,
} from './types.ts';
export { RuncRuntime } from './runc.ts';
export type { RuncRuntimeOptions } from './runc.ts';
export { ProcessRuntime, PROCESS_META_FILE } from './process.ts';
export type { ProcessRuntimeOptions } from './process.ts';
export { RootfsCache } from './rootfs-cache.ts';
export { killInstancesUnder, readInstanceRecord } from './instance-record.ts';
export { CONTAINER_IDS, SECCOMP_PROFILE, ociConfig } from './oci-config.ts';
export type { IdMap } from './oci-config.ts';
export { DEFAULT_CONTAINER_ID_MAP, parseContainerUserns, prepareWorkDir } from './work-dir.ts';
