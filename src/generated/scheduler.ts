import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Assignment as _stdchk_v1_Assignment, Assignment__Output as _stdchk_v1_Assignment__Output } from './stdchk/v1/Assignment';
import type { BeginCheckpointReply as _stdchk_v1_BeginCheckpointReply, BeginCheckpointReply__Output as _stdchk_v1_BeginCheckpointReply__Output } from './stdchk/v1/BeginCheckpointReply';
import type { BeginCheckpointRequest as _stdchk_v1_BeginCheckpointRequest, BeginCheckpointRequest__Output as _stdchk_v1_BeginCheckpointRequest__Output } from './stdchk/v1/BeginCheckpointRequest';
import type { BenefactorRef as _stdchk_v1_BenefactorRef, BenefactorRef__Output as _stdchk_v1_BenefactorRef__Output } from './stdchk/v1/BenefactorRef';
import type { CheckpointInfo as _stdchk_v1_CheckpointInfo, CheckpointInfo__Output as _stdchk_v1_CheckpointInfo__Output } from './stdchk/v1/CheckpointInfo';
import type { DeregisterWorkerRequest as _stdchk_v1_DeregisterWorkerRequest, DeregisterWorkerRequest__Output as _stdchk_v1_DeregisterWorkerRequest__Output } from './stdchk/v1/DeregisterWorkerRequest';
import type { Empty as _stdchk_v1_Empty, Empty__Output as _stdchk_v1_Empty__Output } from './stdchk/v1/Empty';
import type { IntervalInfo as _stdchk_v1_IntervalInfo, IntervalInfo__Output as _stdchk_v1_IntervalInfo__Output } from './stdchk/v1/IntervalInfo';
import type { JobLogsReply as _stdchk_v1_JobLogsReply, JobLogsReply__Output as _stdchk_v1_JobLogsReply__Output } from './stdchk/v1/JobLogsReply';
import type { JobLogsRequest as _stdchk_v1_JobLogsRequest, JobLogsRequest__Output as _stdchk_v1_JobLogsRequest__Output } from './stdchk/v1/JobLogsRequest';
import type { JobRef as _stdchk_v1_JobRef, JobRef__Output as _stdchk_v1_JobRef__Output } from './stdchk/v1/JobRef';
import type { JobStatus as _stdchk_v1_JobStatus, JobStatus__Output as _stdchk_v1_JobStatus__Output } from './stdchk/v1/JobStatus';
import type { ListJobsReply as _stdchk_v1_ListJobsReply, ListJobsReply__Output as _stdchk_v1_ListJobsReply__Output } from './stdchk/v1/ListJobsReply';
import type { ListJobsRequest as _stdchk_v1_ListJobsRequest, ListJobsRequest__Output as _stdchk_v1_ListJobsRequest__Output } from './stdchk/v1/ListJobsRequest';
import type { ListWorkersReply as _stdchk_v1_ListWorkersReply, ListWorkersReply__Output as _stdchk_v1_ListWorkersReply__Output } from './stdchk/v1/ListWorkersReply';
import type { RegisterWorkerReply as _stdchk_v1_RegisterWorkerReply, RegisterWorkerReply__Output as _stdchk_v1_RegisterWorkerReply__Output } from './stdchk/v1/RegisterWorkerReply';
import type { RegisterWorkerRequest as _stdchk_v1_RegisterWorkerRequest, RegisterWorkerRequest__Output as _stdchk_v1_RegisterWorkerRequest__Output } from './stdchk/v1/RegisterWorkerRequest';
import type { ReportCheckpointRequest as _stdchk_v1_ReportCheckpointRequest, ReportCheckpointRequest__Output as _stdchk_v1_ReportCheckpointRequest__Output } from './stdchk/v1/ReportCheckpointRequest';
import type { ReportJobExitRequest as _stdchk_v1_ReportJobExitRequest, ReportJobExitRequest__Output as _stdchk_v1_ReportJobExitRequest__Output } from './stdchk/v1/ReportJobExitRequest';
import type { ReportJobStartedRequest as _stdchk_v1_ReportJobStartedRequest, ReportJobStartedRequest__Output as _stdchk_v1_ReportJobStartedRequest__Output } from './stdchk/v1/ReportJobStartedRequest';
import type { RestoreInfo as _stdchk_v1_RestoreInfo, RestoreInfo__Output as _stdchk_v1_RestoreInfo__Output } from './stdchk/v1/RestoreInfo';
import type { SchedulerClient as _stdchk_v1_SchedulerClient, SchedulerDefinition as _stdchk_v1_SchedulerDefinition } from './stdchk/v1/Scheduler';
import type { SubmitJobRequest as _stdchk_v1_SubmitJobRequest, SubmitJobRequest__Output as _stdchk_v1_SubmitJobRequest__Output } from './stdchk/v1/SubmitJobRequest';
import type { WorkerHeartbeatReply as _stdchk_v1_WorkerHeartbeatReply, WorkerHeartbeatReply__Output as _stdchk_v1_WorkerHeartbeatReply__Output } from './stdchk/v1/WorkerHeartbeatReply';
import type { WorkerHeartbeatRequest as _stdchk_v1_WorkerHeartbeatRequest, WorkerHeartbeatRequest__Output as _stdchk_v1_WorkerHeartbeatRequest__Output } from './stdchk/v1/WorkerHeartbeatRequest';
import type { WorkerInfo as _stdchk_v1_WorkerInfo, WorkerInfo__Output as _stdchk_v1_WorkerInfo__Output } from './stdchk/v1/WorkerInfo';
import type { WorkerJob as _stdchk_v1_WorkerJob, WorkerJob__Output as _stdchk_v1_WorkerJob__Output } from './stdchk/v1/WorkerJob';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  stdchk: {
    v1: {
      Assignment: MessageTypeDefinition<_stdchk_v1_Assignment, _stdchk_v1_Assignment__Output>
      BeginCheckpointReply: MessageTypeDefinition<_stdchk_v1_BeginCheckpointReply, _stdchk_v1_BeginCheckpointReply__Output>
      BeginCheckpointRequest: MessageTypeDefinition<_stdchk_v1_BeginCheckpointRequest, _stdchk_v1_BeginCheckpointRequest__Output>
      BenefactorRef: MessageTypeDefinition<_stdchk_v1_BenefactorRef, _stdchk_v1_BenefactorRef__Output>
      CheckpointInfo: MessageTypeDefinition<_stdchk_v1_CheckpointInfo, _stdchk_v1_CheckpointInfo__Output>
      DeregisterWorkerRequest: MessageTypeDefinition<_stdchk_v1_DeregisterWorkerRequest, _stdchk_v1_DeregisterWorkerRequest__Output>
      Empty: MessageTypeDefinition<_stdchk_v1_Empty, _stdchk_v1_Empty__Output>
      IntervalInfo: MessageTypeDefinition<_stdchk_v1_IntervalInfo, _stdchk_v1_IntervalInfo__Output>
      JobActivity: EnumTypeDefinition
      JobLogsReply: MessageTypeDefinition<_stdchk_v1_JobLogsReply, _stdchk_v1_JobLogsReply__Output>
      JobLogsRequest: MessageTypeDefinition<_stdchk_v1_JobLogsRequest, _stdchk_v1_JobLogsRequest__Output>
      JobRef: MessageTypeDefinition<_stdchk_v1_JobRef, _stdchk_v1_JobRef__Output>
      JobState: EnumTypeDefinition
      JobStatus: MessageTypeDefinition<_stdchk_v1_JobStatus, _stdchk_v1_JobStatus__Output>
      ListJobsReply: MessageTypeDefinition<_stdchk_v1_ListJobsReply, _stdchk_v1_ListJobsReply__Output>
      ListJobsRequest: MessageTypeDefinition<_stdchk_v1_ListJobsRequest, _stdchk_v1_ListJobsRequest__Output>
      ListWorkersReply: MessageTypeDefinition<_stdchk_v1_ListWorkersReply, _stdchk_v1_ListWorkersReply__Output>
      RegisterWorkerReply: MessageTypeDefinition<_stdchk_v1_RegisterWorkerReply, _stdchk_v1_RegisterWorkerReply__Output>
      RegisterWorkerRequest: MessageTypeDefinition<_stdchk_v1_RegisterWorkerRequest, _stdchk_v1_RegisterWorkerRequest__Output>
      ReportCheckpointRequest: MessageTypeDefinition<_stdchk_v1_ReportCheckpointRequest, _stdchk_v1_ReportCheckpointRequest__Output>
      ReportJobExitRequest: MessageTypeDefinition<_stdchk_v1_ReportJobExitRequest, _stdchk_v1_ReportJobExitRequest__Output>
      ReportJobStartedRequest: MessageTypeDefinition<_stdchk_v1_ReportJobStartedRequest, _stdchk_v1_ReportJobStartedRequest__Output>
      RestoreInfo: MessageTypeDefinition<_stdchk_v1_RestoreInfo, _stdchk_v1_RestoreInfo__Output>
      Scheduler: SubtypeConstructor<typeof grpc.Client, _stdchk_v1_SchedulerClient> & { service: _stdchk_v1_SchedulerDefinition }
      SubmitJobRequest: MessageTypeDefinition<_stdchk_v1_SubmitJobRequest, _stdchk_v1_SubmitJobRequest__Output>
      WorkerHeartbeatReply: MessageTypeDefinition<_stdchk_v1_WorkerHeartbeatReply, _stdchk_v1_WorkerHeartbeatReply__Output>
      WorkerHeartbeatRequest: MessageTypeDefinition<_stdchk_v1_WorkerHeartbeatRequest, _stdchk_v1_WorkerHeartbeatRequest__Output>
      WorkerInfo: MessageTypeDefinition<_stdchk_v1_WorkerInfo, _stdchk_v1_WorkerInfo__Output>
      WorkerJob: MessageTypeDefinition<_stdchk_v1_WorkerJob, _stdchk_v1_WorkerJob__Output>
      WorkerJobPhase: EnumTypeDefinition
    }
  }
}

