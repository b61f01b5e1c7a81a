// Stage 4: one long-running workflow per model. Every `checkEvery` (or at once when an operator
// forces a check or an upstream champion changes) it measures the triggers and, when one fires and
// cooldown and budget allow, runs ONE retrain child with the reason recorded. Continue-as-new keeps
// its history small; its state travels with it.
import {
  ApplicationFailure,
  condition,
  continueAsNew,
  executeChild,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { OrchestrationActivities } from '../activities';
import { admitRetrain, triggerReason, utcDay } from '../lifecycle/triggers';
import type { CheckRecord, ContinualState } from './continual-state';
import { checkNowSignal, continualStateQuery, pauseSignal, resumeSignal, retrainNowSignal, upstreamChampionChangedSignal } from './signals';
import { NON_RETRYABLE_FAILURES } from './failure-types';
import type { retrainWorkflow } from './retrain';
import { ModelName, PipelineStep, TriggerReason } from './search-attributes';

const light = proxyActivities<OrchestrationActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumInterval: '1 minute', nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
});

export interface ContinualInput {
  modelName: string;
  state?: ContinualState;
  /** Checks before continue-as-new (default CHECKS_PER_RUN); carried into the next run. */
  checksPerRun?: number;
}

const KEEP_CHECKS = 20;
const CHECKS_PER_RUN = 500;

function initialState(): ContinualState {
  return { paused: false, checks: 0, retrainsStarted: 0, pendingUpstream: [], forceRetrain: null, lastChecks: [], lastRetrain: null, lastTriggeredMs: null, startedPerDay: {} };
}

export async function continualLearningWorkflow(input: ContinualInput): Promise<void> {
  const state = input.state ?? initialState();
  // The first check runs at once; later ones every checkEvery or when signalled.
  let checkRequested = true;
  setHandler(pauseSignal, () => void (state.paused = true));
  setHandler(resumeSignal, () => {
    state.paused = false;
    checkRequested = true;
  });
  setHandler(checkNowSignal, () => void (checkRequested = true));
  setHandler(retrainNowSignal, (who?: string) => {
    state.forceRetrain = who ?? 'operator';
    checkRequested = true;
  });
  setHandler(upstreamChampionChangedSignal, (versionId: string) => {
    if (!state.pendingUpstream.includes(versionId)) state.pendingUpstream.push(versionId);
    checkRequested = true;
  });
  setHandler(continualStateQuery, () => state);

  let checkEveryMs = 60_000;
  // From the input (tests use a small one); histories started without it replay as before.
  const checksPerRun = input.checksPerRun ?? CHECKS_PER_RUN;
  for (let iteration = 0; iteration < checksPerRun; iteration++) {
    upsertSearchAttributes([{ key: PipelineStep, value: state.paused ? 'paused' : 'waiting' }]);
    await condition(() => checkRequested && !state.paused, checkEveryMs);
    checkRequested = false;
    if (state.paused) continue;

    upsertSearchAttributes([{ key: PipelineStep, value: 'checking' }]);
    const now = Date.now();
    const check = await light.evaluateTriggers.executeWithOptions({ summary: 'evaluate retraining triggers' }, [{ modelName: input.modelName, nowIso: new Date(now).toISOString() }]);
    checkEveryMs = check.checkEveryMs;
    if (check.stage !== 4) return; // the model left stage 4; apply normally cancels us first
    state.checks++;
    const signals = [...check.signals];
    if (state.pendingUpstream.length && check.upstreamEnabled) {
      signals.push({ kind: 'upstream', fired: true, value: state.pendingUpstream.length, threshold: 1, detail: `new upstream champion ${state.pendingUpstream.join(', ')}` });
    }
    if (state.forceRetrain) signals.push({ kind: 'manual', fired: true, value: null, threshold: null, detail: `requested by ${state.forceRetrain}` });
    const reason = triggerReason(signals);
    const record: CheckRecord = { at: new Date(now).toISOString(), signals, outcome: 'no trigger fired' };
    if (reason) {
      const admission = admitRetrain(state, now, check.cooldownMs, check.dailyBudget, check.retrainRunning);
      record.outcome = admission.admit ? `retrain started (${reason})` : `${reason} fired but not started: ${admission.reason}`;
      if (admission.admit) {
        state.retrainsStarted++;
        state.lastTriggeredMs = now;
        state.startedPerDay = { [utcDay(now)]: (state.startedPerDay[utcDay(now)] ?? 0) + 1 };
        state.pendingUpstream = [];
        state.forceRetrain = null;
        const workflowId = `retrain/${input.modelName}/trigger-${workflowInfo().workflowId.split('/').pop()}-${state.retrainsStarted}-${now}`;
        record.retrainWorkflowId = workflowId;
        state.lastChecks = [record, ...state.lastChecks].slice(0, KEEP_CHECKS);
        upsertSearchAttributes([
          { key: PipelineStep, value: 'retraining' },
          { key: TriggerReason, value: reason },
        ]);
        state.lastRetrain = { workflowId, reason, result: 'running' };
        try {
          // One retrain at a time: the next check waits for this child.
          const result = await executeChild<typeof retrainWorkflow>('retrainWorkflow', {
            workflowId,
            args: [{ modelName: input.modelName, trigger: reason }],
            parentClosePolicy: ParentClosePolicy.ABANDON,
            typedSearchAttributes: [
              { key: ModelName, value: input.modelName },
              { key: TriggerReason, value: reason },
            ],
            staticSummary: `retrain ${input.modelName}: ${reason}`,
          });
          state.lastRetrain = { workflowId, reason, result: `${result.versionId} ${result.decision}` };
        } catch (error) {
          state.lastRetrain = { workflowId, reason, result: `failed: ${error instanceof ApplicationFailure || error instanceof Error ? error.message : String(error)}` };
        }
        continue;
      }
    }
    state.lastChecks = [record, ...state.lastChecks].slice(0, KEEP_CHECKS);
    if (workflowInfo().continueAsNewSuggested) break;
  }
  await continueAsNew<typeof continualLearningWorkflow>({ modelName: input.modelName, state, ...(input.checksPerRun === undefined ? {} : { checksPerRun: input.checksPerRun }) });
}
