// Original file: proto/scheduler.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { BeginCheckpointReply as _stdchk_v1_BeginCheckpointReply, BeginCheckpointReply__Output as _stdchk_v1_BeginCheckpointReply__Output } from '../../stdchk/v1/BeginCheckpointReply';
import type { BeginCheckpointRequest as _stdchk_v1_BeginCheckpointRequest, BeginCheckpointRequest__Output as _stdchk_v1_BeginCheckpointRequest__Output } from '../../stdchk/v1/BeginCheckpointRequest';
import type { DeregisterWorkerRequest as _stdchk_v1_DeregisterWorkerRequest, DeregisterWorkerRequest__Output as _stdchk_v1_DeregisterWorkerRequest__Output } from '../../stdchk/v1/DeregisterWorkerRequest';
import type { Empty as _stdchk_v1_Empty, Empty__Output as _stdchk_v1_Empty__Output } from '../../stdchk/v1/Empty';
import type { JobLogsReply as _stdchk_v1_JobLogsReply, JobLogsReply__Output as _stdchk_v1_JobLogsReply__Output } from '../../stdchk/v1/JobLogsReply';
import type { JobLogsRequest as _stdchk_v1_JobLogsRequest, JobLogsRequest__Output as _stdchk_v1_JobLogsRequest__Output } from '../../stdchk/v1/JobLogsRequest';
import type { JobRef as _stdchk_v1_JobRef, JobRef__Output as _stdchk_v1_JobRef__Output } from '../../stdchk/v1/JobRef';
import type { JobStatus as _stdchk_v1_JobStatus, JobStatus__Output as _stdchk_v1_JobStatus__Output } from '../../stdchk/v1/JobStatus';
import type { ListJobsReply as _stdchk_v1_ListJobsReply, ListJobsReply__Output as _stdchk_v1_ListJobsReply__Output } from '../../stdchk/v1/ListJobsReply';
import type { ListJobsRequest as _stdchk_v1_ListJobsRequest, ListJobsRequest__Output as _stdchk_v1_ListJobsRequest__Output } from '../../stdchk/v1/ListJobsRequest';
import type { ListWorkersReply as _stdchk_v1_ListWorkersReply, ListWorkersReply__Output as _stdchk_v1_ListWorkersReply__Output } from '../../stdchk/v1/ListWorkersReply';
import type { RegisterWorkerReply as _stdchk_v1_RegisterWorkerReply, RegisterWorkerReply__Output as _stdchk_v1_RegisterWorkerReply__Output } from '../../stdchk/v1/RegisterWorkerReply';
import type { RegisterWorkerRequest as _stdchk_v1_RegisterWorkerRequest, RegisterWorkerRequest__Output as _stdchk_v1_RegisterWorkerRequest__Output } from '../../stdchk/v1/RegisterWorkerRequest';
import type { ReportCheckpointRequest as _stdchk_v1_ReportCheckpointRequest, ReportCheckpointRequest__Output as _stdchk_v1_ReportCheckpointRequest__Output } from '../../stdchk/v1/ReportCheckpointRequest';
import type { ReportJobExitRequest as _stdchk_v1_ReportJobExitRequest, ReportJobExitRequest__Output as _stdchk_v1_ReportJobExitRequest__Output } from '../../stdchk/v1/ReportJobExitRequest';
import type { ReportJobStartedRequest as _stdchk_v1_ReportJobStartedRequest, ReportJobStartedRequest__Output as _stdchk_v1_ReportJobStartedRequest__Output } from '../../stdchk/v1/ReportJobStartedRequest';
import type { SubmitJobRequest as _stdchk_v1_SubmitJobRequest, SubmitJobRequest__Output as _stdchk_v1_SubmitJobRequest__Output } from '../../stdchk/v1/SubmitJobRequest';
import type { WorkerHeartbeatReply as _stdchk_v1_WorkerHeartbeatReply, WorkerHeartbeatReply__Output as _stdchk_v1_WorkerHeartbeatReply__Output } from '../../stdchk/v1/WorkerHeartbeatReply';
import type { WorkerHeartbeatRequest as _stdchk_v1_WorkerHeartbeatRequest, WorkerHeartbeatRequest__Output as _stdchk_v1_WorkerHeartbeatRequest__Output } from '../../stdchk/v1/WorkerHeartbeatRequest';

export interface SchedulerClient extends grpc.Client {
  BeginCheckpoint(argument: _stdchk_v1_BeginCheckpointRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_BeginCheckpointReply__Output>): grpc.ClientUnaryCall;
  BeginCheckpoint(argument: _stdchk_v1_BeginCheckpointRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_BeginCheckpointReply__Output>): grpc.ClientUnaryCall;
  BeginCheckpoint(argument: _stdchk_v1_BeginCheckpointRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_BeginCheckpointReply__Output>): grpc.ClientUnaryCall;
  BeginCheckpoint(argument: _stdchk_v1_BeginCheckpointRequest, callback: grpc.requestCallback<_stdchk_v1_BeginCheckpointReply__Output>): grpc.ClientUnaryCall;
  beginCheckpoint(argument: _stdchk_v1_BeginCheckpointRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_BeginCheckpointReply__Output>): grpc.ClientUnaryCall;
  beginCheckpoint(argument: _stdchk_v1_BeginCheckpointRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_BeginCheckpointReply__Output>): grpc.ClientUnaryCall;
  beginCheckpoint(argument: _stdchk_v1_BeginCheckpointRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_BeginCheckpointReply__Output>): grpc.ClientUnaryCall;
  beginCheckpoint(argument: _stdchk_v1_BeginCheckpointRequest, callback: grpc.requestCallback<_stdchk_v1_BeginCheckpointReply__Output>): grpc.ClientUnaryCall;
  
  CancelJob(argument: _stdchk_v1_JobRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _stdchk_v1_JobRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _stdchk_v1_JobRef, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _stdchk_v1_JobRef, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _stdchk_v1_JobRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _stdchk_v1_JobRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _stdchk_v1_JobRef, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _stdchk_v1_JobRef, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  
  DeregisterWorker(argument: _stdchk_v1_DeregisterWorkerRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  DeregisterWorker(argument: _stdchk_v1_DeregisterWorkerRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  DeregisterWorker(argument: _stdchk_v1_DeregisterWorkerRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  DeregisterWorker(argument: _stdchk_v1_DeregisterWorkerRequest, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  deregisterWorker(argument: _stdchk_v1_DeregisterWorkerRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  deregisterWorker(argument: _stdchk_v1_DeregisterWorkerRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  deregisterWorker(argument: _stdchk_v1_DeregisterWorkerRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  deregisterWorker(argument: _stdchk_v1_DeregisterWorkerRequest, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  
  GetJob(argument: _stdchk_v1_JobRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _stdchk_v1_JobRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _stdchk_v1_JobRef, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _stdchk_v1_JobRef, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  getJob(argument: _stdchk_v1_JobRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  getJob(argument: _stdchk_v1_JobRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  getJob(argument: _stdchk_v1_JobRef, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  getJob(argument: _stdchk_v1_JobRef, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  
  JobLogs(argument: _stdchk_v1_JobLogsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_JobLogsReply__Output>): grpc.ClientUnaryCall;
  JobLogs(argument: _stdchk_v1_JobLogsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_JobLogsReply__Output>): grpc.ClientUnaryCall;
  JobLogs(argument: _stdchk_v1_JobLogsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_JobLogsReply__Output>): grpc.ClientUnaryCall;
  JobLogs(argument: _stdchk_v1_JobLogsRequest, callback: grpc.requestCallback<_stdchk_v1_JobLogsReply__Output>): grpc.ClientUnaryCall;
  jobLogs(argument: _stdchk_v1_JobLogsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_JobLogsReply__Output>): grpc.ClientUnaryCall;
  jobLogs(argument: _stdchk_v1_JobLogsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_JobLogsReply__Output>): grpc.ClientUnaryCall;
  jobLogs(argument: _stdchk_v1_JobLogsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_JobLogsReply__Output>): grpc.ClientUnaryCall;
  jobLogs(argument: _stdchk_v1_JobLogsRequest, callback: grpc.requestCallback<_stdchk_v1_JobLogsReply__Output>): grpc.ClientUnaryCall;
  
  ListJobs(argument: _stdchk_v1_ListJobsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _stdchk_v1_ListJobsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _stdchk_v1_ListJobsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _stdchk_v1_ListJobsRequest, callback: grpc.requestCallback<_stdchk_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _stdchk_v1_ListJobsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _stdchk_v1_ListJobsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _stdchk_v1_ListJobsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _stdchk_v1_ListJobsRequest, callback: grpc.requestCallback<_stdchk_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  
  ListWorkers(argument: _stdchk_v1_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ListWorkersReply__Output>): grpc.ClientUnaryCall;
  ListWorkers(argument: _stdchk_v1_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_ListWorkersReply__Output>): grpc.ClientUnaryCall;
  ListWorkers(argument: _stdchk_v1_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ListWorkersReply__Output>): grpc.ClientUnaryCall;
  ListWorkers(argument: _stdchk_v1_Empty, callback: grpc.requestCallback<_stdchk_v1_ListWorkersReply__Output>): grpc.ClientUnaryCall;
  listWorkers(argument: _stdchk_v1_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ListWorkersReply__Output>): grpc.ClientUnaryCall;
  listWorkers(argument: _stdchk_v1_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_ListWorkersReply__Output>): grpc.ClientUnaryCall;
  listWorkers(argument: _stdchk_v1_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_ListWorkersReply__Output>): grpc.ClientUnaryCall;
  listWorkers(argument: _stdchk_v1_Empty, callback: grpc.requestCallback<_stdchk_v1_ListWorkersReply__Output>): grpc.ClientUnaryCall;
  
  RegisterWorker(argument: _stdchk_v1_RegisterWorkerRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_RegisterWorkerReply__Output>): grpc.ClientUnaryCall;
  RegisterWorker(argument: _stdchk_v1_RegisterWorkerRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_RegisterWorkerReply__Output>): grpc.ClientUnaryCall;
  RegisterWorker(argument: _stdchk_v1_RegisterWorkerRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_RegisterWorkerReply__Output>): grpc.ClientUnaryCall;
  RegisterWorker(argument: _stdchk_v1_RegisterWorkerRequest, callback: grpc.requestCallback<_stdchk_v1_RegisterWorkerReply__Output>): grpc.ClientUnaryCall;
  registerWorker(argument: _stdchk_v1_RegisterWorkerRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_RegisterWorkerReply__Output>): grpc.ClientUnaryCall;
  registerWorker(argument: _stdchk_v1_RegisterWorkerRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_RegisterWorkerReply__Output>): grpc.ClientUnaryCall;
  registerWorker(argument: _stdchk_v1_RegisterWorkerRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_RegisterWorkerReply__Output>): grpc.ClientUnaryCall;
  registerWorker(argument: _stdchk_v1_RegisterWorkerRequest, callback: grpc.requestCallback<_stdchk_v1_RegisterWorkerReply__Output>): grpc.ClientUnaryCall;
  
  ReportCheckpoint(argument: _stdchk_v1_ReportCheckpointRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  ReportCheckpoint(argument: _stdchk_v1_ReportCheckpointRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  ReportCheckpoint(argument: _stdchk_v1_ReportCheckpointRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  ReportCheckpoint(argument: _stdchk_v1_ReportCheckpointRequest, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  reportCheckpoint(argument: _stdchk_v1_ReportCheckpointRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  reportCheckpoint(argument: _stdchk_v1_ReportCheckpointRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  reportCheckpoint(argument: _stdchk_v1_ReportCheckpointRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  reportCheckpoint(argument: _stdchk_v1_ReportCheckpointRequest, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  
  ReportJobExit(argument: _stdchk_v1_ReportJobExitRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  ReportJobExit(argument: _stdchk_v1_ReportJobExitRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  ReportJobExit(argument: _stdchk_v1_ReportJobExitRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  ReportJobExit(argument: _stdchk_v1_ReportJobExitRequest, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  reportJobExit(argument: _stdchk_v1_ReportJobExitRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  reportJobExit(argument: _stdchk_v1_ReportJobExitRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  reportJobExit(argument: _stdchk_v1_ReportJobExitRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  reportJobExit(argument: _stdchk_v1_ReportJobExitRequest, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  
  ReportJobStarted(argument: _stdchk_v1_ReportJobStartedRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  ReportJobStarted(argument: _stdchk_v1_ReportJobStartedRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  ReportJobStarted(argument: _stdchk_v1_ReportJobStartedRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  ReportJobStarted(argument: _stdchk_v1_ReportJobStartedRequest, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  reportJobStarted(argument: _stdchk_v1_ReportJobStartedRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  reportJobStarted(argument: _stdchk_v1_ReportJobStartedRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  reportJobStarted(argument: _stdchk_v1_ReportJobStartedRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  reportJobStarted(argument: _stdchk_v1_ReportJobStartedRequest, callback: grpc.requestCallback<_stdchk_v1_Empty__Output>): grpc.ClientUnaryCall;
  
  SubmitJob(argument: _stdchk_v1_SubmitJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  SubmitJob(argument: _stdchk_v1_SubmitJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  SubmitJob(argument: _stdchk_v1_SubmitJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  SubmitJob(argument: _stdchk_v1_SubmitJobRequest, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  submitJob(argument: _stdchk_v1_SubmitJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  submitJob(argument: _stdchk_v1_SubmitJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  submitJob(argument: _stdchk_v1_SubmitJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  submitJob(argument: _stdchk_v1_SubmitJobRequest, callback: grpc.requestCallback<_stdchk_v1_JobStatus__Output>): grpc.ClientUnaryCall;
  
  WorkerHeartbeat(argument: _stdchk_v1_WorkerHeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_WorkerHeartbeatReply__Output>): grpc.ClientUnaryCall;
  WorkerHeartbeat(argument: _stdchk_v1_WorkerHeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_WorkerHeartbeatReply__Output>): grpc.ClientUnaryCall;
  WorkerHeartbeat(argument: _stdchk_v1_WorkerHeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_WorkerHeartbeatReply__Output>): grpc.ClientUnaryCall;
  WorkerHeartbeat(argument: _stdchk_v1_WorkerHeartbeatRequest, callback: grpc.requestCallback<_stdchk_v1_WorkerHeartbeatReply__Output>): grpc.ClientUnaryCall;
  workerHeartbeat(argument: _stdchk_v1_WorkerHeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_WorkerHeartbeatReply__Output>): grpc.ClientUnaryCall;
  workerHeartbeat(argument: _stdchk_v1_WorkerHeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_stdchk_v1_WorkerHeartbeatReply__Output>): grpc.ClientUnaryCall;
  workerHeartbeat(argument: _stdchk_v1_WorkerHeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_stdchk_v1_WorkerHeartbeatReply__Output>): grpc.ClientUnaryCall;
  workerHeartbeat(argument: _stdchk_v1_WorkerHeartbeatRequest, callback: grpc.requestCallback<_stdchk_v1_WorkerHeartbeatReply__Output>): grpc.ClientUnaryCall;
  
}

export interface SchedulerHandlers extends grpc.UntypedServiceImplementation {
  BeginCheckpoint: grpc.handleUnaryCall<_stdchk_v1_BeginCheckpointRequest__Output, _stdchk_v1_BeginCheckpointReply>;
  
  CancelJob: grpc.handleUnaryCall<_stdchk_v1_JobRef__Output, _stdchk_v1_JobStatus>;
  
  DeregisterWorker: grpc.handleUnaryCall<_stdchk_v1_DeregisterWorkerRequest__Output, _stdchk_v1_Empty>;
  
  GetJob: grpc.handleUnaryCall<_stdchk_v1_JobRef__Output, _stdchk_v1_JobStatus>;
  
  JobLogs: grpc.handleUnaryCall<_stdchk_v1_JobLogsRequest__Output, _stdchk_v1_JobLogsReply>;
  
  ListJobs: grpc.handleUnaryCall<_stdchk_v1_ListJobsRequest__Output, _stdchk_v1_ListJobsReply>;
  
  ListWorkers: grpc.handleUnaryCall<_stdchk_v1_Empty__Output, _stdchk_v1_ListWorkersReply>;
  
  RegisterWorker: grpc.handleUnaryCall<_stdchk_v1_RegisterWorkerRequest__Output, _stdchk_v1_RegisterWorkerReply>;
  
  ReportCheckpoint: grpc.handleUnaryCall<_stdchk_v1_ReportCheckpointRequest__Output, _stdchk_v1_Empty>;
  
  ReportJobExit: grpc.handleUnaryCall<_stdchk_v1_ReportJobExitRequest__Output, _stdchk_v1_Empty>;
  
  ReportJobStarted: grpc.handleUnaryCall<_stdchk_v1_ReportJobStartedRequest__Output, _stdchk_v1_Empty>;
  
  SubmitJob: grpc.handleUnaryCall<_stdchk_v1_SubmitJobRequest__Output, _stdchk_v1_JobStatus>;
  
  WorkerHeartbeat: grpc.handleUnaryCall<_stdchk_v1_WorkerHeartbeatRequest__Output, _stdchk_v1_WorkerHeartbeatReply>;
  
}

export interface SchedulerDefinition extends grpc.ServiceDefinition {
  BeginCheckpoint: MethodDefinition<_stdchk_v1_BeginCheckpointRequest, _stdchk_v1_BeginCheckpointReply, _stdchk_v1_BeginCheckpointRequest__Output, _stdchk_v1_BeginCheckpointReply__Output>
  CancelJob: MethodDefinition<_stdchk_v1_JobRef, _stdchk_v1_JobStatus, _stdchk_v1_JobRef__Output, _stdchk_v1_JobStatus__Output>
  DeregisterWorker: MethodDefinition<_stdchk_v1_DeregisterWorkerRequest, _stdchk_v1_Empty, _stdchk_v1_DeregisterWorkerRequest__Output, _stdchk_v1_Empty__Output>
  GetJob: MethodDefinition<_stdchk_v1_JobRef, _stdchk_v1_JobStatus, _stdchk_v1_JobRef__Output, _stdchk_v1_JobStatus__Output>
  JobLogs: MethodDefinition<_stdchk_v1_JobLogsRequest, _stdchk_v1_JobLogsReply, _stdchk_v1_JobLogsRequest__Output, _stdchk_v1_JobLogsReply__Output>
  ListJobs: MethodDefinition<_stdchk_v1_ListJobsRequest, _stdchk_v1_ListJobsReply, _stdchk_v1_ListJobsRequest__Output, _stdchk_v1_ListJobsReply__Output>
  ListWorkers: MethodDefinition<_stdchk_v1_Empty, _stdchk_v1_ListWorkersReply, _stdchk_v1_Empty__Output, _stdchk_v1_ListWorkersReply__Output>
  RegisterWorker: MethodDefinition<_stdchk_v1_RegisterWorkerRequest, _stdchk_v1_RegisterWorkerReply, _stdchk_v1_RegisterWorkerRequest__Output, _stdchk_v1_RegisterWorkerReply__Output>
  ReportCheckpoint: MethodDefinition<_stdchk_v1_ReportCheckpointRequest, _stdchk_v1_Empty, _stdchk_v1_ReportCheckpointRequest__Output, _stdchk_v1_Empty__Output>
  ReportJobExit: MethodDefinition<_stdchk_v1_ReportJobExitRequest, _stdchk_v1_Empty, _stdchk_v1_ReportJobExitRequest__Output, _stdchk_v1_Empty__Output>
  ReportJobStarted: MethodDefinition<_stdchk_v1_ReportJobStartedRequest, _stdchk_v1_Empty, _stdchk_v1_ReportJobStartedRequest__Output, _stdchk_v1_Empty__Output>
  SubmitJob: MethodDefinition<_stdchk_v1_SubmitJobRequest, _stdchk_v1_JobStatus, _stdchk_v1_SubmitJobRequest__Output, _stdchk_v1_JobStatus__Output>
  WorkerHeartbeat: MethodDefinition<_stdchk_v1_WorkerHeartbeatRequest, _stdchk_v1_WorkerHeartbeatReply, _stdchk_v1_WorkerHeartbeatRequest__Output, _stdchk_v1_WorkerHeartbeatReply__Output>
}
