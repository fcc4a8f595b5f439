// Original file: proto/scheduler.proto

import type { JobStatus as _stdchk_v1_JobStatus, JobStatus__Output as _stdchk_v1_JobStatus__Output } from '../../stdchk/v1/JobStatus';

export interface ListJobsReply {
  'jobs'?: (_stdchk_v1_JobStatus)[];
}

export interface ListJobsReply__Output {
  'jobs': (_stdchk_v1_JobStatus__Output)[];
}
