// Training lineage for stateful updates: which architecture a version has (a change is a model
// iteration and forces a stateless retrain), where its resumable checkpoint is, and why the run
// trained the way it did.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('model_versions')
    .addColumn('architecture_hash', 'text')
    .addColumn('checkpoint_uri', 'text')
    .addColumn('training_reason', 'text')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('model_versions').dropColumn('architecture_hash').dropColumn('checkpoint_uri').dropColumn('training_reason').execute();
}
