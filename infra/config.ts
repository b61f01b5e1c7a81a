// Runtime settings read from the environment, with the embedded defaults a newcomer gets.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { dataDir } from './repo-root';

export interface FlywheelConfig {
  /** host:port of the Temporal frontend. */
  temporalAddress: string;
  temporalNamespace: string;
  /** postgres:// URL; undefined → embedded PGlite under the data folder. */
  databaseUrl?: string;
  /** file:///… or gs://bucket/prefix. */
  artifactRoot: string;
  /**
   * Base URL of the Temporal Web UI (e.g. http://127.0.0.1:8233, or a Cloud namespace's UI) from
   * FLYWHEEL_TEMPORAL_UI_URL; run reports link to their run there. Unset → no link, except where
   * the process starts its own dev server (infra/local-stack.ts), whose UI it knows.
   */
  temporalUiUrl?: string;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): FlywheelConfig {
  return {
    temporalAddress: env.TEMPORAL_ADDRESS || '127.0.0.1:7233',
    temporalNamespace: env.TEMPORAL_NAMESPACE || 'default',
    databaseUrl: env.DATABASE_URL || undefined,
    artifactRoot: env.FLYWHEEL_ARTIFACT_ROOT || pathToFileURL(path.join(dataDir(), 'artifacts')).toString(),
    temporalUiUrl: env.FLYWHEEL_TEMPORAL_UI_URL || undefined,
  };
}
