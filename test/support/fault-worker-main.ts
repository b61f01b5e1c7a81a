// A Flywheel worker in its own process for the fault suite, which kills it with SIGKILL at chosen
// points of the DAG. It serves both task queues with the production activities
// (orchestrationActivities, trainActivities) and the production workflow code, like
// `flywheel worker` (worker/run.ts + worker/workers.ts), with three test-only differences that
// only change how fast a kill is noticed, never what runs:
//  - the workflow bundle is prebuilt by the test (FAULT_BUNDLE_PATH, the production workflows plus
//    test/support/fault-timeouts-interceptor.ts), so a restart takes about a second, not a re-bundle;
//  - training heartbeats every 300 ms (production: 2 s) to fit the shortened heartbeat timeout;
//  - a sticky workflow task waits 1 s (SDK default 10 s) for this worker before going to any worker;
//  - with FAULT_STANDBY=1 it loads its modules and connects, then waits for "go" on stdin before it
//    creates its workers and polls: the runner keeps one warm standby, so "restart after kill -9"
//    costs well under a second on a loaded 2-core machine instead of ~10 s of module loading;
//  - with FAULT_KILL_PLAN (a file), planned activities hold their completion at their kill point
//    until the runner kills this process (test/support/fault-kill-points.ts).
// Env: TEMPORAL_ADDRESS, DATABASE_URL, FLYWHEEL_ARTIFACT_ROOT, FAULT_BUNDLE_PATH, FAULT_TEMP_ROOT,
// FAULT_STANDBY, FAULT_KILL_PLAN.
import { NativeConnection, Worker } from '@temporalio/worker';
import { orchestrationActivities } from '../../activities';
import { trainActivities } from '../../activities/train';
import { loadConfig } from '../../infra/config';
import { installSdkLogging } from '../../infra/sdk-logging';
import { openLineageDb } from '../../lineage/db';
import { openArtifactStore } from '../../storage/artifact-store';
import { ORCHESTRATION_QUEUE, TRAINING_QUEUE } from '../../workflows/task-queues';
import { killPoints } from './fault-kill-points';

async function main(): Promise<void> {
  const bundlePath = process.env.FAULT_BUNDLE_PATH;
  if (!bundlePath) throw new Error('set FAULT_BUNDLE_PATH (the prebuilt workflow bundle)');
  installSdkLogging((process.env.FLYWHEEL_SDK_LOG_LEVEL as 'WARN' | undefined) ?? 'WARN');
  const config = loadConfig();
  const lineage = await openLineageDb({ url: config.databaseUrl, migrate: false, poolSize: 8 });
  const store = openArtifactStore(config.artifactRoot);
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const deps = { db: lineage.db, store };
  if (process.env.FAULT_STANDBY === '1') {
    process.stdout.write(`fault worker standby pid=${process.pid}\n`);
    await new Promise<void>((resolve) => {
      process.stdin.once('data', () => resolve());
      // The runner went away: a standby has nothing to do.
      process.stdin.once('end', () => process.exit(0));
    });
  }
  const planFile = process.env.FAULT_KILL_PLAN;
  const common = {
    connection,
    namespace: config.temporalNamespace,
    stickyQueueScheduleToStartTimeout: '1 second',
    ...(planFile ? { interceptors: { activity: [killPoints(planFile)] } } : {}),
  } as const;
  const workers = [
    await Worker.create({
      ...common,
      taskQueue: ORCHESTRATION_QUEUE,
      workflowBundle: { codePath: bundlePath },
      activities: orchestrationActivities(deps),
      maxConcurrentActivityTaskExecutions: 20,
    }),
    await Worker.create({
      ...common,
      taskQueue: TRAINING_QUEUE,
      activities: trainActivities(deps, { heartbeatIntervalMs: 300, tempRoot: process.env.FAULT_TEMP_ROOT || undefined }),
      maxConcurrentActivityTaskExecutions: 1,
      maxHeartbeatThrottleInterval: '300 milliseconds',
    }),
  ];
  process.stdout.write(`fault worker ready pid=${process.pid}\n`);
  await Promise.all(workers.map((w) => w.run()));
  await connection.close();
  await lineage.close();
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
