// Original file: proto/scheduler.proto

import type { Assignment as _stdchk_v1_Assignment, Assignment__Output as _stdchk_v1_Assignment__Output } from '../../stdchk/v1/Assignment';

export interface WorkerHeartbeatReply {
  'reregister'?: (boolean);
  'assignments'?: (_stdchk_v1_Assignment)[];
}

export interface WorkerHeartbeatReply__Output {
  'reregister': (boolean);
  'assignments': (_stdchk_v1_Assignment__Output)[];
}
