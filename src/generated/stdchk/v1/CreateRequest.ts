// Original file: proto/manager.proto

import type { Long } from '@grpc/proto-loader';

export interface CreateRequest {
  'path'?: (string);
  'mode'?: (number);
  'uid'?: (number);
  'gid'?: (number);
  'exclusive'?: (boolean);
  'inode'?: (number | string | Long);
  '_mode'?: "mode";
}

export interface CreateRequest__Output {
  'path': (string);
  'mode'?: (number);
  'uid': (number);
  'gid': (number);
  'exclusive': (boolean);
  'inode': (number);
  '_mode'?: "mode";
}
