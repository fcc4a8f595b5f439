// Original file: proto/benefactor.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Empty as _stdchk_v1_Empty, Empty__Output as _stdchk_v1_Empty__Output } from '../../stdchk/v1/Empty';
import type { InfoReply as _stdchk_v1_InfoReply, InfoReply__Output as _stdchk_v1_InfoReply__Output } from '../../stdchk/v1/InfoReply';
import type { ReadReply as _stdchk_v1_ReadReply, ReadReply__Output as _stdchk_v1_ReadReply__Output } from '../../stdchk/v1/ReadReply';
import type { ReadRequest as _stdchk_v1_ReadRequest, ReadRequest__Output as _stdchk_v1_ReadRequest__Output } from '../../stdchk/v1/ReadRequest';
import type { StoreAck as _stdchk_v1_StoreAck, StoreAck__Output as _stdchk_v1_StoreAck__Output } from '../../stdchk/v1/StoreAck';
import type { StoreRequest as _stdchk_v1_StoreRequest, StoreRequest__Output as _stdchk_v1_StoreRequest__Output } from '../../stdchk/v1/StoreRequest';

export interface BenefactorClient extends grpc.Client {
  Info(argument: _stdchk_v1_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_InfoReply__Output>): grpc.ClientUnaryCall;
  Info(argument: _stdchk_v1_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_InfoReply__Output>): grpc.ClientUnaryCall;
  Info(argument: _stdchk_v1_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_InfoReply__Output>): grpc.ClientUnaryCall;
  Info(argument: _stdchk_v1_Empty, callback: grpc.requestCallback<_stdchk_v1_InfoReply__Output>): grpc.ClientUnaryCall;
  info(argument: _stdchk_v1_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_InfoReply__Output>): grpc.ClientUnaryCall;
  info(argument: _stdchk_v1_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_InfoReply__Output>): grpc.ClientUnaryCall;
  info(argument: _stdchk_v1_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_InfoReply__Output>): grpc.ClientUnaryCall;
  info(argument: _stdchk_v1_Empty, callback: grpc.requestCallback<_stdchk_v1_InfoReply__Output>): grpc.ClientUnaryCall;
  
  ReadChunks(argument: _stdchk_v1_ReadRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_stdchk_v1_ReadReply__Output>;
  ReadChunks(argument: _stdchk_v1_ReadRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_stdchk_v1_ReadReply__Output>;
  readChunks(argument: _stdchk_v1_ReadRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_stdchk_v1_ReadReply__Output>;
  readChunks(argument: _stdchk_v1_ReadRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_stdchk_v1_ReadReply__Output>;
  
  StoreChunks(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_stdchk_v1_StoreRequest, _stdchk_v1_StoreAck__Output>;
  StoreChunks(options?: grpc.CallOptions): grpc.ClientDuplexStream<_stdchk_v1_StoreRequest, _stdchk_v1_StoreAck__Output>;
  storeChunks(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_stdchk_v1_StoreRequest, _stdchk_v1_StoreAck__Output>;
  storeChunks(options?: grpc.CallOptions): grpc.ClientDuplexStream<_stdchk_v1_StoreRequest, _stdchk_v1_StoreAck__Output>;
  
}

export interface BenefactorHandlers extends grpc.UntypedServiceImplementation {
  Info: grpc.handleUnaryCall<_stdchk_v1_Empty__Output, _stdchk_v1_InfoReply>;
  
  ReadChunks: grpc.handleServerStreamingCall<_stdchk_v1_ReadRequest__Output, _stdchk_v1_ReadReply>;
  
  StoreChunks: grpc.handleBidiStreamingCall<_stdchk_v1_StoreRequest__Output, _stdchk_v1_StoreAck>;
  
}

export interface BenefactorDefinition extends grpc.ServiceDefinition {
  Info: MethodDefinition<_stdchk_v1_Empty, _stdchk_v1_InfoReply, _stdchk_v1_Empty__Output, _stdchk_v1_InfoReply__Output>
  ReadChunks: MethodDefinition<_stdchk_v1_ReadRequest, _stdchk_v1_ReadReply, _stdchk_v1_ReadRequest__Output, _stdchk_v1_ReadReply__Output>
  StoreChunks: MethodDefinition<_stdchk_v1_StoreRequest, _stdchk_v1_StoreAck, _stdchk_v1_StoreRequest__Output, _stdchk_v1_StoreAck__Output>
}
