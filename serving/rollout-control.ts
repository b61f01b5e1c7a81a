// The typed client API of staged rollouts, for services and the CLI: start one (idempotent per
// candidate), read its state, steer it (pause, resume, abort, approve), and roll the champion back.
import { type Client, type WorkflowHandle, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { rollbackToPreviousChampion, type ChampionRollback } from '../lineage/routing';
import type { Database } from '../lineage/schema';
import { CandidateVersion, ModelName } from '../workflows/search-attributes';
import { ORCHESTRATION_QUEUE } from '../workflows/task-queues';
import {
  abortRolloutUpdate,
  approveRolloutUpdate,
  pauseRolloutUpdate,
  resumeRolloutUpdate,
  rolloutStateQuery,
  type RolloutInput,
  type RolloutState,
  type rolloutWorkflow,
} from '../workflows/rollout';

export type RolloutHandle = WorkflowHandle<typeof rolloutWorkflow>;

export interface RolloutRequest {
  model: string;
  candidateVersionId: string;
  /** Overrides the model spec's rollout section. */
  rollout?: unknown;
  pipelineRunId?: string | null;
  taskQueue?: string;
}

/** rollout/<model>/<candidate version id>: one rollout per candidate at a time. */
export function rolloutWorkflowId(model: string, candidateVersionId: string): string {
  return `rollout/${model}/${candidateVersionId}`;
}

/** Starts the rollout, or returns the running one for the same candidate. */
export async function startRollout(client: Client, request: RolloutRequest): Promise<RolloutHandle> {
  const workflowId = rolloutWorkflowId(request.model, request.candidateVersionId);
  const input: RolloutInput = { modelName: request.model, candidateVersionId: request.candidateVersionId, rollout: request.rollout, pipelineRunId: request.pipelineRunId ?? null };
  try {
    return await client.workflow.start<typeof rolloutWorkflow>('rolloutWorkflow', {
      taskQueue: request.taskQueue ?? ORCHESTRATION_QUEUE,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: ModelName, value: request.model },
        { key: CandidateVersion, value: request.candidateVersionId },
      ],
      staticSummary: `roll out ${request.candidateVersionId}`,
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle<typeof rolloutWorkflow>(workflowId);
    throw error;
  }
}

export function rolloutHandle(client: Client, model: string, candidateVersionId: string): RolloutHandle {
  return client.workflow.getHandle<typeof rolloutWorkflow>(rolloutWorkflowId(model, candidateVersionId));
}

export function getRolloutState(handle: RolloutHandle): Promise<RolloutState> {
  return handle.query(rolloutStateQuery);
}

/** Holds the rollout at its current step (guardrails keep running and can still roll back). */
export function pauseRollout(handle: RolloutHandle, reason?: string): Promise<RolloutState> {
  return handle.executeUpdate(pauseRolloutUpdate, { args: [reason ?? 'paused by an operator'] });
}

export function resumeRollout(handle: RolloutHandle): Promise<RolloutState> {
  return handle.executeUpdate(resumeRolloutUpdate, { args: [] });
}

/** Ends the rollout now: the candidate's routes end, all traffic returns to the champion. */
export function abortRollout(handle: RolloutHandle, reason: string): Promise<RolloutState> {
  return handle.executeUpdate(abortRolloutUpdate, { args: [reason] });
}

/** Advances the current step now, or gives the final go-ahead when the spec asks for manual approval. */
export function approveRollout(handle: RolloutHandle, note?: string): Promise<RolloutState> {
  return handle.executeUpdate(approveRolloutUpdate, { args: [note ?? 'approved by an operator'] });
}

/** The previous champion serves again; see lineage/routing.ts rollbackToPreviousChampion. */
export function rollbackChampion(db: Kysely<Database>, model: string, reason: string): Promise<ChampionRollback> {
  return rollbackToPreviousChampion(db, model, reason);
}
