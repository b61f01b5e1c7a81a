// Workflows for training tests only: run the training activity once on a given task queue with the
// production retry policy (workflows/training-policy.ts) and a short heartbeat timeout and retry
// interval, so tests can kill workers, crash trainers and cancel runs without waiting minutes.
import { proxyActivities } from '@temporalio/workflow';
import { TRAINING_ACTIVITY_OPTIONS } from '../../workflows/training-policy';
import type { TrainedCandidateV2, TrainRequestV2 } from '../types';

export interface TrainOnceOptions {
  taskQueue: string;
  heartbeatTimeoutMs: number;
  /** Defaults to the production policy's. */
  maximumAttempts?: number;
}

type TrainingApi = { trainCandidate(request: TrainRequestV2): Promise<TrainedCandidateV2> };

export async function trainOnceWorkflow(request: TrainRequestV2, options: TrainOnceOptions): Promise<TrainedCandidateV2> {
  const production = TRAINING_ACTIVITY_OPTIONS.retry;
  const { trainCandidate } = proxyActivities<TrainingApi>({
    taskQueue: options.taskQueue,
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: options.heartbeatTimeoutMs,
    retry: {
      ...production,
      initialInterval: '200 milliseconds',
      maximumInterval: '1 second',
      maximumAttempts: options.maximumAttempts ?? production.maximumAttempts,
    },
  });
  return trainCandidate(request);
}
