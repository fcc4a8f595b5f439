// Original file: proto/manager.proto

import type { FileType as _stdchk_v1_FileType, FileType__Output as _stdchk_v1_FileType__Output } from '../../stdchk/v1/FileType';
import type { Long } from '@grpc/proto-loader';

export interface FileInfo {
  'path'?: (string);
  'name'?: (string);
  'type'?: (_stdchk_v1_FileType);
  'inode'?: (number | string | Long);
  'size'?: (number | string | Long);
  'mode'?: (number);
  'uid'?: (number);
  'gid'?: (number);
  'atimeMs'?: (number | string | Long);
  'mtimeMs'?: (number | string | Long);
  'ctimeMs'?: (number | string | Long);
  'version'?: (number | string | Long);
  'nlink'?: (number);
  'target'?: (string);
  'replicas'?: (number);
  'chunks'?: (number | string | Long);
  'rdev'?: (number);
}

export interface FileInfo__Output {
  'path': (string);
  'name': (string);
  'type': (_stdchk_v1_FileType__Output);
  'inode': (number);
  'size': (number);
  'mode': (number);
  'uid': (number);
  'gid': (number);
  'atimeMs': (number);
  'mtimeMs': (number);
  'ctimeMs': (number);
  'version': (number);
  'nlink': (number);
  'target': (string);
  'replicas': (number);
  'chunks': (number);
  'rdev': (number);
}
