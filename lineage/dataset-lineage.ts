// Lineage queries about datasets: which model versions were trained on a dataset's rows (directly,
// or inherited through stateful warm starts), which datasets a version's weights have seen, the
// champion's training snapshot (the validation gate's reference), and earlier datasets' row rates.
import { sql, type Kysely } from 'kysely';
import type { Database, VersionStatus } from './schema';

export interface TrainedVersion {
  versionId: string;
  modelName: string;
  version: string;
  status: VersionStatus;
  /** 0: trained on the dataset itself; n: a stateful descendant n warm starts later. */
  depth: number;
  /** Version ids from the one trained directly on the dataset down to this one. */
  via: string[];
}

/**
 * Versions whose weights have seen rows of this dataset: those trained on it, plus every version
 * warm-started (training_mode 'stateful') from one of them, transitively. A stateless retrain starts
 * from scratch, so the chain stops there even when it records a parent.
 */
export async function versionsTrainedOnDataset(db: Kysely<Database>, datasetId: string): Promise<TrainedVersion[]> {
  const result = await sql<{ id: string; model_name: string; version: string; status: VersionStatus; depth: number; via: string[] }>`
    with recursive trained(id, via, depth) as (
      select id, array[id]::text[], 0 from model_versions where dataset_id = ${datasetId}
      union all
      select v.id, t.via || v.id, t.depth + 1
      from model_versions v join trained t on v.parent_version_id = t.id
      where v.training_mode = 'stateful'
    )
    select * from (
      -- A version reachable along several chains is reported once, by its shortest chain.
      select distinct on (v.id) v.id, v.model_name, v.version, v.status, v.major, v.minor, t.depth, t.via
      from trained t join model_versions v on v.id = t.id
      order by v.id, t.depth
    ) x
    order by major, minor, id`.execute(db);
  return result.rows.map((r) => ({ versionId: r.id, modelName: r.model_name, version: r.version, status: r.status, depth: Number(r.depth), via: r.via }));
}

export interface VersionDataset {
  datasetId: string;
  uri: string;
  rows: number;
  windowStart: Date;
  windowEnd: Date;
  /** The version that trained on it (the asked version itself, or an ancestor it was warm-started from). */
  trainedBy: string;
}

/** The inverse: every dataset whose rows a version's weights have seen, following stateful parents. */
export async function datasetsSeenByVersion(db: Kysely<Database>, versionId: string): Promise<VersionDataset[]> {
  const result = await sql<{ dataset_id: string; uri: string; row_count: number; window_start: Date; window_end: Date; trained_by: string }>`
    with recursive chain(id, parent, mode) as (
      select id, parent_version_id, training_mode from model_versions where id = ${versionId}
      union all
      select v.id, v.parent_version_id, v.training_mode from model_versions v join chain c on v.id = c.parent where c.mode = 'stateful'
    )
    select d.id as dataset_id, d.uri, d.row_count, d.window_start, d.window_end, v.id as trained_by
    from chain c join model_versions v on v.id = c.id join datasets d on d.id = v.dataset_id
    order by d.window_end`.execute(db);
  return result.rows.map((r) => ({ datasetId: r.dataset_id, uri: r.uri, rows: Number(r.row_count), windowStart: r.window_start, windowEnd: r.window_end, trainedBy: r.trained_by }));
}

/** The current champion's training snapshot, the validation gate's default reference. */
export async function championTrainingDataset(db: Kysely<Database>, modelName: string): Promise<{ versionId: string; datasetId: string; uri: string } | undefined> {
  const row = await db
    .selectFrom('deployments as dep')
    .innerJoin('model_versions as v', 'v.id', 'dep.version_id')
    .innerJoin('datasets as d', 'd.id', 'v.dataset_id')
    .select(['v.id as versionId', 'd.id as datasetId', 'd.uri as uri'])
    .where('dep.model_name', '=', modelName)
    .where('dep.mode', '=', 'champion')
    .where('dep.ended_at', 'is', null)
    .executeTakeFirst();
  return row;
}

/**
 * Rows per window-day of the model's latest datasets, newest first: the row-count check's history.
 * Pulled rows (source_rows) are compared when known, so curation's sampling does not skew it.
 */
export async function recentDatasetRowRates(db: Kysely<Database>, modelName: string, limit: number, exclude: { start: string; end: string } | null = null): Promise<number[]> {
  let query = db
    .selectFrom('datasets')
    .select(['row_count', 'source_rows', 'window_start', 'window_end'])
    .where('model_name', '=', modelName)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(limit);
  // The same window asked again is not "history" for itself.
  if (exclude) query = query.where((eb) => eb.not(eb.and([eb('window_start', '=', new Date(exclude.start)), eb('window_end', '=', new Date(exclude.end))])));
  const rows = await query.execute();
  return rows.map((r) => {
    const days = (new Date(r.window_end).getTime() - new Date(r.window_start).getTime()) / 86_400_000;
    return (r.source_rows ?? r.row_count) / Math.max(days, 1e-9);
  });
}
