export type {
  CheckpointResult,
  ContainerRuntime,
  ExitInfo,
  InstanceOptions,
  JobInstance,
  JobKind,
  ProcessSpec,
} from './types.ts';
export { RuncRuntime } from './runc.ts';
export type { RuncRuntimeOptions } from './runc.ts';
export { ProcessRuntime, PROCESS_META_FILE } from './process.ts';
export type { ProcessRuntimeOptions } from './process.ts';
export { RootfsCache } from './rootfs-cache.ts';
export { killInstancesUnder, readInstanceRecord } from './instance-record.ts';
