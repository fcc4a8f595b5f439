// Original file: proto/manager.proto

import type { Long } from '@grpc/proto-loader';

export interface CommitRequest {
  'path'?: (string);
  'refs'?: (Buffer | Uint8Array | string);
  'size'?: (number | string | Long);
  'replicas'?: (number);
  'baseVersion'?: (number | string | Long);
  'mode'?: (number);
  'uid'?: (number);
  'gid'?: (number);
  'mtimeMs'?: (number | string | Long);
  'inode'?: (number | string | Long);
  'setOwner'?: (boolean);
  '_baseVersion'?: "baseVersion";
  '_mode'?: "mode";
  '_mtimeMs'?: "mtimeMs";
}

export interface CommitRequest__Output {
  'path': (string);
  'refs': (Buffer);
  'size': (number);
  'replicas': (number);
  'baseVersion'?: (number);
  'mode'?: (number);
  'uid': (number);
  'gid': (number);
  'mtimeMs'?: (number);
  'inode': (number);
  'setOwner': (boolean);
  '_baseVersion'?: "baseVersion";
  '_mode'?: "mode";
  '_mtimeMs'?: "mtimeMs";
}
