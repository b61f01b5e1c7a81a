// Reads a model's labelled rows for a time window from its source — the built-in labelled_examples
// table or any Postgres table named in the spec — as a stream of row chunks in a deterministic order.
// On PostgreSQL it uses a server-side cursor (one query, rows fetched chunk by chunk); embedded PGlite
// cannot stream, so there it falls back to pages (keyset for labelled_examples, offset for tables).
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { TableSource } from '../spec/data-spec';
import type { FeatureLayout } from '../spec/feature-layout';
import type { Database } from './schema';

/**
 * One source row, with positional aliases so feature names never clash with SQL keywords:
 * f0..fn are the layout's numeric then categorical features, a0..am the auxiliary columns.
 */
export interface SourceRow {
  /** Source row id for messages (labelled_examples id, or the row's position in the window). */
  rid: string;
  /** Event time, ms since epoch (numbers, not Dates: no object per row on a 2M-row pull). */
  t: number;
  /** When the label became known, ms since epoch; null when known at event time. */
  la: number | null;
  e: string | null;
  y: unknown;
  [alias: string]: unknown;
}

export interface WindowQuery {
  modelName: string;
  source: 'labelled_examples' | TableSource;
  layout: FeatureLayout;
  auxiliary: readonly string[];
  /** [start, end) on the event time; with a high-water mark also strictly after it. */
  start: string;
  end: string;
  since?: string | null;
}

export class SourceError extends Error {
  override name = 'SourceError';
  constructor(
    message: string,
    /** The spec field to fix, e.g. data.source.columns.age. */
    readonly field: string,
  ) {
    super(message);
  }
}

export function featureAliases(layout: FeatureLayout): string[] {
  return [...layout.numeric, ...layout.categorical].map((_, i) => `f${i}`);
}

const NUMERIC_TYPES = new Set(['smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision']);
const TIME_TYPES = new Set(['timestamp with time zone', 'timestamp without time zone', 'date']);

interface Plan {
  /** The whole window in order, for a cursor. */
  all: RawBuilder<SourceRow>;
  /** The next page after the given last row (fallback when the driver cannot stream). */
  page(last: SourceRow | undefined, rowsSoFar: number, limit: number): RawBuilder<SourceRow>;
  describe: { kind: 'labelled_examples' | 'table'; table: string; query: string };
}

/** A timestamp as whole milliseconds since the epoch (float8), the unit every snapshot uses. */
function epochMs(column: RawBuilder<unknown>) {
  return sql`floor(extract(epoch from ${column}) * 1000)::float8`;
}

/** [start, end), and strictly after the high-water mark when there is one (the window start still bounds it). */
function timeFilter(column: RawBuilder<unknown>, query: WindowQuery) {
  const since = query.since ? sql` and ${column} > ${query.since}::timestamptz` : sql``;
  return sql`${column} >= ${query.start}::timestamptz${since} and ${column} < ${query.end}::timestamptz`;
}

function labelledExamplesPlan(query: WindowQuery): Plan {
  const names = [...query.layout.numeric, ...query.layout.categorical];
  // features->'x' returns the jsonb value, which the driver parses: a number stays a number and a
  // string a string, so types are checked on the value, not guessed from text.
  const columns = sql.join([
    sql`id::text as rid, ${epochMs(sql.ref('event_time'))} as t, ${epochMs(sql.ref('label_available_at'))} as la, entity_id as e, label as y`,
    ...names.map((name, i) => sql`features->${name} as ${sql.id(`f${i}`)}`),
    ...query.auxiliary.map((name, i) => sql`features->${name} as ${sql.id(`a${i}`)}`),
  ]);
  // Labels that became known after the window end are invisible "as of" that time (point-in-time pull).
  // Rows frozen into the model's static test set never train (activities/test-set.ts).
  const where = sql`model_name = ${query.modelName} and ${timeFilter(sql.ref('event_time'), query)}
    and (label_available_at is null or label_available_at <= ${query.end}::timestamptz)
    and not exists (select 1 from test_set_rows t where t.model_name = ${query.modelName} and t.example_id = labelled_examples.id)`;
  return {
    all: sql<SourceRow>`select ${columns} from labelled_examples where ${where} order by event_time, id`,
    page: (last, _rows, limit) =>
      last
        ? // The last row's exact (microsecond) time comes from the table, not from the ms number.
          sql<SourceRow>`select ${columns} from labelled_examples where ${where}
            and (event_time, id) > ((select event_time from labelled_examples where id = ${last.rid}::bigint), ${last.rid}::bigint)
            order by event_time, id limit ${limit}`
        : sql<SourceRow>`select ${columns} from labelled_examples where ${where} order by event_time, id limit ${limit}`,
    describe: {
      kind: 'labelled_examples',
      table: 'labelled_examples',
      query: `model_name = '${query.modelName}' and event_time >= '${query.start}'${query.since ? ` and event_time > '${query.since}'` : ''} and event_time < '${query.end}' and (label_available_at is null or label_available_at <= '${query.end}') and id not in static test set order by event_time, id`,
    },
  };
}

async function tableColumns(db: Kysely<Database>, source: TableSource): Promise<Map<string, string>> {
  const [schema, table] = source.table.includes('.') ? source.table.split('.') : [null, source.table];
  const result = await sql<{ column_name: string; data_type: string }>`
    select column_name, data_type from information_schema.columns
    where table_name = ${table} and table_schema = coalesce(${schema}::text, current_schema())`.execute(db);
  if (result.rows.length === 0) {
    throw new SourceError(`table "${source.table}" not found${schema ? '' : ' in the current schema'}: create it or fix data.source.table`, 'data.source.table');
  }
  return new Map(result.rows.map((r) => [r.column_name, r.data_type]));
}

async function tablePlan(db: Kysely<Database>, query: WindowQuery, source: TableSource): Promise<Plan> {
  const types = await tableColumns(db, source);
  const available = () => [...types.keys()].join(', ');
  const need = (column: string, field: string, accepted: Set<string> | null, what: string): string => {
    const type = types.get(column);
    if (!type) throw new SourceError(`${field}: column "${column}" not found in ${source.table} (columns: ${available()})`, field);
    if (accepted && !accepted.has(type)) throw new SourceError(`${field}: column "${column}" of ${source.table} is ${type}, expected ${what}`, field);
    return type;
  };
  need(source.timestampColumn, 'data.source.timestampColumn', TIME_TYPES, 'a timestamp or date');
  const labelType = need(source.labelColumn, 'data.source.labelColumn', new Set([...NUMERIC_TYPES, 'boolean']), 'a number or boolean');
  if (source.entityColumn) need(source.entityColumn, 'data.source.entityColumn', null, '');
  const ref = (column: string) => sql.ref(`src.${column}`);
  const ts = ref(source.timestampColumn);
  const exprs: { expr: RawBuilder<unknown>; alias: string }[] = [
    { expr: epochMs(sql`${ts}::timestamptz`), alias: 't' },
    { expr: source.entityColumn ? sql`${ref(source.entityColumn)}::text` : sql`null::text`, alias: 'e' },
    { expr: labelType === 'boolean' ? sql`${ref(source.labelColumn)}::int::float8` : sql`${ref(source.labelColumn)}::float8`, alias: 'y' },
  ];
  query.layout.numeric.forEach((name, i) => {
    const column = source.columns[name] ?? name;
    need(column, `data.source.columns.${name}`, NUMERIC_TYPES, 'a numeric type (numeric feature)');
    exprs.push({ expr: sql`${ref(column)}::float8`, alias: `f${i}` });
  });
  query.layout.categorical.forEach((name, j) => {
    const column = source.columns[name] ?? name;
    need(column, `data.source.columns.${name}`, null, '');
    exprs.push({ expr: sql`${ref(column)}::text`, alias: `f${query.layout.numeric.length + j}` });
  });
  query.auxiliary.forEach((name, i) => {
    need(name, `data.sampling.weightColumn`, NUMERIC_TYPES, 'a numeric type');
    exprs.push({ expr: sql`${ref(name)}::float8`, alias: `a${i}` });
  });
  const columns = sql.join([...exprs.map(({ expr, alias }) => sql`${expr} as ${sql.id(alias)}`), sql`null::float8 as la`]);
  // Ordering by every selected column makes the order, and so the snapshot hash, deterministic even
  // without a unique key: rows that tie on all of them are identical anyway.
  const order = sql.join(exprs.map(({ expr }) => expr));
  const from = sql`${sql.table(source.table)} as src`;
  const where = sql`${timeFilter(ts, query)} and ${ref(source.labelColumn)} is not null`;
  // row_number is computed over the whole filtered window before LIMIT/OFFSET, so it is the row's
  // position in the window on both paths.
  const select = sql`select row_number() over (order by ${order})::text as rid, ${columns} from ${from} where ${where} order by ${order}`;
  return {
    all: sql<SourceRow>`${select}`,
    page: (_last, rowsSoFar, limit) => sql<SourceRow>`${select} limit ${limit} offset ${rowsSoFar}`,
    describe: {
      kind: 'table',
      table: source.table,
      query: `${source.timestampColumn} >= '${query.start}'${query.since ? ` and ${source.timestampColumn} > '${query.since}'` : ''} and ${source.timestampColumn} < '${query.end}' and ${source.labelColumn} is not null`,
    },
  };
}

export interface WindowStream {
  describe: Plan['describe'];
  /** Chunks of rows in source order; stops when the window is exhausted. */
  chunks(chunkRows: number): AsyncGenerator<SourceRow[]>;
}

function cannotStream(error: unknown): boolean {
  const message = (error as Error)?.message ?? '';
  return /does not support streaming|'cursor' is not present/.test(message);
}

export async function openWindowStream(db: Kysely<Database>, query: WindowQuery): Promise<WindowStream> {
  const plan = query.source === 'labelled_examples' ? labelledExamplesPlan(query) : await tablePlan(db, query, query.source);
  return {
    describe: plan.describe,
    async *chunks(chunkRows: number) {
      let streamed = false;
      try {
        for await (const result of db.getExecutor().stream(plan.all.compile(db), chunkRows)) {
          streamed = true;
          yield result.rows as SourceRow[];
        }
        return;
      } catch (error) {
        // Only the "this driver cannot stream" error, raised before any row, selects the fallback.
        if (streamed || !cannotStream(error)) throw error;
      }
      let last: SourceRow | undefined;
      let rows = 0;
      for (;;) {
        const page = (await plan.page(last, rows, chunkRows).execute(db)).rows;
        if (page.length > 0) yield page;
        if (page.length < chunkRows) return;
        last = page[page.length - 1];
        rows += page.length;
      }
    },
  };
}
