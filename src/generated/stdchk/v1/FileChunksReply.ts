// Original file: proto/manager.proto

import type { FileInfo as _stdchk_v1_FileInfo, FileInfo__Output as _stdchk_v1_FileInfo__Output } from '../../stdchk/v1/FileInfo';
import type { VersionChunks as _stdchk_v1_VersionChunks, VersionChunks__Output as _stdchk_v1_VersionChunks__Output } from '../../stdchk/v1/VersionChunks';

export interface FileChunksReply {
  'info'?: (_stdchk_v1_FileInfo | null);
  'versions'?: (_stdchk_v1_VersionChunks)[];
}

export interface FileChunksReply__Output {
  'info': (_stdchk_v1_FileInfo__Output | null);
  'versions': (_stdchk_v1_VersionChunks__Output)[];
}
