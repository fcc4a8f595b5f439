// Original file: proto/manager.proto

import type { Long } from '@grpc/proto-loader';

export interface InventoryReply {
  'chunksKnown'?: (number | string | Long);
  'chunksOrphaned'?: (number | string | Long);
  'replicasMissing'?: (number | string | Long);
}

export interface InventoryReply__Output {
  'chunksKnown': (number);
  'chunksOrphaned': (number);
  'replicasMissing': (number);
}
