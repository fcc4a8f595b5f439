// Original file: proto/manager.proto

import type { CommitRequest as _stdchk_v1_CommitRequest, CommitRequest__Output as _stdchk_v1_CommitRequest__Output } from '../../stdchk/v1/CommitRequest';

export interface CommitBatchRequest {
  'commits'?: (_stdchk_v1_CommitRequest)[];
}

export interface CommitBatchRequest__Output {
  'commits': (_stdchk_v1_CommitRequest__Output)[];
}
