// The message a failed run records (pipeline_runs.error, a rollout's reason). Pure and
// deterministic, so both workflows (retrain.ts, rollout.ts) use it; unit-tested in
// test/unit/retrain-root-message.test.ts.
import { ApplicationFailure } from '@temporalio/common';

/**
 * An ActivityFailure (or ChildWorkflowFailure) wraps the activity's own ApplicationFailure, whose
 * message is the clear one ("GCS put of gs://… failed (HTTP 503) after 5 attempts: …"); its causes
 * are lower-level details (the backend's bare body). So: the first ApplicationFailure in the
 * cause chain, else the innermost cause.
 */
export function rootMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  let current: Error | undefined = error;
  let innermost: Error = error;
  while (current) {
    if (current instanceof ApplicationFailure && current.message) return current.message;
    innermost = current;
    current = (current as { cause?: Error }).cause;
  }
  return innermost.message;
}
