// Original file: proto/benefactor.proto

import type { ChunkData as _stdchk_v1_ChunkData, ChunkData__Output as _stdchk_v1_ChunkData__Output } from '../../stdchk/v1/ChunkData';
import type { Long } from '@grpc/proto-loader';

export interface StoreRequest {
  'seq'?: (number | string | Long);
  'chunks'?: (_stdchk_v1_ChunkData)[];
}

export interface StoreRequest__Output {
  'seq': (number);
  'chunks': (_stdchk_v1_ChunkData__Output)[];
}
