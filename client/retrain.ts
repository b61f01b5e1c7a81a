// Starting the retrain DAG from any service: meaningful, idempotent workflow ids
// (retrain/<model>/<key>) and the search attributes the Temporal UI filters on.
import { type Client, type WorkflowHandle, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { ModelName, TriggerReason } from '../workflows/search-attributes';
import { ORCHESTRATION_QUEUE } from '../workflows/task-queues';
import type { RetrainInput } from '../workflows/types';
import type { retrainWorkflow } from '../workflows/retrain';

export interface RetrainRequest {
  model: string;
  trigger?: string;
  /** End of the data window (ISO 8601); default now. */
  referenceTime?: string;
  /** Same key → same workflow id → the existing run is returned instead of a second one. */
  idempotencyKey?: string;
  /** Train from scratch even where the model's stage would warm-start (same as mode: 'stateless'). */
  forceStateless?: boolean;
  /**
   * 'stateless': a full retrain from scratch. 'stateful': warm-start from the champion on the data
   * since its high-water mark, even below stage 3 (no champion, a model iteration or a due
   * recalibration still train from scratch; the result's planReason says why). Unset: the stage decides.
   */
  mode?: 'stateless' | 'stateful';
}

export type RetrainHandle = WorkflowHandle<typeof retrainWorkflow>;

export function retrainWorkflowId(model: string, key: string): string {
  return `retrain/${model}/${key}`;
}

export async function startRetrain(client: Client, request: RetrainRequest): Promise<RetrainHandle> {
  const trigger = request.trigger ?? 'manual';
  if (request.referenceTime !== undefined && Number.isNaN(new Date(request.referenceTime).getTime())) {
    throw new Error(`referenceTime "${request.referenceTime}" is not an ISO 8601 time (e.g. 2026-01-31T00:00:00Z)`);
  }
  if (request.mode !== undefined && request.mode !== 'stateless' && request.mode !== 'stateful') {
    throw new Error(`mode "${String(request.mode)}" is not a training mode: use "stateless" or "stateful" (or leave it unset for the stage's choice)`);
  }
  if (request.mode === 'stateful' && request.forceStateless) throw new Error('mode "stateful" contradicts forceStateless: pass one of them');
  const key = request.idempotencyKey ?? request.referenceTime ?? new Date().toISOString();
  const input: RetrainInput = {
    modelName: request.model,
    trigger,
    referenceTime: request.referenceTime,
    forceStateless: request.forceStateless,
    ...(request.mode ? { mode: request.mode } : {}),
  };
  const workflowId = retrainWorkflowId(request.model, key);
  try {
    return await client.workflow.start<typeof retrainWorkflow>('retrainWorkflow', {
    taskQueue: ORCHESTRATION_QUEUE,
    workflowId,
    args: [input],
    // A second start with the same key attaches to the running or finished run.
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: [
      { key: ModelName, value: request.model },
      { key: TriggerReason, value: trigger },
    ],
    staticSummary: `retrain ${request.model} (${trigger})`,
    });
  } catch (error) {
    // The same key already ran to completion: hand back that run rather than a second one.
    if (error instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle<typeof retrainWorkflow>(workflowId);
    throw error;
  }
}
