// What every activity needs from the outside world, injected once when the worker starts.
import type { Kysely } from 'kysely';
import type { Database } from '../lineage/schema';
import type { ArtifactStore } from '../storage/artifact-store';

export interface ActivityDeps {
  db: Kysely<Database>;
  store: ArtifactStore;
  /**
   * Where people open runs in the Temporal Web UI, so the run report links straight to its run.
   * Optional: a worker that does not know its UI (FLYWHEEL_TEMPORAL_UI_URL unset, no dev server
   * started by this process) writes reports without the link.
   */
  temporalUi?: { baseUrl: string; namespace: string };
}

/** A workflow id such as retrain/ctr/2026-01-31T00:00:00.000Z as a safe artifact path segment. */
export function runKey(pipelineRunId: string): string {
  return pipelineRunId.replace(/[^A-Za-z0-9._-]+/g, '_');
}

export function elapsedSince(startMs: number): number {
  return Math.round((performance.now() - startMs) * 1000) / 1000;
}
