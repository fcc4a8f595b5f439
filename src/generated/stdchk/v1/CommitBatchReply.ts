// Original file: proto/manager.proto

import type { CommitResult as _stdchk_v1_CommitResult, CommitResult__Output as _stdchk_v1_CommitResult__Output } from '../../stdchk/v1/CommitResult';

export interface CommitBatchReply {
  'results'?: (_stdchk_v1_CommitResult)[];
}

export interface CommitBatchReply__Output {
  'results': (_stdchk_v1_CommitResult__Output)[];
}
