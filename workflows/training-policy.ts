// The training step's activity options (queue, timeouts, retry policy), shared by the retrain DAG
// and the training tests so both run under the same policy. Workflow-safe: constants only.
import type { ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURES } from './failure-types';
import { TRAINING_QUEUE } from './task-queues';

/** Attempts one training step may take, worker deaths included (the trainer's own crashes are capped lower, in the activity). */
export const TRAINING_MAX_ATTEMPTS = 12;

export const TRAINING_ACTIVITY_OPTIONS = {
  taskQueue: TRAINING_QUEUE,
  // No training worker polling for this long is an outage, not something to wait out silently.
  scheduleToStartTimeout: '30 minutes',
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  // Attempts end by worker deaths (heartbeat timeout, a worker shut down mid-run) as well as by
  // trainer failures. A death costs only the epochs since the last checkpoint, so many are allowed;
  // the activity gives up by itself after TRAINER_CRASH_LIMIT crashes of the trainer
  // (training/activity.ts), the failures a retry rarely fixes.
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: TRAINING_MAX_ATTEMPTS, nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
} satisfies ActivityOptions;
