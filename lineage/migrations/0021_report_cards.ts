// Report cards and sign-off: evaluations keep both report files, the gate's third outcome
// (needs approval) and who approved or rejected the candidate; static test sets are frozen,
// versioned rows per model that no training run may use.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table evaluations drop constraint if exists evaluations_decision_check`.execute(db);
  await sql`alter table evaluations add constraint evaluations_decision_check check (decision in ('pass','fail','needs_approval'))`.execute(db);
  await db.schema
    .alterTable('evaluations')
    .addColumn('report_json_uri', 'text')
    .addColumn('approval', 'text') // approved | rejected | null (no approval asked)
    .addColumn('approved_by', 'text')
    .addColumn('approval_comment', 'text')
    .addColumn('approved_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('test_sets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('model_name', 'text', (c) => c.notNull().references('models.name'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('uri', 'text', (c) => c.notNull())
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .addColumn('row_count', 'integer', (c) => c.notNull())
    .addColumn('window_start', 'timestamptz', (c) => c.notNull())
    .addColumn('window_end', 'timestamptz', (c) => c.notNull())
    .addColumn('frozen_by_run', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('test_sets_model_version_unique', ['model_name', 'version'])
    .execute();
  await db.schema
    .createTable('test_set_rows')
    .addColumn('test_set_id', 'text', (c) => c.notNull().references('test_sets.id'))
    .addColumn('model_name', 'text', (c) => c.notNull())
    .addColumn('example_id', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('test_set_rows_pk', ['test_set_id', 'example_id'])
    .execute();
  // The pull excludes a model's test-set rows with an anti-join on this.
  await db.schema.createIndex('test_set_rows_model_example').on('test_set_rows').columns(['model_name', 'example_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('test_set_rows').ifExists().execute();
  await db.schema.dropTable('test_sets').ifExists().execute();
  await db.schema.alterTable('evaluations').dropColumn('report_json_uri').dropColumn('approval').dropColumn('approved_by').dropColumn('approval_comment').dropColumn('approved_at').execute();
}
