// Original file: proto/manager.proto

import type { BenefactorRef as _stdchk_v1_BenefactorRef, BenefactorRef__Output as _stdchk_v1_BenefactorRef__Output } from '../../stdchk/v1/BenefactorRef';
import type { ChunkLocations as _stdchk_v1_ChunkLocations, ChunkLocations__Output as _stdchk_v1_ChunkLocations__Output } from '../../stdchk/v1/ChunkLocations';

export interface LocateReply {
  'benefactors'?: (_stdchk_v1_BenefactorRef)[];
  'locations'?: (_stdchk_v1_ChunkLocations)[];
}

export interface LocateReply__Output {
  'benefactors': (_stdchk_v1_BenefactorRef__Output)[];
  'locations': (_stdchk_v1_ChunkLocations__Output)[];
}
