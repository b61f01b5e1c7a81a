// Artifact sweeper: finds files under the artifact root that lineage does not reference and removes
// the ones that are safe to remove. What lineage references (kept forever): every dataset snapshot
// and its manifest, model artifacts and final checkpoints of registered versions, report cards,
// static test sets, the per-run reports and model pages. What a run leaves behind on purpose while
// it runs and nobody needs after it ends (removed once the run is finished and older than the
// grace period): its staged window (staging/<run>/) and its intermediate training checkpoints
// (models/<model>/runs/<run>/checkpoints/), plus the model file of a run that ended without
// registering a version. Anything else unreferenced (a snapshot without a datasets row, files of a
// run this database does not know, unknown prefixes) is reported, never deleted: it may belong to
// another writer of the same root, and a person should look.
//
// Safety rule: a file lineage references is never deleted; scratch is deleted only when its run is
// finished (re-checked just before each delete) and finished longer ago than the grace period, so
// an in-flight run's fresh files are never touched.
//
// Wired in: the activity `sweepArtifacts` (sweeperActivities, registered with the orchestration
// activities in activities/index.ts) is run by `artifactSweepWorkflow` (workflows/sweep.ts), which
// the Temporal Schedule `artifact-sweep` starts daily (schedules/sweep.ts; FLYWHEEL_ARTIFACT_SWEEP).
import type { ActivityDeps } from './deps';
import { heartbeat } from './heartbeat';

export type ArtifactClass =
  /** A URI column of lineage names it (datasets, model_versions, evaluations, test_sets), or a dataset's manifest. */
  | 'lineage'
  /** reports/<model>/<run>/… or validation/<model>/<run>/… of a run lineage knows. */
  | 'run-report'
  /** reports/<model>/<page>.html of a model lineage knows. */
  | 'model-page'
  /** Scratch of a run: staging/<run>/…, models/<model>/runs/<run>/checkpoints/…, or the model files of a run without a version. */
  | 'run-scratch'
  /** Unreferenced and not attributable to a known run or model. */
  | 'orphan';

export interface ClassifiedArtifact {
  uri: string;
  key: string;
  class: ArtifactClass;
  /** The pipeline run a run-scoped key belongs to (run-report, run-scratch). */
  runId?: string;
  detail: string;
}

export interface SweepRequest {
  /** Scratch of runs finished at least this long ago is removed; default 1 hour. */
  olderThanMs?: number;
  /** Report what would be removed, remove nothing. */
  dryRun?: boolean;
  /** Only this model's artifacts. */
  modelName?: string;
}

export interface SweepResult {
  scanned: number;
  referenced: number;
  /** Removed (or, with dryRun, removable) URIs. */
  removed: string[];
  /** Unreferenced files left in place, with why. */
  kept: Array<{ uri: string; why: string }>;
}

/** Same mapping as activities/deps.ts runKey: a workflow id as one path segment. */
function runKey(pipelineRunId: string): string {
  return pipelineRunId.replace(/[^A-Za-z0-9._-]+/g, '_');
}

interface RunRow {
  id: string;
  model_name: string;
  status: string;
  finished_at: Date | null;
  candidate_version_id: string | null;
}

/** Every file under the store's root, classified against lineage. */
export async function classifyArtifacts(deps: ActivityDeps, modelName?: string): Promise<{ artifacts: ClassifiedArtifact[]; runs: Map<string, RunRow[]> }> {
  const { db, store } = deps;
  const referenced = new Map<string, string>();
  const add = (uri: string | null | undefined, what: string) => {
    if (uri) referenced.set(uri, what);
  };
  for (const d of await db.selectFrom('datasets').select(['id', 'uri']).execute()) {
    add(d.uri, `datasets.uri of ${d.id}`);
    if (d.uri.endsWith('/data.arrow')) add(d.uri.replace(/data\.arrow$/, 'manifest.json'), `manifest of ${d.id}`);
  }
  for (const v of await db.selectFrom('model_versions').select(['id', 'artifact_uri', 'checkpoint_uri']).execute()) {
    add(v.artifact_uri, `model_versions.artifact_uri of ${v.id}`);
    add(v.checkpoint_uri, `model_versions.checkpoint_uri of ${v.id}`);
  }
  for (const e of await db.selectFrom('evaluations').select(['id', 'report_uri', 'report_json_uri']).execute()) {
    add(e.report_uri, `evaluations.report_uri of ${e.id}`);
    add(e.report_json_uri, `evaluations.report_json_uri of ${e.id}`);
  }
  for (const t of await db.selectFrom('test_sets').select(['id', 'uri']).execute()) add(t.uri, `test_sets.uri of ${t.id}`);

  const runs = new Map<string, RunRow[]>();
  for (const run of await db.selectFrom('pipeline_runs').select(['id', 'model_name', 'status', 'finished_at', 'candidate_version_id']).execute()) {
    const key = runKey(run.id);
    runs.set(key, [...(runs.get(key) ?? []), run as RunRow]);
  }
  const models = new Set((await db.selectFrom('models').select('name').execute()).map((m) => m.name));

  const root = `${store.rootUri}/`;
  const artifacts: ClassifiedArtifact[] = [];
  for (const uri of await store.list('')) {
    const key = uri.startsWith(root) ? uri.slice(root.length) : uri;
    const parts = key.split('/');
    const runOf = (segment: string | undefined) => (segment ? runs.get(segment) : undefined);
    // staging/<run>/… belongs to the run's model; every other prefix names the model second.
    const owner = parts[0] === 'staging' ? runOf(parts[1])?.[0].model_name : parts[1];
    if (modelName && owner !== modelName) continue;
    const known = referenced.get(uri);
    if (known) {
      artifacts.push({ uri, key, class: 'lineage', detail: known });
    } else if ((parts[0] === 'reports' || parts[0] === 'validation') && parts.length >= 4 && runOf(parts[2])) {
      const run = runOf(parts[2])![0];
      artifacts.push({ uri, key, class: 'run-report', runId: run.id, detail: `${parts[0]} of run ${run.id}` });
    } else if (parts[0] === 'reports' && parts.length === 3 && models.has(parts[1])) {
      artifacts.push({ uri, key, class: 'model-page', detail: `page of model ${parts[1]}` });
    } else if (parts[0] === 'staging' && parts.length >= 3 && runOf(parts[1])) {
      const run = runOf(parts[1])![0];
      artifacts.push({ uri, key, class: 'run-scratch', runId: run.id, detail: `staged window of run ${run.id}` });
    } else if (parts[0] === 'models' && parts[2] === 'runs' && parts.length >= 5 && runOf(parts[3])) {
      const run = runOf(parts[3])![0];
      const what = parts[4] === 'checkpoints' ? 'intermediate training checkpoint' : 'model file of a run that registered no version with it';
      artifacts.push({ uri, key, class: 'run-scratch', runId: run.id, detail: `${what} (run ${run.id})` });
    } else {
      artifacts.push({ uri, key, class: 'orphan', detail: 'referenced by no lineage row and not attributable to a known run or model' });
    }
  }
  return { artifacts, runs };
}

/** Removes the scratch of finished runs older than the grace period; reports every other unreferenced file. */
export async function sweepOrphanedArtifacts(deps: ActivityDeps, request: SweepRequest = {}): Promise<SweepResult> {
  const olderThanMs = request.olderThanMs ?? DEFAULT_SWEEP_GRACE_MS;
  const { artifacts, runs } = await classifyArtifacts(deps, request.modelName);
  const byId = new Map<string, RunRow>();
  for (const list of runs.values()) for (const run of list) byId.set(run.id, run);
  const now = Date.now();
  const result: SweepResult = { scanned: artifacts.length, referenced: 0, removed: [], kept: [] };
  for (const artifact of artifacts) {
    if (artifact.class !== 'run-scratch' && artifact.class !== 'orphan') {
      result.referenced++;
      continue;
    }
    if (artifact.class === 'orphan') {
      result.kept.push({ uri: artifact.uri, why: artifact.detail });
      continue;
    }
    // Every run sharing the key must be finished (keys are per workflow id; ids are unique in practice).
    const sharing = runs.get(runKey(artifact.runId!)) ?? [byId.get(artifact.runId!)!];
    const running = sharing.find((r) => r.status === 'running' || r.finished_at === null);
    if (running) {
      result.kept.push({ uri: artifact.uri, why: `run ${running.id} is still running` });
      continue;
    }
    const newest = Math.max(...sharing.map((r) => new Date(r.finished_at!).getTime()));
    if (now - newest < olderThanMs) {
      result.kept.push({ uri: artifact.uri, why: `run ${artifact.runId} finished less than ${olderThanMs} ms ago` });
      continue;
    }
    if (!request.dryRun) {
      // Re-check just before deleting: a run with this id may have been restarted meanwhile.
      const fresh = await deps.db.selectFrom('pipeline_runs').select(['status', 'finished_at']).where('id', '=', artifact.runId!).executeTakeFirst();
      if (!fresh || fresh.status === 'running' || fresh.finished_at === null) {
        result.kept.push({ uri: artifact.uri, why: `run ${artifact.runId} started again` });
        continue;
      }
      await deps.store.delete(artifact.uri);
      heartbeat({ removed: result.removed.length + 1 });
    }
    result.removed.push(artifact.uri);
  }
  return result;
}

/** What the sweep activity returns: counts and a few examples (a store can hold millions of files; payloads stay small). */
export interface SweepSummary {
  dryRun: boolean;
  olderThanMs: number;
  scanned: number;
  referenced: number;
  /** Files removed (with dryRun: removable). */
  removed: number;
  /** Unreferenced files left in place (running or recent runs, unattributable files). */
  kept: number;
  /** Up to SAMPLE of the removed URIs. */
  removedSample: string[];
  /** Up to SAMPLE of the kept files, with why. */
  keptSample: Array<{ uri: string; why: string }>;
  elapsedMs: number;
}

const SAMPLE = 20;
export const DEFAULT_SWEEP_GRACE_MS = 3_600_000;

export function sweeperActivities(deps: ActivityDeps) {
  return {
    /** The sweep as an activity: removes what is safe to remove and returns a bounded summary. */
    async sweepArtifacts(request: SweepRequest = {}): Promise<SweepSummary> {
      const started = performance.now();
      const olderThanMs = request.olderThanMs ?? DEFAULT_SWEEP_GRACE_MS;
      const result = await sweepOrphanedArtifacts(deps, { ...request, olderThanMs });
      return {
        dryRun: !!request.dryRun,
        olderThanMs,
        scanned: result.scanned,
        referenced: result.referenced,
        removed: result.removed.length,
        kept: result.kept.length,
        removedSample: result.removed.slice(0, SAMPLE),
        keptSample: result.kept.slice(0, SAMPLE),
        elapsedMs: Math.round(performance.now() - started),
      };
    },
  };
}
