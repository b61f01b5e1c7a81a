// Runs a Flywheel worker process against TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE until SIGINT or
// SIGTERM, then drains in-flight tasks and exits. A GPU host runs only the training role.
import { loadConfig } from '../infra/config';
import { installSdkLogging } from '../infra/sdk-logging';
import { connectWorker } from '../infra/temporal-connection';
import { openLineageDb } from '../lineage/db';
import { openArtifactStore } from '../storage/artifact-store';
import { createWorkers, type QueueRole } from './workers';

export interface WorkerProcessOptions {
  roles: QueueRole[];
  trainingSlots?: number;
  activitySlots?: number;
  workflowTaskSlots?: number;
  maxCachedWorkflows?: number;
  /** Lineage connection pool; keep it at least activity slots + training slots. */
  poolSize?: number;
  log?: (line: string) => void;
}

export async function runWorkerProcess(options: WorkerProcessOptions): Promise<void> {
  const log = options.log ?? ((line: string) => console.log(line));
  installSdkLogging('INFO');
  const config = loadConfig();
  const lineage = await openLineageDb({ url: config.databaseUrl, poolSize: options.poolSize });
  const store = openArtifactStore(config.artifactRoot);
  const connection = await connectWorker(config.temporalAddress);
  try {
    const workers = await createWorkers({
      connection,
      namespace: config.temporalNamespace,
      deps: { db: lineage.db, store },
      roles: options.roles,
      trainingSlots: options.trainingSlots,
      activitySlots: options.activitySlots,
      workflowTaskSlots: options.workflowTaskSlots,
      maxCachedWorkflows: options.maxCachedWorkflows,
    });
    log(`flywheel worker (${options.roles.join(' + ')}) polling ${config.temporalAddress}/${config.temporalNamespace}; lineage ${lineage.location}; artifacts ${store.rootUri}`);
    // The SDK installs SIGINT/SIGTERM handlers that shut every worker down; run() resolves after draining.
    await Promise.all(workers.map((w) => w.run()));
    log('flywheel worker stopped');
  } finally {
    await connection.close();
    await lineage.close();
  }
}
