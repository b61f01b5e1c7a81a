// Signals and queries shared between workflows (and the client), defined once so both sides agree.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ContinualState } from './continual-state';
import type { ApprovalDecision, RetrainStatus } from './types';

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Evaluate the triggers now instead of at the next interval. */
export const checkNowSignal = defineSignal('checkNow');
/** Start a retrain now (reason "manual"), still subject to "one at a time". */
export const retrainNowSignal = defineSignal<[string?]>('retrainNow');
export const upstreamChampionChangedSignal = defineSignal<[string]>('upstreamChampionChanged');
export const continualStateQuery = defineQuery<ContinualState>('continualState');

/** Sign-off on a retrain's candidate that the gate sent for approval; answers with the outcome. */
export const approveCandidateUpdate = defineUpdate<{ accepted: boolean; outcome: string }, [ApprovalDecision]>('approveCandidate');
export const retrainStatusQuery = defineQuery<RetrainStatus>('retrainStatus');
