// Original file: proto/manager.proto

import type { BenefactorRef as _stdchk_v1_BenefactorRef, BenefactorRef__Output as _stdchk_v1_BenefactorRef__Output } from '../../stdchk/v1/BenefactorRef';

export interface ReplicateCommand {
  'hashes'?: (Buffer | Uint8Array | string);
  'source'?: (_stdchk_v1_BenefactorRef | null);
}

export interface ReplicateCommand__Output {
  'hashes': (Buffer);
  'source': (_stdchk_v1_BenefactorRef__Output | null);
}
