// Lineage questions a person asks: a version's ancestry (parents up to the first full retrain and
// beyond) with the dataset and evaluation of each, the champion at a moment, and a model's history.
import type { Kysely } from 'kysely';
import type { Database, DatasetRow, EvaluationRow, ModelVersionRow } from './schema';

export interface AncestryNode {
  version: ModelVersionRow;
  dataset: DatasetRow | null;
  evaluation: EvaluationRow | null;
}

/** The version and its parents, newest first (stateless versions record the version they replaced). */
export async function ancestry(db: Kysely<Database>, versionId: string, maxDepth = 100): Promise<AncestryNode[]> {
  const chain: AncestryNode[] = [];
  let current: string | null = versionId;
  while (current && chain.length < maxDepth) {
    const version = await db.selectFrom('model_versions').selectAll().where('id', '=', current).executeTakeFirst();
    if (!version) break;
    const dataset = (await db.selectFrom('datasets').selectAll().where('id', '=', version.dataset_id).executeTakeFirst()) ?? null;
    const evaluation = (await db.selectFrom('evaluations').selectAll().where('version_id', '=', version.id).orderBy('created_at', 'desc').executeTakeFirst()) ?? null;
    chain.push({ version, dataset, evaluation });
    current = version.parent_version_id;
  }
  return chain;
}

/** The version that served as champion at instant `at` (from the deployment history), or null. */
export async function championAt(db: Kysely<Database>, model: string, at: Date): Promise<ModelVersionRow | null> {
  const row = await db
    .selectFrom('deployments as d')
    .innerJoin('model_versions as v', 'v.id', 'd.version_id')
    .selectAll('v')
    .where('d.model_name', '=', model)
    .where('d.mode', '=', 'champion')
    .where('d.started_at', '<=', at)
    .where((eb) => eb.or([eb('d.ended_at', 'is', null), eb('d.ended_at', '>', at)]))
    .orderBy('d.started_at', 'desc')
    .executeTakeFirst();
  return row ?? null;
}

export interface ModelHistoryEntry {
  version: ModelVersionRow;
  evaluation: EvaluationRow | null;
  trigger: string | null;
}

/** Every version of a model, oldest first, with its evaluation and the trigger of its run. */
export async function modelHistory(db: Kysely<Database>, model: string): Promise<ModelHistoryEntry[]> {
  const versions = await db.selectFrom('model_versions').selectAll().where('model_name', '=', model).orderBy('created_at').execute();
  const evaluations = await db.selectFrom('evaluations').selectAll().where('version_id', 'in', versions.length ? versions.map((v) => v.id) : ['']).execute();
  const runs = await db.selectFrom('pipeline_runs').select(['id', 'trigger']).where('model_name', '=', model).execute();
  const trigger = new Map(runs.map((r) => [r.id, r.trigger]));
  return versions.map((version) => ({
    version,
    evaluation: evaluations.find((e) => e.version_id === version.id) ?? null,
    trigger: trigger.get(version.pipeline_run_id) ?? null,
  }));
}
