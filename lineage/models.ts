// Model registry writes and reads: applying a spec (idempotent upsert keyed by name and spec hash)
// and the lineage queries the client and CLI show.
import type { Kysely } from 'kysely';
import type { DependencyGraph } from '../lifecycle/dependencies';
import { parseModelSpec, specHash, type ModelSpec } from '../spec/model-spec';
import type { Database, ModelVersionRow } from './schema';

export interface ApplyResult {
  model: string;
  specHash: string;
  /** created: new model; updated: spec changed; unchanged: the same spec was applied again. */
  outcome: 'created' | 'updated' | 'unchanged';
  spec: ModelSpec;
}

export async function applyModelSpec(db: Kysely<Database>, input: unknown): Promise<ApplyResult> {
  const spec = parseModelSpec(input);
  const hash = specHash(spec);
  const existing = await db.selectFrom('models').select(['spec_hash']).where('name', '=', spec.name).executeTakeFirst();
  if (existing?.spec_hash === hash) return { model: spec.name, specHash: hash, outcome: 'unchanged', spec };
  await db
    .insertInto('models')
    .values({ name: spec.name, spec: JSON.stringify(spec), spec_hash: hash, stage: spec.stage, updated_at: new Date() })
    .onConflict((oc) => oc.column('name').doUpdateSet({ spec: JSON.stringify(spec), spec_hash: hash, stage: spec.stage, updated_at: new Date() }))
    .execute();
  return { model: spec.name, specHash: hash, outcome: existing ? 'updated' : 'created', spec };
}

/** Each model's upstream models (spec.dependsOn), for cycle checks and cascades. */
export async function dependencyGraph(db: Kysely<Database>): Promise<DependencyGraph> {
  const rows = await db.selectFrom('models').select(['name', 'spec']).execute();
  return new Map(rows.map((row) => [row.name, (row.spec as { dependsOn?: string[] }).dependsOn ?? []]));
}

export async function currentChampion(db: Kysely<Database>, modelName: string): Promise<ModelVersionRow | undefined> {
  return db
    .selectFrom('deployments as d')
    .innerJoin('model_versions as v', 'v.id', 'd.version_id')
    .selectAll('v')
    .where('d.model_name', '=', modelName)
    .where('d.mode', '=', 'champion')
    .where('d.ended_at', 'is', null)
    .executeTakeFirst();
}

export async function listVersions(db: Kysely<Database>, modelName: string): Promise<ModelVersionRow[]> {
  return db.selectFrom('model_versions').selectAll().where('model_name', '=', modelName).orderBy('major').orderBy('minor').execute();
}
