// Static test sets in lineage: removing a model's frozen sets (used when its labelled history is
// replaced wholesale, e.g. the demo reseeding, so stale row ids cannot leak into training).
import type { Kysely } from 'kysely';
import type { Database } from './schema';

export async function deleteTestSets(db: Kysely<Database>, modelName: string): Promise<void> {
  await db.deleteFrom('test_set_rows').where('model_name', '=', modelName).execute();
  await db.deleteFrom('test_sets').where('model_name', '=', modelName).execute();
}
