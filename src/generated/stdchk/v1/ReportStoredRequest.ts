// Original file: proto/manager.proto

import type { StoredReplica as _stdchk_v1_StoredReplica, StoredReplica__Output as _stdchk_v1_StoredReplica__Output } from '../../stdchk/v1/StoredReplica';

export interface ReportStoredRequest {
  'replicas'?: (_stdchk_v1_StoredReplica)[];
}

export interface ReportStoredRequest__Output {
  'replicas': (_stdchk_v1_StoredReplica__Output)[];
}
