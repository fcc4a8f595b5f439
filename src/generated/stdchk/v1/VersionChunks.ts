// Original file: proto/manager.proto

import type { ChunkPlacement as _stdchk_v1_ChunkPlacement, ChunkPlacement__Output as _stdchk_v1_ChunkPlacement__Output } from '../../stdchk/v1/ChunkPlacement';
import type { Long } from '@grpc/proto-loader';

export interface VersionChunks {
  'version'?: (number | string | Long);
  'size'?: (number | string | Long);
  'replicas'?: (number);
  'mtimeMs'?: (number | string | Long);
  'current'?: (boolean);
  'chunks'?: (_stdchk_v1_ChunkPlacement)[];
}

export interface VersionChunks__Output {
  'version': (number);
  'size': (number);
  'replicas': (number);
  'mtimeMs': (number);
  'current': (boolean);
  'chunks': (_stdchk_v1_ChunkPlacement__Output)[];
}
