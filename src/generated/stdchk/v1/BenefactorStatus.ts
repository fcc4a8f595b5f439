// Original file: proto/manager.proto

import type { ScrubStatus as _stdchk_v1_ScrubStatus, ScrubStatus__Output as _stdchk_v1_ScrubStatus__Output } from '../../stdchk/v1/ScrubStatus';
import type { Long } from '@grpc/proto-loader';

export interface BenefactorStatus {
  'id'?: (string);
  'host'?: (string);
  'address'?: (string);
  'alive'?: (boolean);
  'capacityBytes'?: (number | string | Long);
  'usedBytes'?: (number | string | Long);
  'freeBytes'?: (number | string | Long);
  'chunks'?: (number | string | Long);
  'lastHeartbeatMs'?: (number | string | Long);
  'corruptChunks'?: (number | string | Long);
  'scrub'?: (_stdchk_v1_ScrubStatus | null);
  'drain'?: (string);
  'drainChunksTotal'?: (number | string | Long);
  'drainChunksLeft'?: (number | string | Long);
  'dataAddress'?: (string);
  'dataSocket'?: (string);
}

export interface BenefactorStatus__Output {
  'id': (string);
  'host': (string);
  'address': (string);
  'alive': (boolean);
  'capacityBytes': (number);
  'usedBytes': (number);
  'freeBytes': (number);
  'chunks': (number);
  'lastHeartbeatMs': (number);
  'corruptChunks': (number);
  'scrub': (_stdchk_v1_ScrubStatus__Output | null);
  'drain': (string);
  'drainChunksTotal': (number);
  'drainChunksLeft': (number);
  'dataAddress': (string);
  'dataSocket': (string);
}
