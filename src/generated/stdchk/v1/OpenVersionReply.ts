// Original file: proto/manager.proto

import type { FileInfo as _stdchk_v1_FileInfo, FileInfo__Output as _stdchk_v1_FileInfo__Output } from '../../stdchk/v1/FileInfo';
import type { Long } from '@grpc/proto-loader';

export interface OpenVersionReply {
  'info'?: (_stdchk_v1_FileInfo | null);
  'refs'?: (Buffer | Uint8Array | string);
  'leaseId'?: (string);
  'leaseTtlMs'?: (number | string | Long);
}

export interface OpenVersionReply__Output {
  'info': (_stdchk_v1_FileInfo__Output | null);
  'refs': (Buffer);
  'leaseId': (string);
  'leaseTtlMs': (number);
}
