export { GatewayClient, type GatewayClientOptions, type GatewayClientStats } from './gateway-client';
export {
  GatewayCallError,
  type GatewayErrorCode,
  type GatewayErrorInit,
  GatewayRequestError,
  GatewaySelectError,
} from './errors';
export type {
  ApiType,
  AttemptReport,
  CallAttempt,
  CallContext,
  CallDefaults,
  CallOptions,
  InstanceStatus,
  OutcomeClass,
  SelectedInstance,
  Usage,
} from './types';
export type { FailOpenOptions } from './fail-open';
export type { ReportErrorHandler, ReportQueueOptions, ReportStats } from './report-queue';
export type { InstanceRef, Registration, SyncInstance, SyncOptions, SyncResult } from './sync';
export { anthropicUsage, openAIUsage, usageFromBody, usageFromResponse } from './usage';
export {
  type Metered,
  type MeteredStream,
  type MeterOptions,
  type StreamMetrics,
  carriesOutput,
  meterStream,
} from './streaming';
export { classifyStatus, retryAfterMs } from './outcome';
export { createGatewayApi, type GatewayApi, type GatewayApiOptions } from './client';
export type { components, paths } from './generated/schema';
