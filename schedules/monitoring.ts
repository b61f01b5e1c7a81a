// A model's monitoring Schedule (`monitoring-schedule/<model>`): starts monitoringWorkflow
// (workflows/monitoring.ts) every `monitoring.every` of the spec, at any maturity stage, so the
// monitoring_signals time series and the monitoring report stay current without a person running
// `flywheel monitor`. Reconciled with the model's other Temporal objects by reconcileModel
// (schedules/reconcile.ts), which creates, updates in place or removes it and undoes that on failure.
import { createHash } from 'node:crypto';
import type { ScheduleOptions } from '@temporalio/client';
import { parseDurationMs } from '../spec/data-spec';
import type { ModelSpec } from '../spec/model-spec';
import type { MonitoringWorkflowInput } from '../workflows/monitoring';
import { ModelName } from '../workflows/search-attributes';
import { ORCHESTRATION_QUEUE } from '../workflows/task-queues';

export function monitoringScheduleIdFor(model: string): string {
  return `monitoring-schedule/${model}`;
}

/** The monitoring Schedule the spec asks for; null when it asks for none. */
export function desiredMonitoringSchedule(spec: ModelSpec): ScheduleOptions | null {
  const every = spec.monitoring?.every;
  if (!every) return null;
  const input: MonitoringWorkflowInput = { modelName: spec.name };
  return {
    scheduleId: monitoringScheduleIdFor(spec.name),
    spec: { intervals: [{ every: parseDurationMs(every)! }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'monitoringWorkflow',
      taskQueue: ORCHESTRATION_QUEUE,
      // Temporal appends the scheduled time: monitor/<model>/scheduled-<time>.
      workflowId: `monitor/${spec.name}/scheduled`,
      args: [input],
      typedSearchAttributes: [{ key: ModelName, value: spec.name }],
      staticSummary: `monitoring of ${spec.name} every ${every}`,
    },
    // A window still being measured when the next is due: skip the next one; no catch-up storm after an outage.
    policies: { overlap: 'SKIP', catchupWindow: 60_000, pauseOnFailure: false },
    state: { note: `monitoring of ${spec.name} every ${every} (spec monitoring.every)` },
  };
}

export function monitoringScheduleHash(spec: ModelSpec): string {
  return createHash('sha256').update(JSON.stringify({ every: spec.monitoring?.every ?? null })).digest('hex');
}
