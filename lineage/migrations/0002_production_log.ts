// Second migration: the production log (every prediction a service made and every outcome event it
// saw), the columns natural labels need on labelled_examples, and the pulled-row count on datasets.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('prediction_log')
    .addColumn('request_id', 'text', (c) => c.primaryKey())
    .addColumn('model_name', 'text', (c) => c.notNull())
    .addColumn('version_id', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('served','shadow')`))
    .addColumn('unit_id', 'text')
    .addColumn('features', 'jsonb', (c) => c.notNull())
    // A scalar score (probability, regression value); multiclass scores go in prediction_detail.
    .addColumn('prediction', 'double precision')
    .addColumn('prediction_detail', 'jsonb')
    .addColumn('predicted_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('prediction_log_model_time').on('prediction_log').columns(['model_name', 'predicted_at']).execute();
  await sql`create index prediction_log_unit on prediction_log (unit_id) where unit_id is not null`.execute(db);

  await db.schema
    .createTable('outcome_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('request_id', 'text')
    .addColumn('unit_id', 'text')
    .addColumn('model_name', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    // Defaults to 1 so a bare "click" needs no value; regression rules read it (minutes waited, ...).
    .addColumn('value', 'double precision', (c) => c.notNull().defaultTo(1))
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    // An outcome nobody can join to a prediction is useless: it needs a request or a unit.
    .addCheckConstraint('outcome_events_has_key', sql`request_id is not null or unit_id is not null`)
    .execute();
  // The two join paths of the label rules: by request, and by unit within a time window.
  await sql`create index outcome_events_request on outcome_events (request_id, event_type, occurred_at) where request_id is not null`.execute(db);
  await sql`create index outcome_events_unit on outcome_events (model_name, unit_id, event_type, occurred_at) where unit_id is not null`.execute(db);

  // Natural labels are upserted by request so recomputing them never adds a second row; imported
  // history has no request id. label_available_at is when the label became known (the end of the
  // label window), so a pull "as of" a reference time never sees labels from after it.
  await db.schema.alterTable('labelled_examples').addColumn('request_id', 'text').execute();
  await db.schema.alterTable('labelled_examples').addColumn('label_source', 'text').execute();
  await db.schema.alterTable('labelled_examples').addColumn('label_available_at', 'timestamptz').execute();
  await sql`create unique index labelled_examples_model_request on labelled_examples (model_name, request_id) where request_id is not null`.execute(db);

  // Rows the pull found before curation (sampling, dedupe...) removed any: the row-count check of
  // the validation gate compares like with like.
  await db.schema.alterTable('datasets').addColumn('source_rows', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('datasets').dropColumn('source_rows').execute();
  await sql`drop index if exists labelled_examples_model_request`.execute(db);
  for (const column of ['label_available_at', 'label_source', 'request_id']) {
    await db.schema.alterTable('labelled_examples').dropColumn(column).execute();
  }
  await db.schema.dropTable('outcome_events').ifExists().execute();
  await db.schema.dropTable('prediction_log').ifExists().execute();
}
