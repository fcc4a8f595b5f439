// Original file: proto/manager.proto

import type { FileType as _stdchk_v1_FileType, FileType__Output as _stdchk_v1_FileType__Output } from '../../stdchk/v1/FileType';

export interface MknodRequest {
  'path'?: (string);
  'type'?: (_stdchk_v1_FileType);
  'mode'?: (number);
  'uid'?: (number);
  'gid'?: (number);
  'rdev'?: (number);
}

export interface MknodRequest__Output {
  'path': (string);
  'type': (_stdchk_v1_FileType__Output);
  'mode': (number);
  'uid': (number);
  'gid': (number);
  'rdev': (number);
}
