// Original file: proto/manager.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AllocateReply as _stdchk_v1_AllocateReply, AllocateReply__Output as _stdchk_v1_AllocateReply__Output } from '../../stdchk/v1/AllocateReply';
import type { AllocateRequest as _stdchk_v1_AllocateRequest, AllocateRequest__Output as _stdchk_v1_AllocateRequest__Output } from '../../stdchk/v1/AllocateRequest';
import type { CommitBatchReply as _stdchk_v1_CommitBatchReply, CommitBatchReply__Output as _stdchk_v1_CommitBatchReply__Output } from '../../stdchk/v1/CommitBatchReply';
import type { CommitBatchRequest as _stdchk_v1_CommitBatchRequest, CommitBatchRequest__Output as _stdchk_v1_CommitBatchRequest__Output } from '../../stdchk/v1/CommitBatchRequest';
import type { CommitRequest as _stdchk_v1_CommitRequest, CommitRequest__Output as _stdchk_v1_CommitRequest__Output } from '../../stdchk/v1/CommitRequest';
import type { CreateRequest as _stdchk_v1_CreateRequest, CreateRequest__Output as _stdchk_v1_CreateRequest__Output } from '../../stdchk/v1/CreateRequest';
import type { Empty as _stdchk_v1_Empty, Empty__Output as _stdchk_v1_Empty__Output } from '../../stdchk/v1/Empty';
import type { FileInfo as _stdchk_v1_FileInfo, FileInfo__Output as _stdchk_v1_FileInfo__Output } from '../../stdchk/v1/FileInfo';
import type { HeartbeatReply as _stdchk_v1_HeartbeatReply, HeartbeatReply__Output as _stdchk_v1_HeartbeatReply__Output } from '../../stdchk/v1/HeartbeatReply';
import type { HeartbeatRequest as _stdchk_v1_HeartbeatRequest, HeartbeatRequest__Output as _stdchk_v1_HeartbeatRequest__Output } from '../../stdchk/v1/HeartbeatRequest';
import type { InventoryPart as _stdchk_v1_InventoryPart, InventoryPart__Output as _stdchk_v1_InventoryPart__Output } from '../../stdchk/v1/InventoryPart';
import type { InventoryReply as _stdchk_v1_InventoryReply, InventoryReply__Output as _stdchk_v1_InventoryReply__Output } from '../../stdchk/v1/InventoryReply';
import type { LeasesRequest as _stdchk_v1_LeasesRequest, LeasesRequest__Output as _stdchk_v1_LeasesRequest__Output } from '../../stdchk/v1/LeasesRequest';
import type { LinkRequest as _stdchk_v1_LinkRequest, LinkRequest__Output as _stdchk_v1_LinkRequest__Output } from '../../stdchk/v1/LinkRequest';
import type { ListReply as _stdchk_v1_ListReply, ListReply__Output as _stdchk_v1_ListReply__Output } from '../../stdchk/v1/ListReply';
import type { LocateReply as _stdchk_v1_LocateReply, LocateReply__Output as _stdchk_v1_LocateReply__Output } from '../../stdchk/v1/LocateReply';
import type { LocateRequest as _stdchk_v1_LocateRequest, LocateRequest__Output as _stdchk_v1_LocateRequest__Output } from '../../stdchk/v1/LocateRequest';
import type { MkdirRequest as _stdchk_v1_MkdirRequest, MkdirRequest__Output as _stdchk_v1_MkdirRequest__Output } from '../../stdchk/v1/MkdirRequest';
import type { MknodRequest as _stdchk_v1_MknodRequest, MknodRequest__Output as _stdchk_v1_MknodRequest__Output } from '../../stdchk/v1/MknodRequest';
import type { OpenVersionReply as _stdchk_v1_OpenVersionReply, OpenVersionReply__Output as _stdchk_v1_OpenVersionReply__Output } from '../../stdchk/v1/OpenVersionReply';
import type { OpenVersionRequest as _stdchk_v1_OpenVersionRequest, OpenVersionRequest__Output as _stdchk_v1_OpenVersionRequest__Output } from '../../stdchk/v1/OpenVersionRequest';
import type { PathRequest as _stdchk_v1_PathRequest, PathRequest__Output as _stdchk_v1_PathRequest__Output } from '../../stdchk/v1/PathRequest';
import type { PrepareReply as _stdchk_v1_PrepareReply, PrepareReply__Output as _stdchk_v1_PrepareReply__Output } from '../../stdchk/v1/PrepareReply';
import type { PrepareRequest as _stdchk_v1_PrepareRequest, PrepareRequest__Output as _stdchk_v1_PrepareRequest__Output } from '../../stdchk/v1/PrepareRequest';
import type { RegisterReply as _stdchk_v1_RegisterReply, RegisterReply__Output as _stdchk_v1_RegisterReply__Output } from '../../stdchk/v1/RegisterReply';
import type { RegisterRequest as _stdchk_v1_RegisterRequest, RegisterRequest__Output as _stdchk_v1_RegisterRequest__Output } from '../../stdchk/v1/RegisterRequest';
import type { RemoveRequest as _stdchk_v1_RemoveRequest, RemoveRequest__Output as _stdchk_v1_RemoveRequest__Output } from '../../stdchk/v1/RemoveRequest';
import type { RenameRequest as _stdchk_v1_RenameRequest, RenameRequest__Output as _stdchk_v1_RenameRequest__Output } from '../../stdchk/v1/RenameRequest';
import type { ReportStoredRequest as _stdchk_v1_ReportStoredRequest, ReportStoredRequest__Output as _stdchk_v1_ReportStoredRequest__Output } from '../../stdchk/v1/ReportStoredRequest';
import type { ReserveInodesReply as _stdchk_v1_ReserveInodesReply, ReserveInodesReply__Output as _stdchk_v1_ReserveInodesReply__Output } from '../../stdchk/v1/ReserveInodesReply';
import type { ReserveInodesRequest as _stdchk_v1_ReserveInodesRequest, ReserveInodesRequest__Output as _stdchk_v1_ReserveInodesRequest__Output } from '../../stdchk/v1/ReserveInodesRequest';
import type { ReserveReply as _stdchk_v1_ReserveReply, ReserveReply__Output as _stdchk_v1_ReserveReply__Output } from '../../stdchk/v1/ReserveReply';
import type { ReserveRequest as _stdchk_v1_ReserveRequest, ReserveRequest__Output as _stdchk_v1_ReserveRequest__Output } from '../../stdchk/v1/ReserveRequest';
import type { SetAttrRequest as _stdchk_v1_SetAttrRequest, SetAttrRequest__Output as _stdchk_v1_SetAttrRequest__Output } from '../../stdchk/v1/SetAttrRequest';
import type { StatusReply as _stdchk_v1_StatusReply, StatusReply__Output as _stdchk_v1_StatusReply__Output } from '../../stdchk/v1/StatusReply';
import type { SymlinkRequest as _stdchk_v1_SymlinkRequest, SymlinkRequest__Output as _stdchk_v1_SymlinkRequest__Output } from '../../stdchk/v1/SymlinkRequest';

export interface ManagerClient extends grpc.Client {
  AllocateTargets(argument: _stdchk_v1_AllocateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_AllocateReply__Output>): grpc.ClientUnaryCall;
  AllocateTargets(argument: _stdchk_v1_AllocateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_AllocateReply__Output>): grpc.ClientUnaryCall;
  AllocateTargets(argument: _stdchk_v1_AllocateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_AllocateReply__Output>): grpc.ClientUnaryCall;
  AllocateTargets(argument: _stdchk_v1_AllocateRequest, callback: grpc.requestCallback<_stdchk_v1_AllocateReply__Output>): grpc.ClientUnaryCall;
  allocateTargets(argument: _stdchk_v1_AllocateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_AllocateReply__Output>): grpc.ClientUnaryCall;
  allocateTargets(argument: _stdchk_v1_AllocateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_AllocateReply__Output>): grpc.ClientUnaryCall;
  allocateTargets(argument: _stdchk_v1_AllocateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_AllocateReply__Output>): grpc.ClientUnaryCall;
  allocateTargets(argument: _stdchk_v1_AllocateRequest, callback: grpc.requestCallback<_stdchk_v1_AllocateReply__Output>): grpc.ClientUnaryCall;
  
  CommitVersion(argument: _stdchk_v1_CommitRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  CommitVersion(argument: _stdchk_v1_CommitRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  CommitVersion(argument: _stdchk_v1_CommitRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  CommitVersion(argument: _stdchk_v1_CommitRequest, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  commitVersion(argument: _stdchk_v1_CommitRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  commitVersion(argument: _stdchk_v1_CommitRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  commitVersion(argument: _stdchk_v1_CommitRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  commitVersion(argument: _stdchk_v1_CommitRequest, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  
  CommitVersions(argument: _stdchk_v1_CommitBatchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_CommitBatchReply__Output>): grpc.ClientUnaryCall;
  CommitVersions(argument: _stdchk_v1_CommitBatchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_CommitBatchReply__Output>): grpc.ClientUnaryCall;
  CommitVersions(argument: _stdchk_v1_CommitBatchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_CommitBatchReply__Output>): grpc.ClientUnaryCall;
  CommitVersions(argument: _stdchk_v1_CommitBatchRequest, callback: grpc.requestCallback<_stdchk_v1_CommitBatchReply__Output>): grpc.ClientUnaryCall;
  commitVersions(argument: _stdchk_v1_CommitBatchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_CommitBatchReply__Output>): grpc.ClientUnaryCall;
  commitVersions(argument: _stdchk_v1_CommitBatchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_CommitBatchReply__Output>): grpc.ClientUnaryCall;
  commitVersions(argument: _stdchk_v1_CommitBatchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_CommitBatchReply__Output>): grpc.ClientUnaryCall;
  commitVersions(argument: _stdchk_v1_CommitBatchRequest, callback: grpc.requestCallback<_stdchk_v1_CommitBatchReply__Output>): grpc.ClientUnaryCall;
  
  Create(argument: _stdchk_v1_CreateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  Create(argument: _stdchk_v1_CreateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  Create(argument: _stdchk_v1_CreateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  Create(argument: _stdchk_v1_CreateRequest, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  create(argument: _stdchk_v1_CreateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  create(argument: _stdchk_v1_CreateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  create(argument: _stdchk_v1_CreateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  create(argument: _stdchk_v1_CreateRequest, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  
  Heartbeat(argument: _stdchk_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_HeartbeatReply__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _stdchk_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_HeartbeatReply__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _stdchk_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_HeartbeatReply__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _stdchk_v1_HeartbeatRequest, callback: grpc.requestCallback<_stdchk_v1_HeartbeatReply__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _stdchk_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_HeartbeatReply__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _stdchk_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_HeartbeatReply__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _stdchk_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_HeartbeatReply__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _stdchk_v1_HeartbeatRequest, callback: grpc.requestCallback<_stdchk_v1_HeartbeatReply__Output>): grpc.ClientUnaryCall;
  
  Link(argument: _stdchk_v1_LinkRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  Link(argument: _stdchk_v1_LinkRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  Link(argument: _stdchk_v1_LinkRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  Link(argument: _stdchk_v1_LinkRequest, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  link(argument: _stdchk_v1_LinkRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  link(argument: _stdchk_v1_LinkRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  link(argument: _stdchk_v1_LinkRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  link(argument: _stdchk_v1_LinkRequest, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  
  List(argument: _stdchk_v1_PathRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ListReply__Output>): grpc.ClientUnaryCall;
  List(argument: _stdchk_v1_PathRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_ListReply__Output>): grpc.ClientUnaryCall;
  List(argument: _stdchk_v1_PathRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ListReply__Output>): grpc.ClientUnaryCall;
  List(argument: _stdchk_v1_PathRequest, callback: grpc.requestCallback<_stdchk_v1_ListReply__Output>): grpc.ClientUnaryCall;
  list(argument: _stdchk_v1_PathRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ListReply__Output>): grpc.ClientUnaryCall;
  list(argument: _stdchk_v1_PathRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_ListReply__Output>): grpc.ClientUnaryCall;
  list(argument: _stdchk_v1_PathRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ListReply__Output>): grpc.ClientUnaryCall;
  list(argument: _stdchk_v1_PathRequest, callback: grpc.requestCallback<_stdchk_v1_ListReply__Output>): grpc.ClientUnaryCall;
  
  LocateChunks(argument: _stdchk_v1_LocateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_LocateReply__Output>): grpc.ClientUnaryCall;
  LocateChunks(argument: _stdchk_v1_LocateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_LocateReply__Output>): grpc.ClientUnaryCall;
  LocateChunks(argument: _stdchk_v1_LocateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_LocateReply__Output>): grpc.ClientUnaryCall;
  LocateChunks(argument: _stdchk_v1_LocateRequest, callback: grpc.requestCallback<_stdchk_v1_LocateReply__Output>): grpc.ClientUnaryCall;
  locateChunks(argument: _stdchk_v1_LocateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_LocateReply__Output>): grpc.ClientUnaryCall;
  locateChunks(argument: _stdchk_v1_LocateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_LocateReply__Output>): grpc.ClientUnaryCall;
  locateChunks(argument: _stdchk_v1_LocateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_LocateReply__Output>): grpc.ClientUnaryCall;
  locateChunks(argument: _stdchk_v1_LocateRequest, callback: grpc.requestCallback<_stdchk_v1_LocateReply__Output>): grpc.ClientUnaryCall;
  
  Mkdir(argument: _stdchk_v1_MkdirRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  Mkdir(argument: _stdchk_v1_MkdirRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  Mkdir(argument: _stdchk_v1_MkdirRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  Mkdir(argument: _stdchk_v1_MkdirRequest, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  mkdir(argument: _stdchk_v1_MkdirRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  mkdir(argument: _stdchk_v1_MkdirRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  mkdir(argument: _stdchk_v1_MkdirRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  mkdir(argument: _stdchk_v1_MkdirRequest, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  
  Mknod(argument: _stdchk_v1_MknodRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  Mknod(argument: _stdchk_v1_MknodRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  Mknod(argument: _stdchk_v1_MknodRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  Mknod(argument: _stdchk_v1_MknodRequest, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  mknod(argument: _stdchk_v1_MknodRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  mknod(argument: _stdchk_v1_MknodRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  mknod(argument: _stdchk_v1_MknodRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  mknod(argument: _stdchk_v1_MknodRequest, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  
  OpenVersion(argument: _stdchk_v1_OpenVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_OpenVersionReply__Output>): grpc.ClientUnaryCall;
  OpenVersion(argument: _stdchk_v1_OpenVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_OpenVersionReply__Output>): grpc.ClientUnaryCall;
  OpenVersion(argument: _stdchk_v1_OpenVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_OpenVersionReply__Output>): grpc.ClientUnaryCall;
  OpenVersion(argument: _stdchk_v1_OpenVersionRequest, callback: grpc.requestCallback<_stdchk_v1_OpenVersionReply__Output>): grpc.ClientUnaryCall;
  openVersion(argument: _stdchk_v1_OpenVersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_OpenVersionReply__Output>): grpc.ClientUnaryCall;
  openVersion(argument: _stdchk_v1_OpenVersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_OpenVersionReply__Output>): grpc.ClientUnaryCall;
  openVersion(argument: _stdchk_v1_OpenVersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_OpenVersionReply__Output>): grpc.ClientUnaryCall;
  openVersion(argument: _stdchk_v1_OpenVersionRequest, callback: grpc.requestCallback<_stdchk_v1_OpenVersionReply__Output>): grpc.ClientUnaryCall;
  
  PrepareChunks(argument: _stdchk_v1_PrepareRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_PrepareReply__Output>): grpc.ClientUnaryCall;
  PrepareChunks(argument: _stdchk_v1_PrepareRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_PrepareReply__Output>): grpc.ClientUnaryCall;
  PrepareChunks(argument: _stdchk_v1_PrepareRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_PrepareReply__Output>): grpc.ClientUnaryCall;
  PrepareChunks(argument: _stdchk_v1_PrepareRequest, callback: grpc.requestCallback<_stdchk_v1_PrepareReply__Output>): grpc.ClientUnaryCall;
  prepareChunks(argument: _stdchk_v1_PrepareRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_PrepareReply__Output>): grpc.ClientUnaryCall;
  prepareChunks(argument: _stdchk_v1_PrepareRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_PrepareReply__Output>): grpc.ClientUnaryCall;
  prepareChunks(argument: _stdchk_v1_PrepareRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_PrepareReply__Output>): grpc.ClientUnaryCall;
  prepareChunks(argument: _stdchk_v1_PrepareRequest, callback: grpc.requestCallback<_stdchk_v1_PrepareReply__Output>): grpc.ClientUnaryCall;
  
  RegisterBenefactor(argument: _stdchk_v1_RegisterRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_RegisterReply__Output>): grpc.ClientUnaryCall;
  RegisterBenefactor(argument: _stdchk_v1_RegisterRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_RegisterReply__Output>): grpc.ClientUnaryCall;
  RegisterBenefactor(argument: _stdchk_v1_RegisterRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_RegisterReply__Output>): grpc.ClientUnaryCall;
  RegisterBenefactor(argument: _stdchk_v1_RegisterRequest, callback: grpc.requestCallback<_stdchk_v1_RegisterReply__Output>): grpc.ClientUnaryCall;
  registerBenefactor(argument: _stdchk_v1_RegisterRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_RegisterReply__Output>): grpc.ClientUnaryCall;
  registerBenefactor(argument: _stdchk_v1_RegisterRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_RegisterReply__Output>): grpc.ClientUnaryCall;
  registerBenefactor(argument: _stdchk_v1_RegisterRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_RegisterReply__Output>): grpc.ClientUnaryCall;
  registerBenefactor(argument: _stdchk_v1_RegisterRequest, callback: grpc.requestCallback<_stdchk_v1_RegisterReply__Output>): grpc.ClientUnaryCall;
  
  ReleaseLeases(argument: _stdchk_v1_LeasesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  ReleaseLeases(argument: _stdchk_v1_LeasesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  ReleaseLeases(argument: _stdchk_v1_LeasesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  ReleaseLeases(argument: _stdchk_v1_LeasesRequest, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  releaseLeases(argument: _stdchk_v1_LeasesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  releaseLeases(argument: _stdchk_v1_LeasesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  releaseLeases(argument: _stdchk_v1_LeasesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  releaseLeases(argument: _stdchk_v1_LeasesRequest, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  
  Remove(argument: _stdchk_v1_RemoveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  Remove(argument: _stdchk_v1_RemoveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  Remove(argument: _stdchk_v1_RemoveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  Remove(argument: _stdchk_v1_RemoveRequest, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  remove(argument: _stdchk_v1_RemoveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  remove(argument: _stdchk_v1_RemoveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  remove(argument: _stdchk_v1_RemoveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  remove(argument: _stdchk_v1_RemoveRequest, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  
  Rename(argument: _stdchk_v1_RenameRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  Rename(argument: _stdchk_v1_RenameRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  Rename(argument: _stdchk_v1_RenameRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  Rename(argument: _stdchk_v1_RenameRequest, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  rename(argument: _stdchk_v1_RenameRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  rename(argument: _stdchk_v1_RenameRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  rename(argument: _stdchk_v1_RenameRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  rename(argument: _stdchk_v1_RenameRequest, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  
  RenewLeases(argument: _stdchk_v1_LeasesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  RenewLeases(argument: _stdchk_v1_LeasesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  RenewLeases(argument: _stdchk_v1_LeasesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  RenewLeases(argument: _stdchk_v1_LeasesRequest, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  renewLeases(argument: _stdchk_v1_LeasesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  renewLeases(argument: _stdchk_v1_LeasesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  renewLeases(argument: _stdchk_v1_LeasesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  renewLeases(argument: _stdchk_v1_LeasesRequest, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  
  ReportInventory(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_InventoryReply__Output>): grpc.ClientWritableStream<_stdchk_v1_InventoryPart>;
  ReportInventory(metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_InventoryReply__Output>): grpc.ClientWritableStream<_stdchk_v1_InventoryPart>;
  ReportInventory(options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_InventoryReply__Output>): grpc.ClientWritableStream<_stdchk_v1_InventoryPart>;
  ReportInventory(callback: grpc.requestCallback<_stdchk_v1_InventoryReply__Output>): grpc.ClientWritableStream<_stdchk_v1_InventoryPart>;
  reportInventory(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_InventoryReply__Output>): grpc.ClientWritableStream<_stdchk_v1_InventoryPart>;
  reportInventory(metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_InventoryReply__Output>): grpc.ClientWritableStream<_stdchk_v1_InventoryPart>;
  reportInventory(options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_InventoryReply__Output>): grpc.ClientWritableStream<_stdchk_v1_InventoryPart>;
  reportInventory(callback: grpc.requestCallback<_stdchk_v1_InventoryReply__Output>): grpc.ClientWritableStream<_stdchk_v1_InventoryPart>;
  
  ReportStored(argument: _stdchk_v1_ReportStoredRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  ReportStored(argument: _stdchk_v1_ReportStoredRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  ReportStored(argument: _stdchk_v1_ReportStoredRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  ReportStored(argument: _stdchk_v1_ReportStoredRequest, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  reportStored(argument: _stdchk_v1_ReportStoredRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  reportStored(argument: _stdchk_v1_ReportStoredRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  reportStored(argument: _stdchk_v1_ReportStoredRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  reportStored(argument: _stdchk_v1_ReportStoredRequest, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  
  ReserveInodes(argument: _stdchk_v1_ReserveInodesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ReserveInodesReply__Output>): grpc.ClientUnaryCall;
  ReserveInodes(argument: _stdchk_v1_ReserveInodesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_ReserveInodesReply__Output>): grpc.ClientUnaryCall;
  ReserveInodes(argument: _stdchk_v1_ReserveInodesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ReserveInodesReply__Output>): grpc.ClientUnaryCall;
  ReserveInodes(argument: _stdchk_v1_ReserveInodesRequest, callback: grpc.requestCallback<_stdchk_v1_ReserveInodesReply__Output>): grpc.ClientUnaryCall;
  reserveInodes(argument: _stdchk_v1_ReserveInodesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ReserveInodesReply__Output>): grpc.ClientUnaryCall;
  reserveInodes(argument: _stdchk_v1_ReserveInodesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_ReserveInodesReply__Output>): grpc.ClientUnaryCall;
  reserveInodes(argument: _stdchk_v1_ReserveInodesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ReserveInodesReply__Output>): grpc.ClientUnaryCall;
  reserveInodes(argument: _stdchk_v1_ReserveInodesRequest, callback: grpc.requestCallback<_stdchk_v1_ReserveInodesReply__Output>): grpc.ClientUnaryCall;
  
  ReserveSpace(argument: _stdchk_v1_ReserveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ReserveReply__Output>): grpc.ClientUnaryCall;
  ReserveSpace(argument: _stdchk_v1_ReserveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_ReserveReply__Output>): grpc.ClientUnaryCall;
  ReserveSpace(argument: _stdchk_v1_ReserveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ReserveReply__Output>): grpc.ClientUnaryCall;
  ReserveSpace(argument: _stdchk_v1_ReserveRequest, callback: grpc.requestCallback<_stdchk_v1_ReserveReply__Output>): grpc.ClientUnaryCall;
  reserveSpace(argument: _stdchk_v1_ReserveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ReserveReply__Output>): grpc.ClientUnaryCall;
  reserveSpace(argument: _stdchk_v1_ReserveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_ReserveReply__Output>): grpc.ClientUnaryCall;
  reserveSpace(argument: _stdchk_v1_ReserveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ReserveReply__Output>): grpc.ClientUnaryCall;
  reserveSpace(argument: _stdchk_v1_ReserveRequest, callback: grpc.requestCallback<_stdchk_v1_ReserveReply__Output>): grpc.ClientUnaryCall;
  
  SetAttr(argument: _stdchk_v1_SetAttrRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  SetAttr(argument: _stdchk_v1_SetAttrRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  SetAttr(argument: _stdchk_v1_SetAttrRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  SetAttr(argument: _stdchk_v1_SetAttrRequest, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  setAttr(argument: _stdchk_v1_SetAttrRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  setAttr(argument: _stdchk_v1_SetAttrRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  setAttr(argument: _stdchk_v1_SetAttrRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  setAttr(argument: _stdchk_v1_SetAttrRequest, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  
  Stat(argument: _stdchk_v1_PathRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  Stat(argument: _stdchk_v1_PathRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  Stat(argument: _stdchk_v1_PathRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  Stat(argument: _stdchk_v1_PathRequest, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  stat(argument: _stdchk_v1_PathRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  stat(argument: _stdchk_v1_PathRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  stat(argument: _stdchk_v1_PathRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  stat(argument: _stdchk_v1_PathRequest, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  
  Status(argument: _stdchk_v1_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  Status(argument: _stdchk_v1_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  Status(argument: _stdchk_v1_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  Status(argument: _stdchk_v1_Empty, callback: grpc.requestCallback<_stdchk_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  status(argument: _stdchk_v1_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  status(argument: _stdchk_v1_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  status(argument: _stdchk_v1_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  status(argument: _stdchk_v1_Empty, callback: grpc.requestCallback<_stdchk_v1_StatusReply__Output>): grpc.ClientUnaryCall;
  
  Symlink(argument: _stdchk_v1_SymlinkRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  Symlink(argument: _stdchk_v1_SymlinkRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  Symlink(argument: _stdchk_v1_SymlinkRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  Symlink(argument: _stdchk_v1_SymlinkRequest, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  symlink(argument: _stdchk_v1_SymlinkRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  symlink(argument: _stdchk_v1_SymlinkRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  symlink(argument: _stdchk_v1_SymlinkRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  symlink(argument: _stdchk_v1_SymlinkRequest, callback: grpc.requestCallback<_stdchk_v1_FileInfo__Output>): grpc.ClientUnaryCall;
  
}

export interface ManagerHandlers extends grpc.UntypedServiceImplementation {
  AllocateTargets: grpc.handleUnaryCall<_stdchk_v1_AllocateRequest__Output, _stdchk_v1_AllocateReply>;
  
  CommitVersion: grpc.handleUnaryCall<_stdchk_v1_CommitRequest__Output, _stdchk_v1_FileInfo>;
  
  CommitVersions: grpc.handleUnaryCall<_stdchk_v1_CommitBatchRequest__Output, _stdchk_v1_CommitBatchReply>;
  
  Create: grpc.handleUnaryCall<_stdchk_v1_CreateRequest__Output, _stdchk_v1_FileInfo>;
  
  Heartbeat: grpc.handleUnaryCall<_stdchk_v1_HeartbeatRequest__Output, _stdchk_v1_HeartbeatReply>;
  
  Link: grpc.handleUnaryCall<_stdchk_v1_LinkRequest__Output, _stdchk_v1_FileInfo>;
  
  List: grpc.handleUnaryCall<_stdchk_v1_PathRequest__Output, _stdchk_v1_ListReply>;
  
  LocateChunks: grpc.handleUnaryCall<_stdchk_v1_LocateRequest__Output, _stdchk_v1_LocateReply>;
  
  Mkdir: grpc.handleUnaryCall<_stdchk_v1_MkdirRequest__Output, _stdchk_v1_FileInfo>;
  
  Mknod: grpc.handleUnaryCall<_stdchk_v1_MknodRequest__Output, _stdchk_v1_FileInfo>;
  
  OpenVersion: grpc.handleUnaryCall<_stdchk_v1_OpenVersionRequest__Output, _stdchk_v1_OpenVersionReply>;
  
  PrepareChunks: grpc.handleUnaryCall<_stdchk_v1_PrepareRequest__Output, _stdchk_v1_PrepareReply>;
  
  RegisterBenefactor: grpc.handleUnaryCall<_stdchk_v1_RegisterRequest__Output, _stdchk_v1_RegisterReply>;
  
  ReleaseLeases: grpc.handleUnaryCall<_stdchk_v1_LeasesRequest__Output, _stdchk_v1_Empty>;
  
  Remove: grpc.handleUnaryCall<_stdchk_v1_RemoveRequest__Output, _stdchk_v1_Empty>;
  
  Rename: grpc.handleUnaryCall<_stdchk_v1_RenameRequest__Output, _stdchk_v1_Empty>;
  
  RenewLeases: grpc.handleUnaryCall<_stdchk_v1_LeasesRequest__Output, _stdchk_v1_Empty>;
  
  ReportInventory: grpc.handleClientStreamingCall<_stdchk_v1_InventoryPart__Output, _stdchk_v1_InventoryReply>;
  
  ReportStored: grpc.handleUnaryCall<_stdchk_v1_ReportStoredRequest__Output, _stdchk_v1_Empty>;
  
  ReserveInodes: grpc.handleUnaryCall<_stdchk_v1_ReserveInodesRequest__Output, _stdchk_v1_ReserveInodesReply>;
  
  ReserveSpace: grpc.handleUnaryCall<_stdchk_v1_ReserveRequest__Output, _stdchk_v1_ReserveReply>;
  
  SetAttr: grpc.handleUnaryCall<_stdchk_v1_SetAttrRequest__Output, _stdchk_v1_FileInfo>;
  
  Stat: grpc.handleUnaryCall<_stdchk_v1_PathRequest__Output, _stdchk_v1_FileInfo>;
  
  Status: grpc.handleUnaryCall<_stdchk_v1_Empty__Output, _stdchk_v1_StatusReply>;
  
  Symlink: grpc.handleUnaryCall<_stdchk_v1_SymlinkRequest__Output, _stdchk_v1_FileInfo>;
  
}

export interface ManagerDefinition extends grpc.ServiceDefinition {
  AllocateTargets: MethodDefinition<_stdchk_v1_AllocateRequest, _stdchk_v1_AllocateReply, _stdchk_v1_AllocateRequest__Output, _stdchk_v1_AllocateReply__Output>
  CommitVersion: MethodDefinition<_stdchk_v1_CommitRequest, _stdchk_v1_FileInfo, _stdchk_v1_CommitRequest__Output, _stdchk_v1_FileInfo__Output>
  CommitVersions: MethodDefinition<_stdchk_v1_CommitBatchRequest, _stdchk_v1_CommitBatchReply, _stdchk_v1_CommitBatchRequest__Output, _stdchk_v1_CommitBatchReply__Output>
  Create: MethodDefinition<_stdchk_v1_CreateRequest, _stdchk_v1_FileInfo, _stdchk_v1_CreateRequest__Output, _stdchk_v1_FileInfo__Output>
  Heartbeat: MethodDefinition<_stdchk_v1_HeartbeatRequest, _stdchk_v1_HeartbeatReply, _stdchk_v1_HeartbeatRequest__Output, _stdchk_v1_HeartbeatReply__Output>
  Link: MethodDefinition<_stdchk_v1_LinkRequest, _stdchk_v1_FileInfo, _stdchk_v1_LinkRequest__Output, _stdchk_v1_FileInfo__Output>
  List: MethodDefinition<_stdchk_v1_PathRequest, _stdchk_v1_ListReply, _stdchk_v1_PathRequest__Output, _stdchk_v1_ListReply__Output>
  LocateChunks: MethodDefinition<_stdchk_v1_LocateRequest, _stdchk_v1_LocateReply, _stdchk_v1_LocateRequest__Output, _stdchk_v1_LocateReply__Output>
  Mkdir: MethodDefinition<_stdchk_v1_MkdirRequest, _stdchk_v1_FileInfo, _stdchk_v1_MkdirRequest__Output, _stdchk_v1_FileInfo__Output>
  Mknod: MethodDefinition<_stdchk_v1_MknodRequest, _stdchk_v1_FileInfo, _stdchk_v1_MknodRequest__Output, _stdchk_v1_FileInfo__Output>
  OpenVersion: MethodDefinition<_stdchk_v1_OpenVersionRequest, _stdchk_v1_OpenVersionReply, _stdchk_v1_OpenVersionRequest__Output, _stdchk_v1_OpenVersionReply__Output>
  PrepareChunks: MethodDefinition<_stdchk_v1_PrepareRequest, _stdchk_v1_PrepareReply, _stdchk_v1_PrepareRequest__Output, _stdchk_v1_PrepareReply__Output>
  RegisterBenefactor: MethodDefinition<_stdchk_v1_RegisterRequest, _stdchk_v1_RegisterReply, _stdchk_v1_RegisterRequest__Output, _stdchk_v1_RegisterReply__Output>
  ReleaseLeases: MethodDefinition<_stdchk_v1_LeasesRequest, _stdchk_v1_Empty, _stdchk_v1_LeasesRequest__Output, _stdchk_v1_Empty__Output>
  Remove: MethodDefinition<_stdchk_v1_RemoveRequest, _stdchk_v1_Empty, _stdchk_v1_RemoveRequest__Output, _stdchk_v1_Empty__Output>
  Rename: MethodDefinition<_stdchk_v1_RenameRequest, _stdchk_v1_Empty, _stdchk_v1_RenameRequest__Output, _stdchk_v1_Empty__Output>
  RenewLeases: MethodDefinition<_stdchk_v1_LeasesRequest, _stdchk_v1_Empty, _stdchk_v1_LeasesRequest__Output, _stdchk_v1_Empty__Output>
  ReportInventory: MethodDefinition<_stdchk_v1_InventoryPart, _stdchk_v1_InventoryReply, _stdchk_v1_InventoryPart__Output, _stdchk_v1_InventoryReply__Output>
  ReportStored: MethodDefinition<_stdchk_v1_ReportStoredRequest, _stdchk_v1_Empty, _stdchk_v1_ReportStoredRequest__Output, _stdchk_v1_Empty__Output>
  ReserveInodes: MethodDefinition<_stdchk_v1_ReserveInodesRequest, _stdchk_v1_ReserveInodesReply, _stdchk_v1_ReserveInodesRequest__Output, _stdchk_v1_ReserveInodesReply__Output>
  ReserveSpace: MethodDefinition<_stdchk_v1_ReserveRequest, _stdchk_v1_ReserveReply, _stdchk_v1_ReserveRequest__Output, _stdchk_v1_ReserveReply__Output>
  SetAttr: MethodDefinition<_stdchk_v1_SetAttrRequest, _stdchk_v1_FileInfo, _stdchk_v1_SetAttrRequest__Output, _stdchk_v1_FileInfo__Output>
  Stat: MethodDefinition<_stdchk_v1_PathRequest, _stdchk_v1_FileInfo, _stdchk_v1_PathRequest__Output, _stdchk_v1_FileInfo__Output>
  Status: MethodDefinition<_stdchk_v1_Empty, _stdchk_v1_StatusReply, _stdchk_v1_Empty__Output, _stdchk_v1_StatusReply__Output>
  Symlink: MethodDefinition<_stdchk_v1_SymlinkRequest, _stdchk_v1_FileInfo, _stdchk_v1_SymlinkRequest__Output, _stdchk_v1_FileInfo__Output>
}
