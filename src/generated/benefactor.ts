import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { BenefactorClient as _stdchk_v1_BenefactorClient, BenefactorDefinition as _stdchk_v1_BenefactorDefinition } from './stdchk/v1/Benefactor';
import type { BenefactorRef as _stdchk_v1_BenefactorRef, BenefactorRef__Output as _stdchk_v1_BenefactorRef__Output } from './stdchk/v1/BenefactorRef';
import type { Empty as _stdchk_v1_Empty, Empty__Output as _stdchk_v1_Empty__Output } from './stdchk/v1/Empty';
import type { InfoReply as _stdchk_v1_InfoReply, InfoReply__Output as _stdchk_v1_InfoReply__Output } from './stdchk/v1/InfoReply';
import type { ReadReply as _stdchk_v1_ReadReply, ReadReply__Output as _stdchk_v1_ReadReply__Output } from './stdchk/v1/ReadReply';
import type { ReadRequest as _stdchk_v1_ReadRequest, ReadRequest__Output as _stdchk_v1_ReadRequest__Output } from './stdchk/v1/ReadRequest';
import type { StoreAck as _stdchk_v1_StoreAck, StoreAck__Output as _stdchk_v1_StoreAck__Output } from './stdchk/v1/StoreAck';
import type { StoreRequest as _stdchk_v1_StoreRequest, StoreRequest__Output as _stdchk_v1_StoreRequest__Output } from './stdchk/v1/StoreRequest';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  stdchk: {
    v1: {
      Benefactor: SubtypeConstructor<typeof grpc.Client, _stdchk_v1_BenefactorClient> & { service: _stdchk_v1_BenefactorDefinition }
      BenefactorRef: MessageTypeDefinition<_stdchk_v1_BenefactorRef, _stdchk_v1_BenefactorRef__Output>
      Empty: MessageTypeDefinition<_stdchk_v1_Empty, _stdchk_v1_Empty__Output>
      InfoReply: MessageTypeDefinition<_stdchk_v1_InfoReply, _stdchk_v1_InfoReply__Output>
      ReadReply: MessageTypeDefinition<_stdchk_v1_ReadReply, _stdchk_v1_ReadReply__Output>
      ReadRequest: MessageTypeDefinition<_stdchk_v1_ReadRequest, _stdchk_v1_ReadRequest__Output>
      StoreAck: MessageTypeDefinition<_stdchk_v1_StoreAck, _stdchk_v1_StoreAck__Output>
      StoreRequest: MessageTypeDefinition<_stdchk_v1_StoreRequest, _stdchk_v1_StoreRequest__Output>
    }
  }
}

