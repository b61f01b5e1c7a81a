// What every activity needs from the outside world, injected once when the worker starts.
import type { Kysely } from 'kysely';
import type { Database } from '../lineage/schema';
import type { ArtifactStore } from '../storage/artifact-store';

export interface ActivityDeps {
  db: Kysely<Database>;
  store: ArtifactStore;
}

/** A workflow id such as retrain/ctr/2026-01-31T00:00:00.000Z as a safe artifact path segment. */
export function runKey(pipelineRunId: string): string {
  return pipelineRunId.replace(/[^A-Za-z0-9._-]+/g, '_');
}

export function elapsedSince(startMs: number): number {
  return Math.round((performance.now() - startMs) * 1000) / 1000;
}
