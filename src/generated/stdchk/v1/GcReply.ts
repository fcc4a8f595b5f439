// Original file: proto/manager.proto

import type { Long } from '@grpc/proto-loader';

export interface GcReply {
  'chunks'?: (number | string | Long);
  'bytes'?: (number | string | Long);
  'releasedChunks'?: (number | string | Long);
  'abandonedChunks'?: (number | string | Long);
  'inProgressChunks'?: (number | string | Long);
  'unknownWriterChunks'?: (number | string | Long);
  'dryRun'?: (boolean);
}

export interface GcReply__Output {
  'chunks': (number);
  'bytes': (number);
  'releasedChunks': (number);
  'abandonedChunks': (number);
  'inProgressChunks': (number);
  'unknownWriterChunks': (number);
  'dryRun': (boolean);
}
