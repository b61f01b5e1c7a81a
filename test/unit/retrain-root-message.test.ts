// rootMessage (workflows/retrain.ts): the message a failed run records in pipeline_runs.error. It is
// the first ApplicationFailure below the ActivityFailure (the activity's own, clear message, e.g.
// the store's "GCS put … failed (HTTP 503) after 5 attempts"), not the innermost cause (the bare
// backend body). The failure chains are built as the SDK delivers them to workflow code: an
// activity error with a cause, through the default failure converter and back.
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, DefaultFailureConverter, defaultPayloadConverter, RetryState, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { rootMessage } from '../../workflows/retrain';

const converter = new DefaultFailureConverter();
/** What workflow code sees: the error serialized by the activity worker and deserialized in the workflow. */
const roundTrip = (error: Error): Error => converter.failureToError(converter.errorToFailure(error, defaultPayloadConverter), defaultPayloadConverter);

const storeError = () => {
  const backend = new Error('injected 503 from the fault proxy');
  return new Error('GCS put of gs://bucket/staging/run/part-00000.arrow failed (HTTP 503) after 5 attempts: injected 503 from the fault proxy', { cause: backend });
};

describe('rootMessage', () => {
  it('records the activity’s own ApplicationFailure message, not the backend body below it', () => {
    const activityFailure = new ActivityFailure('pullLabelledWindow', '5', RetryState.MAXIMUM_ATTEMPTS_REACHED, undefined, 'Activity task failed', ApplicationFailure.fromError(storeError()));
    const seen = roundTrip(activityFailure);
    expect(seen).toBeInstanceOf(ActivityFailure);
    // The innermost cause (what the old helper recorded) is the bare body.
    let innermost: Error = seen;
    while ((innermost as { cause?: Error }).cause) innermost = (innermost as { cause: Error }).cause;
    expect(innermost.message).toBe('injected 503 from the fault proxy');
    expect(rootMessage(seen)).toMatch(/^GCS put of gs:\/\/bucket\/staging\/run\/part-00000\.arrow failed \(HTTP 503\) after 5 attempts/);
  });

  it('keeps a non-retryable typed failure’s message (bad input) and a child workflow’s failure', () => {
    const bad = ApplicationFailure.nonRetryable('no labelled rows for model "m" in window [a, b): load data or widen data.windowDays', 'EmptyDataWindow');
    expect(rootMessage(roundTrip(new ActivityFailure('pullLabelledWindow', '3', RetryState.NON_RETRYABLE_FAILURE, undefined, 'Activity task failed', bad)))).toMatch(/^no labelled rows/);
    const child = new ChildWorkflowFailure('default', { workflowId: 'rollout/m/v2', runId: 'r' }, 'rolloutWorkflow', RetryState.RETRY_POLICY_NOT_SET, ApplicationFailure.create({ message: 'the rollout failed: RolloutConflict', type: 'RolloutConflict' }));
    expect(rootMessage(roundTrip(child))).toBe('the rollout failed: RolloutConflict');
  });

  it('falls back to the innermost cause when there is no ApplicationFailure (a timeout)', () => {
    const timedOut = new ActivityFailure('trainCandidate', '9', RetryState.TIMEOUT, undefined, 'Activity task timed out', new TimeoutFailure('heartbeat timeout', undefined, TimeoutType.HEARTBEAT));
    expect(rootMessage(roundTrip(timedOut))).toBe('heartbeat timeout');
    expect(rootMessage(new Error('plain'))).toBe('plain');
  });
});
