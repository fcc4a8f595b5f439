// Original file: proto/manager.proto


export interface InventoryPart {
  'benefactorId'?: (string);
  'refs'?: (Buffer | Uint8Array | string);
  'last'?: (boolean);
}

export interface InventoryPart__Output {
  'benefactorId': (string);
  'refs': (Buffer);
  'last': (boolean);
}
