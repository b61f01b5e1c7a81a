// Test helpers around the real Temporal dev server: one server per test file, workers bound to a
// given lineage database and artifact store, and the SDK logger kept quiet.
import type { Client } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { startDevServer, type DevServer, type DevServerOptions } from '../../infra/dev-server';
import { installSdkLogging } from '../../infra/sdk-logging';
import { connectClient } from '../../infra/temporal-connection';
import type { ActivityDeps } from '../../activities';
import { createWorkers, type QueueRole } from '../../worker/workers';

export interface TestTemporal {
  server: DevServer;
  client: Client;
  stop(): Promise<void>;
}

export async function startTestTemporal(options: DevServerOptions = {}): Promise<TestTemporal> {
  installSdkLogging('ERROR');
  const server = await startDevServer({ uiPort: false, ...options });
  const client = await connectClient(server.address, server.namespace);
  return {
    server,
    client,
    async stop() {
      await client.connection.close();
      await server.stop();
    },
  };
}

export interface RunningWorkers {
  workers: Worker[];
  stop(): Promise<void>;
}

/**
 * Grace for in-flight activities when a test stops its workers. Production's 30 s default would
 * make every file whose teardown catches a long-polling or sleeping activity wait that long; the
 * graceful-shutdown behaviour itself is tested through the real worker process
 * (test/integration/worker-shutdown.test.ts).
 */
const TEST_SHUTDOWN_GRACE_MS = 2_000;

/** Starts in-process workers; stop() shuts them down and waits for them to drain. */
export async function startTestWorkers(address: string, deps: ActivityDeps, roles: QueueRole[] = ['orchestration', 'training']): Promise<RunningWorkers> {
  const connection = await NativeConnection.connect({ address });
  const workers = await createWorkers({ connection, namespace: 'default', deps, roles, shutdownGraceMs: TEST_SHUTDOWN_GRACE_MS });
  const running = Promise.all(workers.map((w) => w.run()));
  return {
    workers,
    async stop() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      await connection.close();
    },
  };
}
