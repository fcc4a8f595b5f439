// Original file: proto/manager.proto

import type { FileInfo as _stdchk_v1_FileInfo, FileInfo__Output as _stdchk_v1_FileInfo__Output } from '../../stdchk/v1/FileInfo';

export interface CommitResult {
  'info'?: (_stdchk_v1_FileInfo | null);
  'errorCode'?: (string);
  'error'?: (string);
}

export interface CommitResult__Output {
  'info': (_stdchk_v1_FileInfo__Output | null);
  'errorCode': (string);
  'error': (string);
}
