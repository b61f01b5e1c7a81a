// Scheduled monitoring as a workflow (started by a model's `monitoring-schedule/<model>` Schedule,
// schedules/monitoring.ts, when its spec sets monitoring.every; or by an operator): one activity,
// `computeMonitoring` (activities/monitoring.ts), compares the production window ending at the
// scheduled time with the champion's training snapshot, stores every signal in monitoring_signals
// and refreshes reports/<model>/monitoring.html. Deterministic and thin.
//
// Input (JSON): { "modelName": "ctr" }; the window ends at the scheduled time (else the start time).
import { ApplicationFailure, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { OrchestrationActivities } from '../activities';
import type { MonitoringSummary } from '../activities/monitoring';
import { FailureType, NON_RETRYABLE_FAILURES } from './failure-types';
import { ModelName, PipelineStep, TemporalScheduledStartTime } from './search-attributes';

const light = proxyActivities<OrchestrationActivities>({
  // A large window streams from the prediction log; the activity heartbeats while it reads.
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
});

export interface MonitoringWorkflowInput {
  modelName: string;
}

export async function monitoringWorkflow(input: MonitoringWorkflowInput): Promise<MonitoringSummary> {
  if (!input?.modelName || typeof input.modelName !== 'string') {
    throw ApplicationFailure.nonRetryable('monitoringWorkflow needs { "modelName": "<model>" }', FailureType.InvalidSpec);
  }
  const info = workflowInfo();
  // The window ends at the scheduled time, so a retried or delayed run measures the same rows.
  const nowIso = (info.typedSearchAttributes.get(TemporalScheduledStartTime) ?? info.startTime).toISOString();
  upsertSearchAttributes([
    { key: ModelName, value: input.modelName },
    { key: PipelineStep, value: 'monitor' },
  ]);
  const summary = await light.computeMonitoring.executeWithOptions({ summary: `monitor ${input.modelName}: production window ending ${nowIso} vs the champion's training snapshot` }, [
    { modelName: input.modelName, nowIso },
  ]);
  upsertSearchAttributes([{ key: PipelineStep, value: 'done' }]);
  return summary;
}
