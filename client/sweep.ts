// Starting the artifact sweep (workflows/sweep.ts) from the client or the CLI, on demand rather
// than waiting for the daily `artifact-sweep` Schedule. One run per request id; the result is the
// sweep's bounded summary (counts and at most 20 example paths).
import type { Client } from '@temporalio/client';
import { parseDurationMs } from '../spec/data-spec';
import { ORCHESTRATION_QUEUE } from '../workflows/task-queues';
import type { ArtifactSweepInput, ArtifactSweepResult } from '../workflows/sweep';

export interface SweepArtifactsRequest {
  /** Grace period: scratch of runs finished at least this long ago goes ("1h", "30m", "2d"); default 1h. */
  olderThan?: string;
  dryRun?: boolean;
  /** Only this model's artifacts; default every model. */
  modelName?: string;
}

export function sweepInput(request: SweepArtifactsRequest): ArtifactSweepInput {
  const input: ArtifactSweepInput = {};
  if (request.olderThan !== undefined) {
    // "0" keeps nothing back: every finished run's scratch goes.
    const ms = request.olderThan.trim() === '0' ? 0 : parseDurationMs(request.olderThan);
    if (ms === null) throw new Error(`older-than ${JSON.stringify(request.olderThan)} is not a duration: use a number and a unit, e.g. 30m, 6h, 2d (or 0)`);
    input.olderThanMs = ms;
  }
  if (request.dryRun) input.dryRun = true;
  if (request.modelName) input.modelName = request.modelName;
  return input;
}

/** Runs one sweep now and waits for its summary. */
export async function sweepArtifactsNow(client: Client, request: SweepArtifactsRequest = {}): Promise<ArtifactSweepResult & { workflowId: string }> {
  const input = sweepInput(request);
  const workflowId = `artifact-sweep/manual-${new Date().toISOString()}`;
  const result = (await client.workflow.execute('artifactSweepWorkflow', { taskQueue: ORCHESTRATION_QUEUE, workflowId, args: [input] })) as ArtifactSweepResult;
  return { ...result, workflowId };
}
