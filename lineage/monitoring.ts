// Monitoring reads and writes in Postgres: the served rows of a window streamed from prediction_log
// (features, the served score, the natural label once known) chunk by chunk through a server-side
// cursor (PGlite, which cannot stream, pages by keyset instead), the labelled-history fallback for
// models without a prediction log, and the monitoring_signals time series (one window's rows
// replaced as a unit, so a re-run of the same window never duplicates a point).
import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { Database, MonitoringSignalKind } from './schema';

/** One streamed row; features come as positional aliases f0..fn so names never clash with SQL. */
export interface LoggedRow {
  rid: string;
  /** Prediction (or event) time, ms since epoch. */
  t: number;
  p: number | null;
  y: number | null;
  /** The version that served the row (null for labelled history). */
  v: string | null;
  [alias: string]: unknown;
}

export interface ServedRowsQuery {
  modelName: string;
  /** Feature names to read from the features jsonb, in alias order (f0, f1, ...). */
  features: readonly string[];
  /** Rows strictly before this instant. */
  end: string;
  /** Rows at or after this instant; unset: no lower bound. */
  start?: string;
  /** At most this many rows, newest first; unset: all. */
  limit?: number;
  /** A label counts only once known: label_available_at at or before this instant. */
  labelsAsOf: string;
}

export interface LabelledRowsQuery {
  modelName: string;
  features: readonly string[];
  end: string;
  limit: number;
}

/** Reads one feature per alias from a jsonb column; the driver parses each value (number stays number). */
function featureColumns(table: string, features: readonly string[]) {
  return features.map((name, i) => sql`${sql.ref(`${table}.features`)}->${name} as ${sql.id(`f${i}`)}`);
}

function cannotStream(error: unknown): boolean {
  const message = (error as Error)?.message ?? '';
  return /does not support streaming|'cursor' is not present/.test(message);
}

/**
 * Yields the query's rows in chunks: one server-side cursor on PostgreSQL; on a driver that
 * cannot stream, keyset pages (`page(last, limit)`) until `maxRows` or the end.
 */
async function* streamChunks(
  db: Kysely<Database>,
  all: RawBuilder<LoggedRow>,
  page: (last: LoggedRow | undefined, limit: number) => RawBuilder<LoggedRow>,
  chunkRows: number,
  maxRows: number,
): AsyncGenerator<LoggedRow[]> {
  let streamed = false;
  try {
    for await (const result of db.getExecutor().stream(all.compile(db), chunkRows)) {
      streamed = true;
      yield result.rows as LoggedRow[];
    }
    return;
  } catch (error) {
    // Only the "this driver cannot stream" error, raised before any row, selects the fallback.
    if (streamed || !cannotStream(error)) throw error;
  }
  let last: LoggedRow | undefined;
  let rows = 0;
  while (rows < maxRows) {
    const limit = Math.min(chunkRows, maxRows - rows);
    const chunk = (await page(last, limit).execute(db)).rows;
    if (chunk.length > 0) yield chunk;
    rows += chunk.length;
    if (chunk.length < limit) return;
    last = chunk[chunk.length - 1];
  }
}

/**
 * The served predictions of a window, newest first, each with the natural label when it was known
 * by `labelsAsOf`. Shadow predictions are skipped: they are a second score of a served request.
 */
export function streamServedRows(db: Kysely<Database>, query: ServedRowsQuery, chunkRows = 5_000): AsyncGenerator<LoggedRow[]> {
  const columns = sql.join([
    sql`p.request_id as rid`,
    sql`floor(extract(epoch from p.predicted_at) * 1000)::float8 as t`,
    sql`p.prediction as p`,
    sql`l.label as y`,
    sql`p.version_id as v`,
    ...featureColumns('p', query.features),
  ]);
  const where = sql`model_name = ${query.modelName} and mode = 'served' and predicted_at < ${query.end}::timestamptz
    ${query.start ? sql`and predicted_at >= ${query.start}::timestamptz` : sql``}`;
  const order = sql`order by predicted_at desc, request_id desc`;
  // The window's rows are chosen first (newest first along the (model_name, predicted_at) index) and
  // only then joined to their labels: joining first would probe the labels of the whole history.
  // The natural-label upsert keys labelled_examples by (model_name, request_id): one probe per row.
  const joined = (window: RawBuilder<unknown>) => sql<LoggedRow>`select ${columns} from (${window}) p
    left join labelled_examples l on l.model_name = p.model_name and l.request_id = p.request_id
     and (l.label_available_at is null or l.label_available_at <= ${query.labelsAsOf}::timestamptz)
    order by p.predicted_at desc, p.request_id desc`;
  const maxRows = query.limit ?? Number.MAX_SAFE_INTEGER;
  return streamChunks(
    db,
    joined(sql`select * from prediction_log where ${where} ${order} ${query.limit ? sql`limit ${query.limit}` : sql``}`),
    (last, limit) =>
      // The last row's exact (microsecond) time comes from the table, not from the ms number.
      joined(sql`select * from prediction_log where ${where}
        ${last ? sql`and (predicted_at, request_id) < ((select predicted_at from prediction_log where request_id = ${last.rid}), ${last.rid})` : sql``}
        ${order} limit ${limit}`),
    chunkRows,
    maxRows,
  );
}

/** The latest labelled rows of a model (features and label), newest first: the fallback for models that log no predictions. */
export function streamLatestLabelledRows(db: Kysely<Database>, query: LabelledRowsQuery, chunkRows = 5_000): AsyncGenerator<LoggedRow[]> {
  const columns = sql.join([
    sql`l.id::text as rid`,
    sql`floor(extract(epoch from l.event_time) * 1000)::float8 as t`,
    sql`null::float8 as p`,
    sql`l.label as y`,
    sql`null::text as v`,
    ...featureColumns('l', query.features),
  ]);
  const where = sql`l.model_name = ${query.modelName} and l.event_time < ${query.end}::timestamptz`;
  const order = sql`order by l.event_time desc, l.id desc`;
  return streamChunks(
    db,
    sql<LoggedRow>`select ${columns} from labelled_examples l where ${where} ${order} limit ${query.limit}`,
    (last, limit) =>
      sql<LoggedRow>`select ${columns} from labelled_examples l where ${where}
        ${last ? sql`and (l.event_time, l.id) < ((select event_time from labelled_examples where id = ${last.rid}::bigint), ${last.rid}::bigint)` : sql``}
        ${order} limit ${limit}`,
    chunkRows,
    query.limit,
  );
}

/** Whether the model has any served prediction before `end`. */
export async function hasServedPredictions(db: Kysely<Database>, modelName: string, end: string): Promise<boolean> {
  const row = await db
    .selectFrom('prediction_log')
    .select('request_id')
    .where('model_name', '=', modelName)
    .where('mode', '=', 'served')
    .where('predicted_at', '<', new Date(end))
    .limit(1)
    .executeTakeFirst();
  return !!row;
}

/** A signal as stored (see monitoring/signal-row.ts for the meaning of each field). */
export interface StoredSignal {
  kind: MonitoringSignalKind;
  feature: string;
  slice: string;
  statistic: string;
  value: number | null;
  threshold: number | null;
  firesWhen: 'above' | 'below' | 'at_least' | null;
  fired: boolean;
  nRef: number;
  nCur: number;
  detail: Record<string, unknown>;
}

export interface WindowKey {
  modelName: string;
  series: string;
  windowStart: string;
  windowEnd: string;
}

// Non-finite values (an infinite normalised Wasserstein on a constant reference) are valid float8;
// jsonb has no Infinity, so detail values are made JSON-safe by JSON.stringify (to null).
const INSERT_CHUNK = 1_000;

/**
 * Replaces one window's signals: deletes whatever an earlier run of the same (model, series,
 * window_end) stored and inserts the new rows, in one transaction, so a retried or repeated run
 * leaves exactly one set of rows. Returns the number stored.
 */
export async function storeWindowSignals(db: Kysely<Database>, key: WindowKey, signals: readonly StoredSignal[]): Promise<number> {
  const seen = new Set<string>();
  for (const s of signals) {
    const id = `${s.kind}|${s.feature}|${s.slice}|${s.statistic}`;
    if (seen.has(id)) throw new Error(`monitoring: two signals share the key ${id} in one window; each (kind, feature, slice, statistic) is stored once`);
    seen.add(id);
  }
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('monitoring_signals').where('model_name', '=', key.modelName).where('series', '=', key.series).where('window_end', '=', new Date(key.windowEnd)).execute();
    for (let start = 0; start < signals.length; start += INSERT_CHUNK) {
      await trx
        .insertInto('monitoring_signals')
        .values(
          signals.slice(start, start + INSERT_CHUNK).map((s) => ({
            model_name: key.modelName,
            series: key.series,
            window_start: new Date(key.windowStart),
            window_end: new Date(key.windowEnd),
            kind: s.kind,
            feature: s.feature,
            slice: s.slice,
            statistic: s.statistic,
            value: s.value === null || Number.isNaN(s.value) ? null : s.value,
            threshold: s.threshold,
            fires_when: s.firesWhen,
            fired: s.fired,
            n_ref: s.nRef,
            n_cur: s.nCur,
            detail: JSON.stringify(s.detail),
          })),
        )
        // Two concurrent runs of the same window: the later insert wins instead of failing.
        .onConflict((oc) =>
          oc.columns(['model_name', 'series', 'window_end', 'kind', 'feature', 'slice', 'statistic']).doUpdateSet((eb) => ({
            window_start: eb.ref('excluded.window_start'),
            value: eb.ref('excluded.value'),
            threshold: eb.ref('excluded.threshold'),
            fires_when: eb.ref('excluded.fires_when'),
            fired: eb.ref('excluded.fired'),
            n_ref: eb.ref('excluded.n_ref'),
            n_cur: eb.ref('excluded.n_cur'),
            detail: eb.ref('excluded.detail'),
            computed_at: sql`now()`,
          })),
        )
        .execute();
    }
  });
  return signals.length;
}

export interface SeriesRow extends StoredSignal {
  windowStart: Date;
  windowEnd: Date;
}

/** The signals of a series' latest `windows` windows, oldest window first. */
export async function readSeries(db: Kysely<Database>, modelName: string, series: string, windows = 60): Promise<SeriesRow[]> {
  const rows = await db
    .selectFrom('monitoring_signals')
    .selectAll()
    .where('model_name', '=', modelName)
    .where('series', '=', series)
    .where('window_end', 'in', (eb) =>
      eb.selectFrom('monitoring_signals').select('window_end').distinct().where('model_name', '=', modelName).where('series', '=', series).orderBy('window_end', 'desc').limit(windows),
    )
    .orderBy('window_end')
    .orderBy('kind')
    .orderBy('slice')
    .orderBy('feature')
    .orderBy('statistic')
    .execute();
  return rows.map(seriesRowOf);
}

/** A monitoring_signals row as the typed signal (numeric columns come back from pg as strings). */
export function seriesRowOf(r: Selectable<Database['monitoring_signals']>): SeriesRow {
  return {
    windowStart: new Date(r.window_start),
    windowEnd: new Date(r.window_end),
    kind: r.kind,
    feature: r.feature,
    slice: r.slice,
    statistic: r.statistic,
    value: r.value === null ? null : Number(r.value),
    threshold: r.threshold === null ? null : Number(r.threshold),
    firesWhen: r.fires_when,
    fired: r.fired,
    nRef: r.n_ref,
    nCur: r.n_cur,
    detail: r.detail,
  };
}
