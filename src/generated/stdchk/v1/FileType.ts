// Original file: proto/manager.proto

export const FileType = {
  FILE_TYPE_UNSPECIFIED: 'FILE_TYPE_UNSPECIFIED',
  FILE: 'FILE',
  DIRECTORY: 'DIRECTORY',
  SYMLINK: 'SYMLINK',
} as const;

export type FileType =
  | 'FILE_TYPE_UNSPECIFIED'
  | 0
  | 'FILE'
  | 1
  | 'DIRECTORY'
  | 2
  | 'SYMLINK'
  | 3

export type FileType__Output = typeof FileType[keyof typeof FileType]
