// Value-of-freshness experiments (workflows/freshness.ts): one row per experiment with its
// metric-vs-staleness curve and recommended retraining interval, so lineage can answer "how often
// should this model retrain, and on what evidence" next to its versions.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('freshness_experiments')
    .addColumn('id', 'text', (c) => c.primaryKey()) // the workflow id, freshness/<model>/<key>
    .addColumn('model_name', 'text', (c) => c.notNull().references('models.name'))
    .addColumn('reference_time', 'timestamptz', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('tolerance', 'double precision', (c) => c.notNull())
    .addColumn('train_window_days', 'double precision', (c) => c.notNull())
    .addColumn('test_days', 'double precision', (c) => c.notNull())
    // [{ ageDays, start, end, value, rows, ... }] in age order.
    .addColumn('curve', 'jsonb', (c) => c.notNull())
    .addColumn('max_staleness_days', 'double precision')
    .addColumn('recommended_interval_days', 'double precision')
    .addColumn('recommendation', 'text', (c) => c.notNull())
    .addColumn('artifact_uri', 'text', (c) => c.notNull())
    .addColumn('report_uri', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('freshness_experiments_model_created').on('freshness_experiments').columns(['model_name', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('freshness_experiments').ifExists().execute();
}
