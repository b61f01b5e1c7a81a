// The artifact sweep as a workflow (started daily by the `artifact-sweep` Schedule, schedules/sweep.ts,
// or by an operator): one activity, `sweepArtifacts` (activities/sweeper.ts), removes the scratch of
// runs that finished longer ago than the grace period and reports what it left. Deterministic and
// thin: it validates its input, runs the activity and returns the activity's bounded summary.
//
// Input (JSON): { "olderThanMs": 3600000, "dryRun": false, "modelName": "ctr" } — every field
// optional: olderThanMs defaults to 1 hour, dryRun to false, modelName to every model.
import { ApplicationFailure, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { OrchestrationActivities } from '../activities';
import type { SweepRequest, SweepSummary } from '../activities/sweeper';
import { FailureType, NON_RETRYABLE_FAILURES } from './failure-types';
import { PipelineStep } from './search-attributes';

const light = proxyActivities<OrchestrationActivities>({
  // Listing and deleting a large store takes a while; the activity heartbeats while it runs.
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
});

export type ArtifactSweepInput = SweepRequest;
export type ArtifactSweepResult = SweepSummary;

export async function artifactSweepWorkflow(input: ArtifactSweepInput = {}): Promise<ArtifactSweepResult> {
  const request = input ?? {};
  if (request.olderThanMs !== undefined && !(typeof request.olderThanMs === 'number' && Number.isFinite(request.olderThanMs) && request.olderThanMs >= 0)) {
    throw ApplicationFailure.nonRetryable(`olderThanMs must be a number of milliseconds ≥ 0 (the grace period), got ${JSON.stringify(request.olderThanMs)}`, FailureType.InvalidSpec);
  }
  upsertSearchAttributes([{ key: PipelineStep, value: request.dryRun ? 'sweep:dry-run' : 'sweep' }]);
  const summary = await light.sweepArtifacts.executeWithOptions(
    { summary: `${request.dryRun ? 'dry run: list' : 'remove'} scratch of runs finished over ${Math.round((request.olderThanMs ?? 3_600_000) / 60_000)} min ago${request.modelName ? ` (model ${request.modelName})` : ''}` },
    [request],
  );
  upsertSearchAttributes([{ key: PipelineStep, value: 'done' }]);
  return summary;
}
