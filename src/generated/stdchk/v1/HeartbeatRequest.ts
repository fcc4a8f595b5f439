// Original file: proto/manager.proto

import type { ScrubStatus as _stdchk_v1_ScrubStatus, ScrubStatus__Output as _stdchk_v1_ScrubStatus__Output } from '../../stdchk/v1/ScrubStatus';
import type { Long } from '@grpc/proto-loader';

export interface HeartbeatRequest {
  'id'?: (string);
  'capacityBytes'?: (number | string | Long);
  'usedBytes'?: (number | string | Long);
  'freeBytes'?: (number | string | Long);
  'chunks'?: (number | string | Long);
  'corruptHashes'?: (Buffer | Uint8Array | string);
  'scrub'?: (_stdchk_v1_ScrubStatus | null);
  'stamp'?: (number | string | Long);
}

export interface HeartbeatRequest__Output {
  'id': (string);
  'capacityBytes': (number);
  'usedBytes': (number);
  'freeBytes': (number);
  'chunks': (number);
  'corruptHashes': (Buffer);
  'scrub': (_stdchk_v1_ScrubStatus__Output | null);
  'stamp': (number);
}
