// Original file: proto/manager.proto


export interface ChunkLocations {
  'benefactors'?: (number)[];
}

export interface ChunkLocations__Output {
  'benefactors': (number)[];
}
