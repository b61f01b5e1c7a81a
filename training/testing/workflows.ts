// Workflows for training tests only: run the training activity once on a given task queue with a
// given retry policy and heartbeat timeout, so tests can kill workers and cancel runs.
import { proxyActivities } from '@temporalio/workflow';
import type { TrainedCandidateV2, TrainRequestV2 } from '../types';

export interface TrainOnceOptions {
  taskQueue: string;
  heartbeatTimeoutMs: number;
  maximumAttempts: number;
}

type TrainingApi = { trainCandidate(request: TrainRequestV2): Promise<TrainedCandidateV2> };

export async function trainOnceWorkflow(request: TrainRequestV2, options: TrainOnceOptions): Promise<TrainedCandidateV2> {
  const { trainCandidate } = proxyActivities<TrainingApi>({
    taskQueue: options.taskQueue,
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: options.heartbeatTimeoutMs,
    retry: { initialInterval: '200 milliseconds', maximumAttempts: options.maximumAttempts },
  });
  return trainCandidate(request);
}
