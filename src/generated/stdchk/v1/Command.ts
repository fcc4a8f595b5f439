// Original file: proto/manager.proto

import type { DeleteCommand as _stdchk_v1_DeleteCommand, DeleteCommand__Output as _stdchk_v1_DeleteCommand__Output } from '../../stdchk/v1/DeleteCommand';
import type { ReplicateCommand as _stdchk_v1_ReplicateCommand, ReplicateCommand__Output as _stdchk_v1_ReplicateCommand__Output } from '../../stdchk/v1/ReplicateCommand';

export interface Command {
  'delete'?: (_stdchk_v1_DeleteCommand | null);
  'replicate'?: (_stdchk_v1_ReplicateCommand | null);
  'kind'?: "delete"|"replicate";
}

export interface Command__Output {
  'delete'?: (_stdchk_v1_DeleteCommand__Output | null);
  'replicate'?: (_stdchk_v1_ReplicateCommand__Output | null);
  'kind'?: "delete"|"replicate";
}
