// Original file: proto/manager.proto

import type { BenefactorStatus as _stdchk_v1_BenefactorStatus, BenefactorStatus__Output as _stdchk_v1_BenefactorStatus__Output } from '../../stdchk/v1/BenefactorStatus';
import type { Long } from '@grpc/proto-loader';

export interface StatusReply {
  'benefactors'?: (_stdchk_v1_BenefactorStatus)[];
  'files'?: (number | string | Long);
  'directories'?: (number | string | Long);
  'chunks'?: (number | string | Long);
  'logicalBytes'?: (number | string | Long);
  'storedBytes'?: (number | string | Long);
  'underReplicatedChunks'?: (number | string | Long);
  'pendingDeletions'?: (number | string | Long);
  'repairsInProgress'?: (number | string | Long);
  'capacityBytes'?: (number | string | Long);
  'freeBytes'?: (number | string | Long);
  'corruptChunks'?: (number | string | Long);
  'unavailableChunks'?: (number | string | Long);
  'benefactorsAlive'?: (number | string | Long);
  'benefactorsLost'?: (number | string | Long);
}

export interface StatusReply__Output {
  'benefactors': (_stdchk_v1_BenefactorStatus__Output)[];
  'files': (number);
  'directories': (number);
  'chunks': (number);
  'logicalBytes': (number);
  'storedBytes': (number);
  'underReplicatedChunks': (number);
  'pendingDeletions': (number);
  'repairsInProgress': (number);
  'capacityBytes': (number);
  'freeBytes': (number);
  'corruptChunks': (number);
  'unavailableChunks': (number);
  'benefactorsAlive': (number);
  'benefactorsLost': (number);
}
