import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { BenefactorRef as _stdchk_v1_BenefactorRef, BenefactorRef__Output as _stdchk_v1_BenefactorRef__Output } from './stdchk/v1/BenefactorRef';
import type { Empty as _stdchk_v1_Empty, Empty__Output as _stdchk_v1_Empty__Output } from './stdchk/v1/Empty';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  stdchk: {
    v1: {
      BenefactorRef: MessageTypeDefinition<_stdchk_v1_BenefactorRef, _stdchk_v1_BenefactorRef__Output>
      Empty: MessageTypeDefinition<_stdchk_v1_Empty, _stdchk_v1_Empty__Output>
    }
  }
}

