// First migration: the lineage core (models, versions, datasets, runs, evaluations, deployments)
// and the labelled-examples source table the first DAG pulls from.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('models')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('spec', 'jsonb', (c) => c.notNull())
    .addColumn('spec_hash', 'text', (c) => c.notNull())
    .addColumn('stage', 'integer', (c) => c.notNull().check(sql`stage between 1 and 4`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('datasets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('model_name', 'text', (c) => c.notNull().references('models.name'))
    .addColumn('window_start', 'timestamptz', (c) => c.notNull())
    .addColumn('window_end', 'timestamptz', (c) => c.notNull())
    .addColumn('row_count', 'integer', (c) => c.notNull())
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .addColumn('uri', 'text', (c) => c.notNull())
    .addColumn('manifest', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('datasets_model_hash_unique', ['model_name', 'content_hash'])
    .execute();

  await db.schema
    .createTable('pipeline_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('model_name', 'text', (c) => c.notNull().references('models.name'))
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('stage', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('current_step', 'text', (c) => c.notNull())
    .addColumn('candidate_version_id', 'text')
    .addColumn('error', 'text')
    .addColumn('timings', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('finished_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('model_versions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('model_name', 'text', (c) => c.notNull().references('models.name'))
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('major', 'integer', (c) => c.notNull())
    .addColumn('minor', 'integer', (c) => c.notNull())
    .addColumn('parent_version_id', 'text', (c) => c.references('model_versions.id'))
    .addColumn('training_mode', 'text', (c) => c.notNull().check(sql`training_mode in ('stateless','stateful')`))
    .addColumn('iteration_kind', 'text', (c) => c.notNull().check(sql`iteration_kind in ('data','model')`))
    .addColumn('spec_hash', 'text', (c) => c.notNull())
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id'))
    .addColumn('artifact_uri', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('metrics', 'jsonb', (c) => c.notNull())
    .addColumn('samples_seen', 'bigint', (c) => c.notNull())
    .addColumn('high_water_mark', 'timestamptz', (c) => c.notNull())
    .addColumn('pipeline_run_id', 'text', (c) => c.notNull().unique().references('pipeline_runs.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('model_versions_model_version_unique', ['model_name', 'version'])
    .execute();

  await db.schema
    .createTable('evaluations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('pipeline_run_id', 'text', (c) => c.notNull().references('pipeline_runs.id'))
    .addColumn('version_id', 'text', (c) => c.notNull().references('model_versions.id'))
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id'))
    .addColumn('metrics', 'jsonb', (c) => c.notNull())
    .addColumn('decision', 'text', (c) => c.notNull().check(sql`decision in ('pass','fail')`))
    .addColumn('reasons', 'jsonb', (c) => c.notNull())
    .addColumn('report_uri', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('deployments')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('model_name', 'text', (c) => c.notNull().references('models.name'))
    .addColumn('version_id', 'text', (c) => c.notNull().references('model_versions.id'))
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('traffic_percent', 'double precision', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('pipeline_run_id', 'text', (c) => c.references('pipeline_runs.id'))
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ended_at', 'timestamptz')
    .execute();
  // At most one serving champion per model: promotion ends the old row and inserts the new one.
  await sql`create unique index deployments_one_champion on deployments (model_name) where mode = 'champion' and ended_at is null`.execute(db);
  // A retried promotion of the same run must not add a second row.
  await sql`create unique index deployments_run_mode_unique on deployments (pipeline_run_id, mode, version_id) where pipeline_run_id is not null`.execute(db);

  await db.schema
    .createTable('labelled_examples')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('model_name', 'text', (c) => c.notNull())
    .addColumn('entity_id', 'text', (c) => c.notNull())
    .addColumn('event_time', 'timestamptz', (c) => c.notNull())
    .addColumn('features', 'jsonb', (c) => c.notNull())
    .addColumn('label', 'double precision', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('labelled_examples_model_time').on('labelled_examples').columns(['model_name', 'event_time']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['labelled_examples', 'deployments', 'evaluations', 'model_versions', 'pipeline_runs', 'datasets', 'models']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
