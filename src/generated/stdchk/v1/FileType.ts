// Original file: proto/manager.proto

export const FileType = {
  FILE_TYPE_UNSPECIFIED: 'FILE_TYPE_UNSPECIFIED',
  FILE: 'FILE',
  DIRECTORY: 'DIRECTORY',
  SYMLINK: 'SYMLINK',
  FIFO: 'FIFO',
  SOCKET: 'SOCKET',
  CHAR_DEVICE: 'CHAR_DEVICE',
  BLOCK_DEVICE: 'BLOCK_DEVICE',
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
  | 'FIFO'
  | 4
  | 'SOCKET'
  | 5
  | 'CHAR_DEVICE'
  | 6
  | 'BLOCK_DEVICE'
  | 7

export type FileType__Output = typeof FileType[keyof typeof FileType]
