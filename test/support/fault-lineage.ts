// Invariants the fault suite checks after crashes and outages: no duplicate lineage rows per
// pipeline run or content hash, one open champion per model, every URI lineage names exists in the
// artifact store, and every file in the store is accounted for (activities/sweeper.ts classifies).
import { sql, type Kysely } from 'kysely';
import type { ActivityDeps } from '../../activities/deps';
import { classifyArtifacts, type ClassifiedArtifact } from '../../activities/sweeper';
import type { Database } from '../../lineage/schema';

/** Rows that would be duplicates of one another; [] when lineage is clean. */
export async function duplicateLineageRows(db: Kysely<Database>): Promise<string[]> {
  const problems: string[] = [];
  const dupes = async (what: string, query: Promise<Array<{ key: string | null; n: number }>>) => {
    for (const row of await query) if (Number(row.n) > 1) problems.push(`${what} ${row.key}: ${row.n} rows`);
  };
  await dupes('model_versions per pipeline run', db.selectFrom('model_versions').select(['pipeline_run_id as key', sql<number>`count(*)::int`.as('n')]).groupBy('pipeline_run_id').execute());
  await dupes('model_versions per (model, version)', db.selectFrom('model_versions').select([sql<string>`model_name || '@' || version`.as('key'), sql<number>`count(*)::int`.as('n')]).groupBy(['model_name', 'version']).execute());
  await dupes('evaluations per pipeline run', db.selectFrom('evaluations').select(['pipeline_run_id as key', sql<number>`count(*)::int`.as('n')]).groupBy('pipeline_run_id').execute());
  await dupes('datasets per (model, content hash)', db.selectFrom('datasets').select([sql<string>`model_name || ':' || content_hash`.as('key'), sql<number>`count(*)::int`.as('n')]).groupBy(['model_name', 'content_hash']).execute());
  await dupes('datasets per URI', db.selectFrom('datasets').select(['uri as key', sql<number>`count(*)::int`.as('n')]).groupBy('uri').execute());
  await dupes('test sets per model', db.selectFrom('test_sets').select(['model_name as key', sql<number>`count(*)::int`.as('n')]).groupBy('model_name').execute());
  await dupes(
    'champion deployments per pipeline run',
    db.selectFrom('deployments').select(['pipeline_run_id as key', sql<number>`count(*)::int`.as('n')]).where('mode', '=', 'champion').where('pipeline_run_id', 'is not', null).groupBy('pipeline_run_id').execute(),
  );
  await dupes('open champion deployments per model', db.selectFrom('deployments').select(['model_name as key', sql<number>`count(*)::int`.as('n')]).where('mode', '=', 'champion').where('ended_at', 'is', null).groupBy('model_name').execute());
  await dupes('champion versions per model', db.selectFrom('model_versions').select(['model_name as key', sql<number>`count(*)::int`.as('n')]).where('status', '=', 'champion').groupBy('model_name').execute());
  await dupes('rollouts per pipeline run', db.selectFrom('rollouts').select(['pipeline_run_id as key', sql<number>`count(*)::int`.as('n')]).where('pipeline_run_id', 'is not', null).groupBy('pipeline_run_id').execute());
  await dupes('routing changes per change key', db.selectFrom('routing_changes').select([sql<string>`model_name || ':' || change_key`.as('key'), sql<number>`count(*)::int`.as('n')]).groupBy(['model_name', 'change_key']).execute());
  // Version numbers of a model have no gaps: a gap means a version row was written twice and one removed, or numbering raced.
  for (const row of await db.selectFrom('model_versions').select(['model_name', sql<number[]>`array_agg(major order by major)`.as('majors')]).where('minor', '=', 0).groupBy('model_name').execute()) {
    const majors = row.majors.map(Number);
    majors.forEach((m, i) => {
      if (m !== i + 1) problems.push(`model ${row.model_name}: major versions ${majors.join(',')} are not 1..${majors.length}`);
    });
  }
  return [...new Set(problems)];
}

/** Every URI named by lineage (of `models`, default all) that the store does not have. */
export async function missingArtifacts(deps: ActivityDeps, models?: string[]): Promise<string[]> {
  const { db, store } = deps;
  const named: Array<[string, string]> = [];
  const keep = (model: string) => !models || models.includes(model);
  for (const d of (await db.selectFrom('datasets').select(['id', 'uri', 'model_name']).execute()).filter((r) => keep(r.model_name))) {
    named.push([d.uri, `datasets ${d.id}`], [d.uri.replace(/data\.arrow$/, 'manifest.json'), `manifest of ${d.id}`]);
  }
  for (const v of (await db.selectFrom('model_versions').select(['id', 'artifact_uri', 'checkpoint_uri', 'model_name']).execute()).filter((r) => keep(r.model_name))) {
    named.push([v.artifact_uri, `artifact of ${v.id}`]);
    if (v.checkpoint_uri) named.push([v.checkpoint_uri, `checkpoint of ${v.id}`]);
  }
  for (const e of (await db.selectFrom('evaluations').innerJoin('model_versions', 'model_versions.id', 'evaluations.version_id').select(['evaluations.id', 'report_uri', 'report_json_uri', 'model_name']).execute()).filter((r) => keep(r.model_name))) {
    if (e.report_uri) named.push([e.report_uri, `report card of ${e.id}`]);
    if (e.report_json_uri) named.push([e.report_json_uri, `report card JSON of ${e.id}`]);
  }
  for (const t of (await db.selectFrom('test_sets').select(['id', 'uri', 'model_name']).execute()).filter((r) => keep(r.model_name))) named.push([t.uri, `test set ${t.id}`]);
  const missing: string[] = [];
  for (const [uri, what] of named) if (!(await store.exists(uri))) missing.push(`${what}: ${uri}`);
  return missing;
}

export interface ArtifactCensus {
  total: number;
  byClass: Record<string, number>;
  /** Unreferenced files grouped by what they are (detail without the run id). */
  scratchKinds: Record<string, number>;
  orphans: ClassifiedArtifact[];
}

export async function artifactCensus(deps: ActivityDeps): Promise<ArtifactCensus> {
  const { artifacts } = await classifyArtifacts(deps);
  const byClass: Record<string, number> = {};
  const scratchKinds: Record<string, number> = {};
  for (const a of artifacts) {
    byClass[a.class] = (byClass[a.class] ?? 0) + 1;
    if (a.class === 'run-scratch') {
      const kind = a.detail.replace(/ \(run .*$| of run .*$/, '');
      scratchKinds[kind] = (scratchKinds[kind] ?? 0) + 1;
    }
  }
  return { total: artifacts.length, byClass, scratchKinds, orphans: artifacts.filter((a) => a.class === 'orphan') };
}
