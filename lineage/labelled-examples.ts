// Bulk writes of already-labelled history (the source the first retrain DAG pulls from):
// multi-row inserts in chunks, never one round trip per row.
import type { Kysely } from 'kysely';
import type { LabelledExample } from '../scenarios/ctr-history';
import type { Database } from './schema';

const CHUNK_ROWS = 1_000;

export async function insertLabelledExamples(db: Kysely<Database>, modelName: string, rows: readonly LabelledExample[]): Promise<number> {
  for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
    const chunk = rows.slice(start, start + CHUNK_ROWS);
    await db
      .insertInto('labelled_examples')
      .values(
        chunk.map((row) => ({
          model_name: modelName,
          entity_id: row.entityId,
          event_time: row.eventTime,
          features: JSON.stringify(row.features),
          label: row.label,
        })),
      )
      .execute();
  }
  return rows.length;
}

export async function deleteLabelledExamples(db: Kysely<Database>, modelName: string): Promise<number> {
  const result = await db.deleteFrom('labelled_examples').where('model_name', '=', modelName).executeTakeFirst();
  return Number(result.numDeletedRows);
}
