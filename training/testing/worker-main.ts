// A training-queue worker in its own process, for tests that kill it (-9) mid-training.
// Env: TEMPORAL_ADDRESS, FLYWHEEL_TEST_TASK_QUEUE, FLYWHEEL_TEST_STORE (file:// root),
// FLYWHEEL_TEST_TEMP (optional: where attempts put their temp dirs).
import { NativeConnection, Worker } from '@temporalio/worker';
import { openArtifactStore } from '../../storage/artifact-store';
import { trainWithTrainerProcess } from '../activity';
import type { TrainRequestV2 } from '../types';

async function main(): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS;
  const taskQueue = process.env.FLYWHEEL_TEST_TASK_QUEUE;
  const storeRoot = process.env.FLYWHEEL_TEST_STORE;
  if (!address || !taskQueue || !storeRoot) throw new Error('set TEMPORAL_ADDRESS, FLYWHEEL_TEST_TASK_QUEUE and FLYWHEEL_TEST_STORE');
  const store = openArtifactStore(storeRoot);
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    activities: {
      trainCandidate: (request: TrainRequestV2) =>
        trainWithTrainerProcess({ store }, request, { heartbeatIntervalMs: 250, tempRoot: process.env.FLYWHEEL_TEST_TEMP || undefined }),
    },
    maxConcurrentActivityTaskExecutions: 1,
    // Heartbeats (and the cancellations they carry back) reach the server within ~200 ms.
    maxHeartbeatThrottleInterval: '200 milliseconds',
  });
  process.stdout.write('worker ready\n');
  await worker.run();
  await connection.close();
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
