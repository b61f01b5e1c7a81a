// The value-of-freshness experiment as a workflow (id freshness/<model>/<key>): plan the windows,
// train and test one model per staleness age, record the curve and the recommended retraining
// interval. Thin and deterministic: every step is an activity (activities/freshness.ts).
import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { OrchestrationActivities } from '../activities';
import type { FreshnessExperimentRequest, FreshnessOutcome } from '../activities/freshness';
import type { FreshnessPoint } from '../lifecycle/backtest/freshness';
import { NON_RETRYABLE_FAILURES } from './failure-types';
import { PipelineStep } from './search-attributes';

const light = proxyActivities<OrchestrationActivities>({
  // A point trains one built-in model on one window in process: minutes at most.
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '10 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
});

export type FreshnessInput = FreshnessExperimentRequest;
export type FreshnessResult = FreshnessOutcome;

export async function freshnessExperimentWorkflow(input: FreshnessInput): Promise<FreshnessResult> {
  const experimentId = workflowInfo().workflowId;
  const step = (value: string) => upsertSearchAttributes([{ key: PipelineStep, value }]);
  step('plan');
  const plan = await light.planFreshnessExperiment.executeWithOptions({ summary: `plan freshness windows for ${input.modelName}` }, [{ experimentId, ...input }]);
  const points: FreshnessPoint[] = [];
  // One window at a time: each trains in the worker's process, and the UI shows the curve filling in.
  for (const window of plan.layout.windows) {
    step(`train:age-${window.ageDays}d`);
    points.push(
      await light.trainFreshnessPoint.executeWithOptions({ summary: `train on ${window.start} → ${window.end} (${window.ageDays} days stale), test on the latest data` }, [
        { plan, ageDays: window.ageDays },
      ]),
    );
  }
  step('record');
  const outcome = await light.recordFreshnessExperiment.executeWithOptions({ summary: 'store the curve, the report and the recommendation' }, [{ plan, points }]);
  step('done');
  return outcome;
}
