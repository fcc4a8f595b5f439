import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AllocateReply as _stdchk_v1_AllocateReply, AllocateReply__Output as _stdchk_v1_AllocateReply__Output } from './stdchk/v1/AllocateReply';
import type { AllocateRequest as _stdchk_v1_AllocateRequest, AllocateRequest__Output as _stdchk_v1_AllocateRequest__Output } from './stdchk/v1/AllocateRequest';
import type { BenefactorRef as _stdchk_v1_BenefactorRef, BenefactorRef__Output as _stdchk_v1_BenefactorRef__Output } from './stdchk/v1/BenefactorRef';
import type { BenefactorStatus as _stdchk_v1_BenefactorStatus, BenefactorStatus__Output as _stdchk_v1_BenefactorStatus__Output } from './stdchk/v1/BenefactorStatus';
import type { ChunkLocations as _stdchk_v1_ChunkLocations, ChunkLocations__Output as _stdchk_v1_ChunkLocations__Output } from './stdchk/v1/ChunkLocations';
import type { Command as _stdchk_v1_Command, Command__Output as _stdchk_v1_Command__Output } from './stdchk/v1/Command';
import type { CommitBatchReply as _stdchk_v1_CommitBatchReply, CommitBatchReply__Output as _stdchk_v1_CommitBatchReply__Output } from './stdchk/v1/CommitBatchReply';
import type { CommitBatchRequest as _stdchk_v1_CommitBatchRequest, CommitBatchRequest__Output as _stdchk_v1_CommitBatchRequest__Output } from './stdchk/v1/CommitBatchRequest';
import type { CommitRequest as _stdchk_v1_CommitRequest, CommitRequest__Output as _stdchk_v1_CommitRequest__Output } from './stdchk/v1/CommitRequest';
import type { CommitResult as _stdchk_v1_CommitResult, CommitResult__Output as _stdchk_v1_CommitResult__Output } from './stdchk/v1/CommitResult';
import type { CreateRequest as _stdchk_v1_CreateRequest, CreateRequest__Output as _stdchk_v1_CreateRequest__Output } from './stdchk/v1/CreateRequest';
import type { DeleteCommand as _stdchk_v1_DeleteCommand, DeleteCommand__Output as _stdchk_v1_DeleteCommand__Output } from './stdchk/v1/DeleteCommand';
import type { Empty as _stdchk_v1_Empty, Empty__Output as _stdchk_v1_Empty__Output } from './stdchk/v1/Empty';
import type { FileInfo as _stdchk_v1_FileInfo, FileInfo__Output as _stdchk_v1_FileInfo__Output } from './stdchk/v1/FileInfo';
import type { HeartbeatReply as _stdchk_v1_HeartbeatReply, HeartbeatReply__Output as _stdchk_v1_HeartbeatReply__Output } from './stdchk/v1/HeartbeatReply';
import type { HeartbeatRequest as _stdchk_v1_HeartbeatRequest, HeartbeatRequest__Output as _stdchk_v1_HeartbeatRequest__Output } from './stdchk/v1/HeartbeatRequest';
import type { InventoryPart as _stdchk_v1_InventoryPart, InventoryPart__Output as _stdchk_v1_InventoryPart__Output } from './stdchk/v1/InventoryPart';
import type { InventoryReply as _stdchk_v1_InventoryReply, InventoryReply__Output as _stdchk_v1_InventoryReply__Output } from './stdchk/v1/InventoryReply';
import type { LeasesRequest as _stdchk_v1_LeasesRequest, LeasesRequest__Output as _stdchk_v1_LeasesRequest__Output } from './stdchk/v1/LeasesRequest';
import type { LinkRequest as _stdchk_v1_LinkRequest, LinkRequest__Output as _stdchk_v1_LinkRequest__Output } from './stdchk/v1/LinkRequest';
import type { ListReply as _stdchk_v1_ListReply, ListReply__Output as _stdchk_v1_ListReply__Output } from './stdchk/v1/ListReply';
import type { LocateReply as _stdchk_v1_LocateReply, LocateReply__Output as _stdchk_v1_LocateReply__Output } from './stdchk/v1/LocateReply';
import type { LocateRequest as _stdchk_v1_LocateRequest, LocateRequest__Output as _stdchk_v1_LocateRequest__Output } from './stdchk/v1/LocateRequest';
import type { ManagerClient as _stdchk_v1_ManagerClient, ManagerDefinition as _stdchk_v1_ManagerDefinition } from './stdchk/v1/Manager';
import type { MkdirRequest as _stdchk_v1_MkdirRequest, MkdirRequest__Output as _stdchk_v1_MkdirRequest__Output } from './stdchk/v1/MkdirRequest';
import type { MknodRequest as _stdchk_v1_MknodRequest, MknodRequest__Output as _stdchk_v1_MknodRequest__Output } from './stdchk/v1/MknodRequest';
import type { OpenVersionReply as _stdchk_v1_OpenVersionReply, OpenVersionReply__Output as _stdchk_v1_OpenVersionReply__Output } from './stdchk/v1/OpenVersionReply';
import type { OpenVersionRequest as _stdchk_v1_OpenVersionRequest, OpenVersionRequest__Output as _stdchk_v1_OpenVersionRequest__Output } from './stdchk/v1/OpenVersionRequest';
import type { PathRequest as _stdchk_v1_PathRequest, PathRequest__Output as _stdchk_v1_PathRequest__Output } from './stdchk/v1/PathRequest';
import type { PrepareReply as _stdchk_v1_PrepareReply, PrepareReply__Output as _stdchk_v1_PrepareReply__Output } from './stdchk/v1/PrepareReply';
import type { PrepareRequest as _stdchk_v1_PrepareRequest, PrepareRequest__Output as _stdchk_v1_PrepareRequest__Output } from './stdchk/v1/PrepareRequest';
import type { RegisterReply as _stdchk_v1_RegisterReply, RegisterReply__Output as _stdchk_v1_RegisterReply__Output } from './stdchk/v1/RegisterReply';
import type { RegisterRequest as _stdchk_v1_RegisterRequest, RegisterRequest__Output as _stdchk_v1_RegisterRequest__Output } from './stdchk/v1/RegisterRequest';
import type { RemoveRequest as _stdchk_v1_RemoveRequest, RemoveRequest__Output as _stdchk_v1_RemoveRequest__Output } from './stdchk/v1/RemoveRequest';
import type { RenameRequest as _stdchk_v1_RenameRequest, RenameRequest__Output as _stdchk_v1_RenameRequest__Output } from './stdchk/v1/RenameRequest';
import type { ReplicateCommand as _stdchk_v1_ReplicateCommand, ReplicateCommand__Output as _stdchk_v1_ReplicateCommand__Output } from './stdchk/v1/ReplicateCommand';
import type { ReportStoredRequest as _stdchk_v1_ReportStoredRequest, ReportStoredRequest__Output as _stdchk_v1_ReportStoredRequest__Output } from './stdchk/v1/ReportStoredRequest';
import type { ReserveInodesReply as _stdchk_v1_ReserveInodesReply, ReserveInodesReply__Output as _stdchk_v1_ReserveInodesReply__Output } from './stdchk/v1/ReserveInodesReply';
import type { ReserveInodesRequest as _stdchk_v1_ReserveInodesRequest, ReserveInodesRequest__Output as _stdchk_v1_ReserveInodesRequest__Output } from './stdchk/v1/ReserveInodesRequest';
import type { ReserveReply as _stdchk_v1_ReserveReply, ReserveReply__Output as _stdchk_v1_ReserveReply__Output } from './stdchk/v1/ReserveReply';
import type { ReserveRequest as _stdchk_v1_ReserveRequest, ReserveRequest__Output as _stdchk_v1_ReserveRequest__Output } from './stdchk/v1/ReserveRequest';
import type { ScrubStatus as _stdchk_v1_ScrubStatus, ScrubStatus__Output as _stdchk_v1_ScrubStatus__Output } from './stdchk/v1/ScrubStatus';
import type { SetAttrRequest as _stdchk_v1_SetAttrRequest, SetAttrRequest__Output as _stdchk_v1_SetAttrRequest__Output } from './stdchk/v1/SetAttrRequest';
import type { StatusReply as _stdchk_v1_StatusReply, StatusReply__Output as _stdchk_v1_StatusReply__Output } from './stdchk/v1/StatusReply';
import type { StoredReplica as _stdchk_v1_StoredReplica, StoredReplica__Output as _stdchk_v1_StoredReplica__Output } from './stdchk/v1/StoredReplica';
import type { SymlinkRequest as _stdchk_v1_SymlinkRequest, SymlinkRequest__Output as _stdchk_v1_SymlinkRequest__Output } from './stdchk/v1/SymlinkRequest';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  stdchk: {
    v1: {
      AllocateReply: MessageTypeDefinition<_stdchk_v1_AllocateReply, _stdchk_v1_AllocateReply__Output>
      AllocateRequest: MessageTypeDefinition<_stdchk_v1_AllocateRequest, _stdchk_v1_AllocateRequest__Output>
      BenefactorRef: MessageTypeDefinition<_stdchk_v1_BenefactorRef, _stdchk_v1_BenefactorRef__Output>
      BenefactorStatus: MessageTypeDefinition<_stdchk_v1_BenefactorStatus, _stdchk_v1_BenefactorStatus__Output>
      ChunkLocations: MessageTypeDefinition<_stdchk_v1_ChunkLocations, _stdchk_v1_ChunkLocations__Output>
      Command: MessageTypeDefinition<_stdchk_v1_Command, _stdchk_v1_Command__Output>
      CommitBatchReply: MessageTypeDefinition<_stdchk_v1_CommitBatchReply, _stdchk_v1_CommitBatchReply__Output>
      CommitBatchRequest: MessageTypeDefinition<_stdchk_v1_CommitBatchRequest, _stdchk_v1_CommitBatchRequest__Output>
      CommitRequest: MessageTypeDefinition<_stdchk_v1_CommitRequest, _stdchk_v1_CommitRequest__Output>
      CommitResult: MessageTypeDefinition<_stdchk_v1_CommitResult, _stdchk_v1_CommitResult__Output>
      CreateRequest: MessageTypeDefinition<_stdchk_v1_CreateRequest, _stdchk_v1_CreateRequest__Output>
      DeleteCommand: MessageTypeDefinition<_stdchk_v1_DeleteCommand, _stdchk_v1_DeleteCommand__Output>
      Empty: MessageTypeDefinition<_stdchk_v1_Empty, _stdchk_v1_Empty__Output>
      FileInfo: MessageTypeDefinition<_stdchk_v1_FileInfo, _stdchk_v1_FileInfo__Output>
      FileType: EnumTypeDefinition
      HeartbeatReply: MessageTypeDefinition<_stdchk_v1_HeartbeatReply, _stdchk_v1_HeartbeatReply__Output>
      HeartbeatRequest: MessageTypeDefinition<_stdchk_v1_HeartbeatRequest, _stdchk_v1_HeartbeatRequest__Output>
      InventoryPart: MessageTypeDefinition<_stdchk_v1_InventoryPart, _stdchk_v1_InventoryPart__Output>
      InventoryReply: MessageTypeDefinition<_stdchk_v1_InventoryReply, _stdchk_v1_InventoryReply__Output>
      LeasesRequest: MessageTypeDefinition<_stdchk_v1_LeasesRequest, _stdchk_v1_LeasesRequest__Output>
      LinkRequest: MessageTypeDefinition<_stdchk_v1_LinkRequest, _stdchk_v1_LinkRequest__Output>
      ListReply: MessageTypeDefinition<_stdchk_v1_ListReply, _stdchk_v1_ListReply__Output>
      LocateReply: MessageTypeDefinition<_stdchk_v1_LocateReply, _stdchk_v1_LocateReply__Output>
      LocateRequest: MessageTypeDefinition<_stdchk_v1_LocateRequest, _stdchk_v1_LocateRequest__Output>
      Manager: SubtypeConstructor<typeof grpc.Client, _stdchk_v1_ManagerClient> & { service: _stdchk_v1_ManagerDefinition }
      MkdirRequest: MessageTypeDefinition<_stdchk_v1_MkdirRequest, _stdchk_v1_MkdirRequest__Output>
      MknodRequest: MessageTypeDefinition<_stdchk_v1_MknodRequest, _stdchk_v1_MknodRequest__Output>
      OpenVersionReply: MessageTypeDefinition<_stdchk_v1_OpenVersionReply, _stdchk_v1_OpenVersionReply__Output>
      OpenVersionRequest: MessageTypeDefinition<_stdchk_v1_OpenVersionRequest, _stdchk_v1_OpenVersionRequest__Output>
      PathRequest: MessageTypeDefinition<_stdchk_v1_PathRequest, _stdchk_v1_PathRequest__Output>
      PrepareReply: MessageTypeDefinition<_stdchk_v1_PrepareReply, _stdchk_v1_PrepareReply__Output>
      PrepareRequest: MessageTypeDefinition<_stdchk_v1_PrepareRequest, _stdchk_v1_PrepareRequest__Output>
      RegisterReply: MessageTypeDefinition<_stdchk_v1_RegisterReply, _stdchk_v1_RegisterReply__Output>
      RegisterRequest: MessageTypeDefinition<_stdchk_v1_RegisterRequest, _stdchk_v1_RegisterRequest__Output>
      RemoveRequest: MessageTypeDefinition<_stdchk_v1_RemoveRequest, _stdchk_v1_RemoveRequest__Output>
      RenameRequest: MessageTypeDefinition<_stdchk_v1_RenameRequest, _stdchk_v1_RenameRequest__Output>
      ReplicateCommand: MessageTypeDefinition<_stdchk_v1_ReplicateCommand, _stdchk_v1_ReplicateCommand__Output>
      ReportStoredRequest: MessageTypeDefinition<_stdchk_v1_ReportStoredRequest, _stdchk_v1_ReportStoredRequest__Output>
      ReserveInodesReply: MessageTypeDefinition<_stdchk_v1_ReserveInodesReply, _stdchk_v1_ReserveInodesReply__Output>
      ReserveInodesRequest: MessageTypeDefinition<_stdchk_v1_ReserveInodesRequest, _stdchk_v1_ReserveInodesRequest__Output>
      ReserveReply: MessageTypeDefinition<_stdchk_v1_ReserveReply, _stdchk_v1_ReserveReply__Output>
      ReserveRequest: MessageTypeDefinition<_stdchk_v1_ReserveRequest, _stdchk_v1_ReserveRequest__Output>
      ScrubStatus: MessageTypeDefinition<_stdchk_v1_ScrubStatus, _stdchk_v1_ScrubStatus__Output>
      SetAttrRequest: MessageTypeDefinition<_stdchk_v1_SetAttrRequest, _stdchk_v1_SetAttrRequest__Output>
      StatusReply: MessageTypeDefinition<_stdchk_v1_StatusReply, _stdchk_v1_StatusReply__Output>
      StoredReplica: MessageTypeDefinition<_stdchk_v1_StoredReplica, _stdchk_v1_StoredReplica__Output>
      SymlinkRequest: MessageTypeDefinition<_stdchk_v1_SymlinkRequest, _stdchk_v1_SymlinkRequest__Output>
    }
  }
}

