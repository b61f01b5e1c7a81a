// Builds Flywheel's workers: the orchestration queue (workflows and light activities) and the
// training queue (training activities only, concurrency capped at the host's accelerator count).
import path from 'node:path';
import { bundleWorkflowCode, type NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { orchestrationActivities, type ActivityDeps } from '../activities';
import { trainActivities } from '../activities/train';
import type { TrainActivityOptions } from '../training/activity';
import { ORCHESTRATION_QUEUE, TRAINING_QUEUE } from '../workflows/task-queues';
import { DEFAULT_SHUTDOWN_GRACE_MS } from './shutdown';

export type QueueRole = 'orchestration' | 'training';

export interface WorkerSettings {
  connection: NativeConnection;
  namespace: string;
  deps: ActivityDeps;
  roles: QueueRole[];
  /** Concurrent training activities; default 1 (one GPU, or one CPU trainer on a small host). */
  trainingSlots?: number;
  /** Training activity settings (heartbeat interval, temp dir); defaults suit production. */
  training?: TrainActivityOptions;
  /** Concurrent light activities; default 20. */
  activitySlots?: number;
  /** Concurrent workflow tasks on the orchestration queue; default the SDK's. */
  workflowTaskSlots?: number;
  /** Workflows kept in memory between tasks; fewer than those running costs replays (bench/README.md). */
  maxCachedWorkflows?: number;
  /**
   * Milliseconds a stopping worker (SIGINT/SIGTERM or shutdown()) lets in-flight activities run
   * to completion before it cancels them; default 30 s (worker/shutdown.ts). 0 cancels at once.
   */
  shutdownGraceMs?: number;
  /** Milliseconds after which a shutdown that has not finished gives up with an error; default never. */
  shutdownForceMs?: number;
}

let bundlePromise: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Bundles workflow code once per process; every worker created later reuses it. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundlePromise ??= bundleWorkflowCode({ workflowsPath: path.join(__dirname, '..', 'workflows', 'index.ts'), logger: quietLogger });
  return bundlePromise;
}

const quietLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

export async function createWorkers(settings: WorkerSettings): Promise<Worker[]> {
  const workers: Worker[] = [];
  // The SDK's default grace is 0: in-flight activities would be cancelled the moment shutdown starts.
  const shutdown = {
    shutdownGraceTime: settings.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS,
    ...(settings.shutdownForceMs !== undefined ? { shutdownForceTime: settings.shutdownForceMs } : {}),
  };
  if (settings.roles.includes('orchestration')) {
    workers.push(
      await Worker.create({
        connection: settings.connection,
        namespace: settings.namespace,
        taskQueue: ORCHESTRATION_QUEUE,
        workflowBundle: await workflowBundle(),
        activities: orchestrationActivities(settings.deps),
        maxConcurrentActivityTaskExecutions: settings.activitySlots ?? 20,
        ...shutdown,
        ...(settings.workflowTaskSlots ? { maxConcurrentWorkflowTaskExecutions: settings.workflowTaskSlots } : {}),
        ...(settings.maxCachedWorkflows ? { maxCachedWorkflows: settings.maxCachedWorkflows } : {}),
      }),
    );
  }
  if (settings.roles.includes('training')) {
    workers.push(
      await Worker.create({
        connection: settings.connection,
        namespace: settings.namespace,
        taskQueue: TRAINING_QUEUE,
        activities: trainActivities(settings.deps, settings.training),
        maxConcurrentActivityTaskExecutions: settings.trainingSlots ?? 1,
        ...shutdown,
        // Training runs in a child process, so this worker's event loop is free to heartbeat; send
        // heartbeats within 2 s so a cancellation (delivered on the heartbeat response) arrives
        // promptly instead of after the SDK's default throttle of up to 60 s.
        maxHeartbeatThrottleInterval: '2 seconds',
      }),
    );
  }
  if (workers.length === 0) throw new Error('no worker roles chosen: pass orchestration, training or both');
  return workers;
}

/** Runs workers until they stop (SIGINT/SIGTERM make the SDK shut them all down, draining for the grace period). */
export async function runWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.run()));
}
