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
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): FlywheelConfig {
  return {
    temporalAddress: env.TEMPORAL_ADDRESS || '127.0.0.1:7233',
    temporalNamespace: env.TEMPORAL_NAMESPACE || 'default',
    databaseUrl: env.DATABASE_URL || undefined,
    artifactRoot: env.FLYWHEEL_ARTIFACT_ROOT || pathToFileURL(path.join(dataDir(), 'artifacts')).toString(),
  };
}
