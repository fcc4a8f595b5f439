// Original file: proto/manager.proto

import type { Long } from '@grpc/proto-loader';

export interface SetAttrRequest {
  'path'?: (string);
  'mode'?: (number);
  'uid'?: (number);
  'gid'?: (number);
  'atimeMs'?: (number | string | Long);
  'mtimeMs'?: (number | string | Long);
  'size'?: (number | string | Long);
  'atimeNow'?: (boolean);
  'mtimeNow'?: (boolean);
  '_mode'?: "mode";
  '_uid'?: "uid";
  '_gid'?: "gid";
  '_atimeMs'?: "atimeMs";
  '_mtimeMs'?: "mtimeMs";
  '_size'?: "size";
}

export interface SetAttrRequest__Output {
  'path': (string);
  'mode'?: (number);
  'uid'?: (number);
  'gid'?: (number);
  'atimeMs'?: (number);
  'mtimeMs'?: (number);
  'size'?: (number);
  'atimeNow': (boolean);
  'mtimeNow': (boolean);
  '_mode'?: "mode";
  '_uid'?: "uid";
  '_gid'?: "gid";
  '_atimeMs'?: "atimeMs";
  '_mtimeMs'?: "mtimeMs";
  '_size'?: "size";
}
