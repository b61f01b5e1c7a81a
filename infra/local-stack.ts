// The whole stack in one process for the demo, `flywheel dev` and tests: a Temporal dev server
// (or an existing one), the lineage database, the artifact store and in-process workers.
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { LogLevel, NativeConnection, Worker } from '@temporalio/worker';
import { openLineageDb, type LineageDb } from '../lineage/db';
import { openArtifactStore, type ArtifactStore } from '../storage/artifact-store';
import { createWorkers, type QueueRole } from '../worker/workers';
import { loadConfig } from './config';
import { startDevServer, type DevServer } from './dev-server';
import { dataDir } from './repo-root';
import { installSdkLogging } from './sdk-logging';
import { connectClient, connectWorker } from './temporal-connection';

export const DEV_PORT = 7233;
export const DEV_UI_PORT = 8233;

/** The SQLite file the local dev server keeps workflow history in, shared by `dev` and the demo. */
export function devServerDbFile(): string {
  return path.join(dataDir(), 'temporal', 'dev.db');
}

export interface LocalStackOptions {
  /** Use this Temporal instead of starting a dev server. */
  temporalAddress?: string;
  namespace?: string;
  /** Dev server ports (0 = any free port) and persistence. */
  port?: number;
  uiPort?: number | false;
  dbFilename?: string;
  databaseUrl?: string;
  pgliteDir?: string;
  artifactRoot?: string;
  /** Worker roles to run in-process; [] runs none. Default both. */
  roles?: QueueRole[];
  log?: (line: string) => void;
  /** The Temporal SDK's log level in this process; default WARN. */
  sdkLogLevel?: LogLevel;
}

export interface LocalStack {
  address: string;
  namespace: string;
  uiUrl?: string;
  lineage: LineageDb;
  store: ArtifactStore;
  client: Client;
  workers: Worker[];
  stop(): Promise<void>;
}

async function timed<T>(log: (line: string) => void, label: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await work();
  log(`${label} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return result;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const log = options.log ?? (() => {});
  installSdkLogging(options.sdkLogLevel);
  const config = loadConfig();
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    let server: DevServer | undefined;
    if (!options.temporalAddress) {
      server = await timed(log, 'Temporal dev server started', () =>
        startDevServer({ port: options.port, uiPort: options.uiPort, dbFilename: options.dbFilename, logFile: path.join(dataDir(), 'logs', 'temporal.log') }),
      );
      cleanups.push(() => server!.stop());
    }
    const address = options.temporalAddress ?? server!.address;
    const namespace = options.namespace ?? server?.namespace ?? config.temporalNamespace;

    const lineage = await timed(log, 'lineage database ready', () =>
      openLineageDb({ url: options.databaseUrl ?? config.databaseUrl, pgliteDir: options.pgliteDir }),
    );
    cleanups.push(() => lineage.close());
    const store = openArtifactStore(options.artifactRoot ?? config.artifactRoot);

    const client = await connectClient(address, namespace);
    cleanups.push(() => client.connection.close());

    let workers: Worker[] = [];
    const roles = options.roles ?? ['orchestration', 'training'];
    // The dev server this process started knows its UI; an external Temporal's comes from config.
    const uiUrl = server?.uiUrl ?? config.temporalUiUrl;
    const temporalUi = uiUrl ? { baseUrl: uiUrl, namespace } : undefined;
    if (roles.length) {
      const connection: NativeConnection = await connectWorker(address);
      workers = await timed(log, `worker started (${roles.join(' + ')})`, () =>
        createWorkers({ connection, namespace, deps: { db: lineage.db, store, ...(temporalUi ? { temporalUi } : {}) }, roles }),
      );
      const running = Promise.all(workers.map((w) => w.run()));
      cleanups.push(async () => {
        for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
        await running;
        await connection.close();
      });
    }
    return { address, namespace, uiUrl: server?.uiUrl, lineage, store, client, workers, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
