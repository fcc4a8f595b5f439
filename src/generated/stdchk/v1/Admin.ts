// Original file: proto/manager.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { BenefactorStatus as _stdchk_v1_BenefactorStatus, BenefactorStatus__Output as _stdchk_v1_BenefactorStatus__Output } from '../../stdchk/v1/BenefactorStatus';
import type { CheckIndexReply as _stdchk_v1_CheckIndexReply, CheckIndexReply__Output as _stdchk_v1_CheckIndexReply__Output } from '../../stdchk/v1/CheckIndexReply';
import type { DrainRequest as _stdchk_v1_DrainRequest, DrainRequest__Output as _stdchk_v1_DrainRequest__Output } from '../../stdchk/v1/DrainRequest';
import type { DropLocationsReply as _stdchk_v1_DropLocationsReply, DropLocationsReply__Output as _stdchk_v1_DropLocationsReply__Output } from '../../stdchk/v1/DropLocationsReply';
import type { DropLocationsRequest as _stdchk_v1_DropLocationsRequest, DropLocationsRequest__Output as _stdchk_v1_DropLocationsRequest__Output } from '../../stdchk/v1/DropLocationsRequest';
import type { DumpPart as _stdchk_v1_DumpPart, DumpPart__Output as _stdchk_v1_DumpPart__Output } from '../../stdchk/v1/DumpPart';
import type { Empty as _stdchk_v1_Empty, Empty__Output as _stdchk_v1_Empty__Output } from '../../stdchk/v1/Empty';
import type { FileChunksReply as _stdchk_v1_FileChunksReply, FileChunksReply__Output as _stdchk_v1_FileChunksReply__Output } from '../../stdchk/v1/FileChunksReply';
import type { GcReply as _stdchk_v1_GcReply, GcReply__Output as _stdchk_v1_GcReply__Output } from '../../stdchk/v1/GcReply';
import type { GcRequest as _stdchk_v1_GcRequest, GcRequest__Output as _stdchk_v1_GcRequest__Output } from '../../stdchk/v1/GcRequest';
import type { LocationsPart as _stdchk_v1_LocationsPart, LocationsPart__Output as _stdchk_v1_LocationsPart__Output } from '../../stdchk/v1/LocationsPart';
import type { LocationsRequest as _stdchk_v1_LocationsRequest, LocationsRequest__Output as _stdchk_v1_LocationsRequest__Output } from '../../stdchk/v1/LocationsRequest';
import type { PathRequest as _stdchk_v1_PathRequest, PathRequest__Output as _stdchk_v1_PathRequest__Output } from '../../stdchk/v1/PathRequest';

export interface AdminClient extends grpc.Client {
  CheckIndex(argument: _stdchk_v1_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_CheckIndexReply__Output>): grpc.ClientUnaryCall;
  CheckIndex(argument: _stdchk_v1_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_CheckIndexReply__Output>): grpc.ClientUnaryCall;
  CheckIndex(argument: _stdchk_v1_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_CheckIndexReply__Output>): grpc.ClientUnaryCall;
  CheckIndex(argument: _stdchk_v1_Empty, callback: grpc.requestCallback<_stdchk_v1_CheckIndexReply__Output>): grpc.ClientUnaryCall;
  checkIndex(argument: _stdchk_v1_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_CheckIndexReply__Output>): grpc.ClientUnaryCall;
  checkIndex(argument: _stdchk_v1_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_CheckIndexReply__Output>): grpc.ClientUnaryCall;
  checkIndex(argument: _stdchk_v1_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_CheckIndexReply__Output>): grpc.ClientUnaryCall;
  checkIndex(argument: _stdchk_v1_Empty, callback: grpc.requestCallback<_stdchk_v1_CheckIndexReply__Output>): grpc.ClientUnaryCall;
  
  CollectGarbage(argument: _stdchk_v1_GcRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_GcReply__Output>): grpc.ClientUnaryCall;
  CollectGarbage(argument: _stdchk_v1_GcRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_GcReply__Output>): grpc.ClientUnaryCall;
  CollectGarbage(argument: _stdchk_v1_GcRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_GcReply__Output>): grpc.ClientUnaryCall;
  CollectGarbage(argument: _stdchk_v1_GcRequest, callback: grpc.requestCallback<_stdchk_v1_GcReply__Output>): grpc.ClientUnaryCall;
  collectGarbage(argument: _stdchk_v1_GcRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_GcReply__Output>): grpc.ClientUnaryCall;
  collectGarbage(argument: _stdchk_v1_GcRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_GcReply__Output>): grpc.ClientUnaryCall;
  collectGarbage(argument: _stdchk_v1_GcRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_GcReply__Output>): grpc.ClientUnaryCall;
  collectGarbage(argument: _stdchk_v1_GcRequest, callback: grpc.requestCallback<_stdchk_v1_GcReply__Output>): grpc.ClientUnaryCall;
  
  DrainBenefactor(argument: _stdchk_v1_DrainRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_BenefactorStatus__Output>): grpc.ClientUnaryCall;
  DrainBenefactor(argument: _stdchk_v1_DrainRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_BenefactorStatus__Output>): grpc.ClientUnaryCall;
  DrainBenefactor(argument: _stdchk_v1_DrainRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_BenefactorStatus__Output>): grpc.ClientUnaryCall;
  DrainBenefactor(argument: _stdchk_v1_DrainRequest, callback: grpc.requestCallback<_stdchk_v1_BenefactorStatus__Output>): grpc.ClientUnaryCall;
  drainBenefactor(argument: _stdchk_v1_DrainRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_BenefactorStatus__Output>): grpc.ClientUnaryCall;
  drainBenefactor(argument: _stdchk_v1_DrainRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_BenefactorStatus__Output>): grpc.ClientUnaryCall;
  drainBenefactor(argument: _stdchk_v1_DrainRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_BenefactorStatus__Output>): grpc.ClientUnaryCall;
  drainBenefactor(argument: _stdchk_v1_DrainRequest, callback: grpc.requestCallback<_stdchk_v1_BenefactorStatus__Output>): grpc.ClientUnaryCall;
  
  DropLocations(argument: _stdchk_v1_DropLocationsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_DropLocationsReply__Output>): grpc.ClientUnaryCall;
  DropLocations(argument: _stdchk_v1_DropLocationsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_DropLocationsReply__Output>): grpc.ClientUnaryCall;
  DropLocations(argument: _stdchk_v1_DropLocationsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_DropLocationsReply__Output>): grpc.ClientUnaryCall;
  DropLocations(argument: _stdchk_v1_DropLocationsRequest, callback: grpc.requestCallback<_stdchk_v1_DropLocationsReply__Output>): grpc.ClientUnaryCall;
  dropLocations(argument: _stdchk_v1_DropLocationsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_DropLocationsReply__Output>): grpc.ClientUnaryCall;
  dropLocations(argument: _stdchk_v1_DropLocationsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_DropLocationsReply__Output>): grpc.ClientUnaryCall;
  dropLocations(argument: _stdchk_v1_DropLocationsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_DropLocationsReply__Output>): grpc.ClientUnaryCall;
  dropLocations(argument: _stdchk_v1_DropLocationsRequest, callback: grpc.requestCallback<_stdchk_v1_DropLocationsReply__Output>): grpc.ClientUnaryCall;
  
  DumpMetadata(argument: _stdchk_v1_Empty, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_stdchk_v1_DumpPart__Output>;
  DumpMetadata(argument: _stdchk_v1_Empty, options?: grpc.CallOptions): grpc.ClientReadableStream<_stdchk_v1_DumpPart__Output>;
  dumpMetadata(argument: _stdchk_v1_Empty, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_stdchk_v1_DumpPart__Output>;
  dumpMetadata(argument: _stdchk_v1_Empty, options?: grpc.CallOptions): grpc.ClientReadableStream<_stdchk_v1_DumpPart__Output>;
  
  FileChunks(argument: _stdchk_v1_PathRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileChunksReply__Output>): grpc.ClientUnaryCall;
  FileChunks(argument: _stdchk_v1_PathRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_FileChunksReply__Output>): grpc.ClientUnaryCall;
  FileChunks(argument: _stdchk_v1_PathRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileChunksReply__Output>): grpc.ClientUnaryCall;
  FileChunks(argument: _stdchk_v1_PathRequest, callback: grpc.requestCallback<_stdchk_v1_FileChunksReply__Output>): grpc.ClientUnaryCall;
  fileChunks(argument: _stdchk_v1_PathRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileChunksReply__Output>): grpc.ClientUnaryCall;
  fileChunks(argument: _stdchk_v1_PathRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_FileChunksReply__Output>): grpc.ClientUnaryCall;
  fileChunks(argument: _stdchk_v1_PathRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileChunksReply__Output>): grpc.ClientUnaryCall;
  fileChunks(argument: _stdchk_v1_PathRequest, callback: grpc.requestCallback<_stdchk_v1_FileChunksReply__Output>): grpc.ClientUnaryCall;
  
  ListLocations(argument: _stdchk_v1_LocationsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_stdchk_v1_LocationsPart__Output>;
  ListLocations(argument: _stdchk_v1_LocationsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_stdchk_v1_LocationsPart__Output>;
  listLocations(argument: _stdchk_v1_LocationsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_stdchk_v1_LocationsPart__Output>;
  listLocations(argument: _stdchk_v1_LocationsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_stdchk_v1_LocationsPart__Output>;
  
}

export interface AdminHandlers extends grpc.UntypedServiceImplementation {
  CheckIndex: grpc.handleUnaryCall<_stdchk_v1_Empty__Output, _stdchk_v1_CheckIndexReply>;
  
  CollectGarbage: grpc.handleUnaryCall<_stdchk_v1_GcRequest__Output, _stdchk_v1_GcReply>;
  
  DrainBenefactor: grpc.handleUnaryCall<_stdchk_v1_DrainRequest__Output, _stdchk_v1_BenefactorStatus>;
  
  DropLocations: grpc.handleUnaryCall<_stdchk_v1_DropLocationsRequest__Output, _stdchk_v1_DropLocationsReply>;
  
  DumpMetadata: grpc.handleServerStreamingCall<_stdchk_v1_Empty__Output, _stdchk_v1_DumpPart>;
  
  FileChunks: grpc.handleUnaryCall<_stdchk_v1_PathRequest__Output, _stdchk_v1_FileChunksReply>;
  
  ListLocations: grpc.handleServerStreamingCall<_stdchk_v1_LocationsRequest__Output, _stdchk_v1_LocationsPart>;
  
}

export interface AdminDefinition extends grpc.ServiceDefinition {
  CheckIndex: MethodDefinition<_stdchk_v1_Empty, _stdchk_v1_CheckIndexReply, _stdchk_v1_Empty__Output, _stdchk_v1_CheckIndexReply__Output>
  CollectGarbage: MethodDefinition<_stdchk_v1_GcRequest, _stdchk_v1_GcReply, _stdchk_v1_GcRequest__Output, _stdchk_v1_GcReply__Output>
  DrainBenefactor: MethodDefinition<_stdchk_v1_DrainRequest, _stdchk_v1_BenefactorStatus, _stdchk_v1_DrainRequest__Output, _stdchk_v1_BenefactorStatus__Output>
  DropLocations: MethodDefinition<_stdchk_v1_DropLocationsRequest, _stdchk_v1_DropLocationsReply, _stdchk_v1_DropLocationsRequest__Output, _stdchk_v1_DropLocationsReply__Output>
  DumpMetadata: MethodDefinition<_stdchk_v1_Empty, _stdchk_v1_DumpPart, _stdchk_v1_Empty__Output, _stdchk_v1_DumpPart__Output>
  FileChunks: MethodDefinition<_stdchk_v1_PathRequest, _stdchk_v1_FileChunksReply, _stdchk_v1_PathRequest__Output, _stdchk_v1_FileChunksReply__Output>
  ListLocations: MethodDefinition<_stdchk_v1_LocationsRequest, _stdchk_v1_LocationsPart, _stdchk_v1_LocationsRequest__Output, _stdchk_v1_LocationsPart__Output>
}
