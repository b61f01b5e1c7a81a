// Follows a running retrain for the CLI: prints each DAG step as the workflow's PipelineStep
// search attribute advances, then returns the result.
import type { WorkflowHandle } from '@temporalio/client';
import { PipelineStep } from '../workflows/search-attributes';
import type { retrainWorkflow } from '../workflows/retrain';
import type { RetrainResult } from '../workflows/types';

export async function followRun(handle: WorkflowHandle<typeof retrainWorkflow>, say: (line: string) => void, pollMs = 300): Promise<RetrainResult> {
  let lastStep: string | undefined;
  let done = false;
  const result = handle.result().finally(() => {
    done = true;
  });
  const started = Date.now();
  const poll = (async () => {
    while (!done) {
      try {
        const description = await handle.describe();
        const step = description.typedSearchAttributes.get(PipelineStep);
        if (step && step !== lastStep) {
          say(`step ${step.padEnd(9)} t+${((Date.now() - started) / 1000).toFixed(1)} s`);
          lastStep = step;
        }
      } catch {
        /* progress is best effort; the result decides */
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  })();
  try {
    return await result;
  } finally {
    await poll;
  }
}
