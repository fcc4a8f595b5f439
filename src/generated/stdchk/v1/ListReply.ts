// Original file: proto/manager.proto

import type { FileInfo as _stdchk_v1_FileInfo, FileInfo__Output as _stdchk_v1_FileInfo__Output } from '../../stdchk/v1/FileInfo';

export interface ListReply {
  'entries'?: (_stdchk_v1_FileInfo)[];
}

export interface ListReply__Output {
  'entries': (_stdchk_v1_FileInfo__Output)[];
}
