// Drift between two tabular files (CSV, Parquet, Arrow) read with datasets/table-files.ts: the same
// statistics and policy as production monitoring, on the columns the files share or the ones asked
// for. Every problem (a missing column, a column that is numbers in one file and text in the
// other, a column with no values) is one line naming the column and the file.
import type { TableColumns } from '../datasets/table-files';
import { computeDriftReport, type DriftFeature, type DriftReport } from './drift-report';
import { WindowAccumulator } from './streaming';
import type { DriftPolicy } from './thresholds';

export class FileDriftError extends Error {
  override name = 'FileDriftError';
}

export interface FileDriftOptions {
  /** Columns to compare; default every column both files have except the timestamp and entity columns. */
  features?: readonly string[];
  policy?: DriftPolicy;
  /** Random projections of the numeric columns (default none). */
  projections?: number;
  /** Rows kept per file for numeric columns (default 1,000,000: smaller files are compared exactly). */
  capacity?: number;
}

export interface FileDriftResult {
  report: DriftReport;
  features: DriftFeature[];
  reference: { file: string; rows: number; missing: Record<string, number> };
  current: { file: string; rows: number; missing: Record<string, number> };
}

type Column = { kind: 'numeric'; values: Float64Array } | { kind: 'categorical'; values: (string | null)[] };

/** A column of the file by name, the label, timestamp and entity columns included. */
function columnOf(table: TableColumns, name: string): Column | null {
  if (table.numeric[name]) return { kind: 'numeric', values: table.numeric[name] };
  if (table.categorical[name]) return { kind: 'categorical', values: table.categorical[name] };
  if (name === table.labelColumn && table.labels) return { kind: 'numeric', values: table.labels };
  if (name === table.timestampColumn && table.timestamps) return { kind: 'numeric', values: table.timestamps };
  if (name === table.entityColumn && table.entityIds) return { kind: 'categorical', values: table.entityIds };
  return null;
}

function defaultFeatures(reference: TableColumns, current: TableColumns): string[] {
  // Time and entity ids differ between any two windows by construction: comparing them says nothing.
  const skip = new Set([reference.timestampColumn, reference.entityColumn, current.timestampColumn, current.entityColumn].filter((n): n is string => n !== null));
  return reference.columnNames.filter((name) => current.columnNames.includes(name) && !skip.has(name));
}

function accumulate(table: TableColumns, features: readonly DriftFeature[], columns: Column[], capacity: number, seed: number, projections: boolean) {
  const numeric = features.filter((f) => f.kind === 'numeric').map((f) => f.name);
  const categorical = features.filter((f) => f.kind === 'categorical').map((f) => f.name);
  const accumulator = new WindowAccumulator({ numeric, categorical, capacity: Math.max(1, Math.min(capacity, table.rowCount)), seed });
  const batch = { rows: table.rowCount, numeric: {} as Record<string, Float64Array>, categorical: {} as Record<string, (string | null)[]> };
  features.forEach((f, i) => {
    const column = columns[i];
    if (column.kind === 'numeric') batch.numeric[f.name] = column.values;
    else batch.categorical[f.name] = column.values;
  });
  accumulator.addColumns(batch);
  const inputs = accumulator.toDriftInputs();
  for (const f of features) {
    const size = f.kind === 'numeric' ? inputs.columns.numeric[f.name].length : (inputs.columns.categorical[f.name] as { total: number }).total;
    if (size === 0) throw new FileDriftError(`${table.file}: column '${f.name}' has no values (every row is empty${f.kind === 'numeric' ? ' or not a number' : ''}); leave it out with --features`);
  }
  if (projections && numeric.length > 0 && (inputs.completeRows[numeric[0]]?.length ?? 0) === 0) {
    throw new FileDriftError(`${table.file}: no row has a value in every numeric column, so there is nothing to project; drop --projections or fill the gaps`);
  }
  return inputs;
}

/** The drift report of `current` against `reference`. */
export function fileDriftReport(reference: TableColumns, current: TableColumns, options: FileDriftOptions = {}): FileDriftResult {
  const names = options.features?.length ? [...options.features] : defaultFeatures(reference, current);
  if (names.length === 0) {
    throw new FileDriftError(`${reference.file} and ${current.file} share no column to compare (columns: ${reference.columnNames.join(', ')} vs ${current.columnNames.join(', ')}); name them with --features`);
  }
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new FileDriftError(`--features lists '${duplicate}' twice`);
  const refColumns: Column[] = [];
  const curColumns: Column[] = [];
  const features: DriftFeature[] = names.map((name) => {
    const ref = columnOf(reference, name);
    const cur = columnOf(current, name);
    for (const [column, table] of [[ref, reference], [cur, current]] as const) {
      if (!column) throw new FileDriftError(`column '${name}' is not in ${table.file} (columns: ${table.columnNames.join(', ')})`);
    }
    if (ref!.kind !== cur!.kind) {
      const [numbers, text] = ref!.kind === 'numeric' ? [reference.file, current.file] : [current.file, reference.file];
      throw new FileDriftError(`column '${name}' holds numbers in ${numbers} but text in ${text}: fix the values or leave the column out with --features`);
    }
    refColumns.push(ref!);
    curColumns.push(cur!);
    return { name, kind: ref!.kind };
  });
  const projections = (options.projections ?? 0) > 0;
  const capacity = options.capacity ?? 1_000_000;
  const ref = accumulate(reference, features, refColumns, capacity, 1, projections);
  const cur = accumulate(current, features, curColumns, capacity, 2, projections);
  const numeric = features.filter((f) => f.kind === 'numeric').map((f) => f.name);
  if (projections && numeric.length === 0) throw new FileDriftError('--projections needs at least one numeric column');
  const report = computeDriftReport({
    reference: ref.columns,
    current: cur.columns,
    features,
    policy: options.policy,
    projections: projections ? { count: options.projections!, seed: 7, features: numeric, reference: ref.completeRows, current: cur.completeRows } : undefined,
  });
  return {
    report,
    features,
    reference: { file: reference.file, rows: reference.rowCount, missing: ref.missing },
    current: { file: current.file, rows: current.rowCount, missing: cur.missing },
  };
}
