// Monitoring time series: one row per signal per monitoring window (feature drift, prediction
// drift, label drift, performance, share of drifted features), each with its value, its threshold
// and whether it fired, so charts and triggers read history from Postgres instead of recomputing it.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('monitoring_signals')
    .addColumn('model_name', 'text', (c) => c.notNull())
    // Which reference and which production-window definition produced the row ("ref=training;window=rows:2000"):
    // windows of different definitions are different series, never mixed in one chart.
    .addColumn('series', 'text', (c) => c.notNull())
    .addColumn('window_start', 'timestamptz', (c) => c.notNull())
    .addColumn('window_end', 'timestamptz', (c) => c.notNull())
    .addColumn('kind', 'text', (c) =>
      c.notNull().check(sql`kind in ('feature_drift','projection_drift','drift_share','prediction_drift','label_drift','performance')`),
    )
    // '' rather than null in the key columns: a primary key cannot hold nulls, and '' reads as "not applicable".
    .addColumn('feature', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('slice', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('statistic', 'text', (c) => c.notNull())
    // Null when the statistic is undefined on the window (AUC on one class, no labels yet).
    .addColumn('value', 'double precision')
    .addColumn('threshold', 'double precision')
    .addColumn('fires_when', 'text', (c) => c.check(sql`fires_when in ('above','below','at_least')`))
    .addColumn('fired', 'boolean', (c) => c.notNull())
    .addColumn('n_ref', 'integer', (c) => c.notNull())
    .addColumn('n_cur', 'integer', (c) => c.notNull())
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('computed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('monitoring_signals_pk', ['model_name', 'series', 'window_end', 'kind', 'feature', 'slice', 'statistic'])
    .execute();
  // Charts read one signal's history: model, series, kind, feature over time.
  await db.schema.createIndex('monitoring_signals_history').on('monitoring_signals').columns(['model_name', 'kind', 'feature', 'window_end']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('monitoring_signals').ifExists().execute();
}
