// Runs a Flywheel worker process against TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE until SIGINT or
// SIGTERM, then stops polling, lets in-flight activities finish for up to the shutdown grace period
// (FLYWHEEL_WORKER_SHUTDOWN_GRACE, default 30 s; worker/shutdown.ts) and exits. A GPU host runs only
// the training role.
import { loadConfig } from '../infra/config';
import { installSdkLogging } from '../infra/sdk-logging';
import { connectWorker } from '../infra/temporal-connection';
import { openLineageDb } from '../lineage/db';
import { openArtifactStore } from '../storage/artifact-store';
import { parseShutdownGrace, SHUTDOWN_FORCE_MARGIN_MS, SHUTDOWN_GRACE_ENV } from './shutdown';
import { defaultTrainingSlots, GpuPool, visibleGpuIds } from './gpus';
import { createWorkers, type QueueRole } from './workers';

export interface WorkerProcessOptions {
  roles: QueueRole[];
  trainingSlots?: number;
  activitySlots?: number;
  workflowTaskSlots?: number;
  maxCachedWorkflows?: number;
  /** Lineage connection pool; keep it at least activity slots + training slots. */
  poolSize?: number;
  /** Grace period for in-flight activities on shutdown, in ms; default $FLYWHEEL_WORKER_SHUTDOWN_GRACE or 30 s. */
  shutdownGraceMs?: number;
  log?: (line: string) => void;
}

export async function runWorkerProcess(options: WorkerProcessOptions): Promise<void> {
  const log = options.log ?? ((line: string) => console.log(line));
  installSdkLogging('INFO');
  const config = loadConfig();
  // Read before connecting anything, so a bad value fails with nothing to clean up.
  const shutdownGraceMs = options.shutdownGraceMs ?? parseShutdownGrace(process.env[SHUTDOWN_GRACE_ENV]);
  // One training activity per GPU unless told otherwise (a CPU-only host: one); each attempt gets a GPU of its own.
  const gpuIds = options.roles.includes('training') ? visibleGpuIds() : [];
  const trainingSlots = options.trainingSlots ?? (options.roles.includes('training') ? defaultTrainingSlots(gpuIds.length) : undefined);
  const gpus = gpuIds.length > 0 ? new GpuPool(gpuIds) : undefined;
  const lineage = await openLineageDb({ url: config.databaseUrl, poolSize: options.poolSize });
  const store = openArtifactStore(config.artifactRoot);
  const connection = await connectWorker(config.temporalAddress);
  try {
    const workers = await createWorkers({
      connection,
      namespace: config.temporalNamespace,
      deps: { db: lineage.db, store, ...(config.temporalUiUrl ? { temporalUi: { baseUrl: config.temporalUiUrl, namespace: config.temporalNamespace } } : {}) },
      roles: options.roles,
      trainingSlots,
      ...(gpus ? { training: { gpus } } : {}),
      activitySlots: options.activitySlots,
      workflowTaskSlots: options.workflowTaskSlots,
      maxCachedWorkflows: options.maxCachedWorkflows,
      shutdownGraceMs,
      // Past the grace period running activities are cancelled; give them a bounded time to report.
      shutdownForceMs: shutdownGraceMs + SHUTDOWN_FORCE_MARGIN_MS,
    });
    log(`flywheel worker (${options.roles.join(' + ')}) polling ${config.temporalAddress}/${config.temporalNamespace}; lineage ${lineage.location}; artifacts ${store.rootUri}${trainingSlots ? `; training slots ${trainingSlots}` : ''}${gpus ? ` on GPUs ${gpuIds.join(',')}` : ''}; shutdown grace ${shutdownGraceMs / 1000} s`);
    // The SDK installs SIGINT/SIGTERM handlers that shut every worker down: polling stops at once,
    // in-flight activities get the grace period to finish, and run() resolves once all have drained.
    await Promise.all(workers.map((w) => w.run()));
    log('flywheel worker stopped');
  } finally {
    await connection.close();
    await lineage.close();
  }
}
