// Reads a model's labelled rows for a time range from its data source (labelled_examples or the
// table its spec names) through the DAG's own window stream (lineage/window-source.ts), into a
// labelled history. Rows missing a numeric feature are dropped and counted, as curation would
// drop them; values of the wrong type are a schema violation, as in the pull.
import type { Kysely } from 'kysely';
import type { Database } from '../../lineage/schema';
import { featureAliases, openWindowStream, type SourceRow } from '../../lineage/window-source';
import { featureLayout } from '../../spec/feature-layout';
import type { ModelSpec } from '../../spec/model-spec';
import type { LabelledHistory } from './history';

export class SourceRowError extends Error {
  override name = 'SourceRowError';
}

export interface LineageHistory {
  history: LabelledHistory | null;
  rows: number;
  droppedRows: number;
}

const CHUNK_ROWS = 5_000;

export async function historyFromLineage(db: Kysely<Database>, spec: ModelSpec, range: { start: string; end: string }): Promise<LineageHistory> {
  const layout = featureLayout(spec.features);
  const aliases = featureAliases(layout);
  const source = spec.data.source ?? 'labelled_examples';
  const stream = await openWindowStream(db, { modelName: spec.name, source, layout, auxiliary: [], start: range.start, end: range.end });
  const binary = spec.task === 'binary_classification';
  const times: number[] = [];
  const labels: number[] = [];
  const entities: string[] = [];
  const numeric = layout.numeric.map(() => [] as number[]);
  const categorical = layout.categorical.map(() => [] as (string | null)[]);
  let rows = 0;
  let droppedRows = 0;
  const take = (row: SourceRow) => {
    rows++;
    const label = typeof row.y === 'string' ? Number(row.y) : row.y;
    if (typeof label !== 'number' || !(binary ? label === 0 || label === 1 : Number.isFinite(label))) {
      throw new SourceRowError(`row ${row.rid}: label ${JSON.stringify(row.y)} is not ${binary ? '0 or 1' : 'a finite number'}`);
    }
    const values: number[] = [];
    for (let j = 0; j < layout.numeric.length; j++) {
      const value = row[aliases[j]];
      if (value === null || value === undefined) {
        droppedRows++;
        return;
      }
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new SourceRowError(`row ${row.rid}: numeric feature "${layout.numeric[j]}" is ${JSON.stringify(value)}`);
      values.push(value);
    }
    const categories: (string | null)[] = [];
    for (let j = 0; j < layout.categorical.length; j++) {
      const value = row[aliases[layout.numeric.length + j]];
      if (value !== null && value !== undefined && typeof value !== 'string') throw new SourceRowError(`row ${row.rid}: categorical feature "${layout.categorical[j]}" is ${JSON.stringify(value)}`);
      categories.push((value as string | null | undefined) ?? null);
    }
    times.push(row.t);
    labels.push(label);
    entities.push(row.e ?? '');
    values.forEach((v, j) => numeric[j].push(v));
    categories.forEach((v, j) => categorical[j].push(v));
  };
  for await (const chunk of stream.chunks(CHUNK_ROWS)) for (const row of chunk) take(row);
  if (times.length === 0) return { history: null, rows, droppedRows };
  return {
    history: {
      layout,
      eventTimeMs: Float64Array.from(times),
      labels: Float64Array.from(labels),
      entityIds: entities,
      // As the dataset step decides: labelled_examples always has entities; a table only when it names them.
      hasEntity: source === 'labelled_examples' || entities.some((e) => e !== ''),
      numeric: Object.fromEntries(layout.numeric.map((name, j) => [name, Float64Array.from(numeric[j])])),
      categorical: Object.fromEntries(layout.categorical.map((name, j) => [name, categorical[j]])),
    },
    rows,
    droppedRows,
  };
}
