// Original file: proto/manager.proto

import type { IndexProblem as _stdchk_v1_IndexProblem, IndexProblem__Output as _stdchk_v1_IndexProblem__Output } from '../../stdchk/v1/IndexProblem';
import type { Long } from '@grpc/proto-loader';

export interface CheckIndexReply {
  'files'?: (number | string | Long);
  'versions'?: (number | string | Long);
  'references'?: (number | string | Long);
  'chunks'?: (number | string | Long);
  'missingChunks'?: (number | string | Long);
  'refcountErrors'?: (number | string | Long);
  'unavailableChunks'?: (number | string | Long);
  'underReplicatedChunks'?: (number | string | Long);
  'problems'?: (_stdchk_v1_IndexProblem)[];
}

export interface CheckIndexReply__Output {
  'files': (number);
  'versions': (number);
  'references': (number);
  'chunks': (number);
  'missingChunks': (number);
  'refcountErrors': (number);
  'unavailableChunks': (number);
  'underReplicatedChunks': (number);
  'problems': (_stdchk_v1_IndexProblem__Output)[];
}
