// Original file: proto/benefactor.proto

import type { ChunkData as _stdchk_v1_ChunkData, ChunkData__Output as _stdchk_v1_ChunkData__Output } from '../../stdchk/v1/ChunkData';

export interface ReadReply {
  'chunks'?: (_stdchk_v1_ChunkData)[];
}

export interface ReadReply__Output {
  'chunks': (_stdchk_v1_ChunkData__Output)[];
}
