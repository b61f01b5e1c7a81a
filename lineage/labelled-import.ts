// Loads a labelled-history file (CSV, Parquet, Arrow) into labelled_examples as a model's training
// history: every row checked first (a file with any bad row is rejected whole, its bad lines named),
// then one transaction of batched inserts. The file's content hash is recorded as the rows'
// label_source, so importing the same file twice adds nothing.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { sql, type Kysely } from 'kysely';
import { readTableFile } from '../datasets/table-files';
import type { FeatureLayout } from '../spec/feature-layout';
import type { Database } from './schema';

export interface ImportOptions {
  modelName: string;
  file: string;
  layout: FeatureLayout;
  task: string;
  timestampColumn?: string;
  labelColumn?: string;
  entityColumn?: string;
  /** Bad lines listed in the error; default 20. */
  maxErrors?: number;
}

export interface ImportResult {
  model: string;
  file: string;
  format: string;
  outcome: 'imported' | 'already_imported';
  rows: number;
  source: string;
  firstEventTime: string | null;
  lastEventTime: string | null;
}

const CHUNK_ROWS = 5_000;

export async function importLabelledFile(db: Kysely<Database>, options: ImportOptions): Promise<ImportResult> {
  const maxErrors = options.maxErrors ?? 20;
  const table = await readTableFile(options.file, {
    layout: options.layout,
    timestampColumn: options.timestampColumn,
    labelColumn: options.labelColumn,
    entityColumn: options.entityColumn,
    requireTimestamp: true,
    requireLabel: true,
    labelKind: options.task === 'binary_classification' ? 'binary' : 'numeric',
    maxErrors,
  });
  const hash = createHash('sha256').update(await readFile(options.file)).digest('hex').slice(0, 16);
  const source = `import:${hash}`;
  const times = table.timestamps!;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const t of times) {
    if (t < first) first = t;
    if (t > last) last = t;
  }
  const result: ImportResult = {
    model: options.modelName,
    file: options.file,
    format: table.format,
    outcome: 'imported',
    rows: table.rowCount,
    source,
    firstEventTime: table.rowCount ? new Date(first).toISOString() : null,
    lastEventTime: table.rowCount ? new Date(last).toISOString() : null,
  };

  const names = [...options.layout.numeric, ...options.layout.categorical];
  await db.transaction().execute(async (trx) => {
    // Serialise concurrent imports of the same model so the "already imported" check cannot race.
    await sql`select pg_advisory_xact_lock(hashtext(${`import:${options.modelName}`}))`.execute(trx);
    const existing = await trx.selectFrom('labelled_examples').select('id').where('model_name', '=', options.modelName).where('label_source', '=', source).limit(1).executeTakeFirst();
    if (existing) {
      result.outcome = 'already_imported';
      return;
    }
    for (let start = 0; start < table.rowCount; start += CHUNK_ROWS) {
      const end = Math.min(table.rowCount, start + CHUNK_ROWS);
      const at: string[] = [];
      const entity: string[] = [];
      const label: number[] = [];
      for (let i = start; i < end; i++) {
        at.push(new Date(times[i]).toISOString());
        // Without an entity column each row is its own entity (dedupe then has nothing to merge).
        entity.push(table.entityIds?.[i] ?? `${hash}:${table.rowLabel(i).replace(' ', '-')}`);
        label.push(table.labels![i]);
      }
      // Features are assembled into jsonb in SQL from one array per feature; missing values become
      // JSON null, which the pull counts as missing.
      const featureArrays = names.map((name) => {
        const numeric = table.numeric[name];
        if (numeric) return sql`${Array.from(numeric.subarray(start, end), (v) => (Number.isNaN(v) ? null : v))}::float8[]`;
        return sql`${table.categorical[name].slice(start, end)}::text[]`;
      });
      const aliases = names.map((_, j) => sql.id(`f${j}`));
      const features = names.length
        ? sql`jsonb_build_object(${sql.join(names.map((name, j) => sql`${name}::text, u.${aliases[j]}`))})`
        : sql`'{}'::jsonb`;
      await sql`
        insert into labelled_examples (model_name, entity_id, event_time, features, label, label_source)
        select ${options.modelName}, u.e, u.t, ${features}, u.y, ${source}
        from unnest(${at}::timestamptz[], ${entity}::text[], ${label}::float8[]${sql.join([sql``, ...featureArrays])})
          as u(t, e, y${sql.join([sql``, ...aliases])})`.execute(trx);
    }
  });
  return result;
}
