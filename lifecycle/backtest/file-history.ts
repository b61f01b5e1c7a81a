// Builds a labelled history from a CSV, Parquet or Arrow file (datasets/table-files.ts readTableFile):
// rows sorted by event time, rows with a missing numeric feature dropped (and counted), the task
// inferred from the labels. Features are the spec's when one is given, else every other column.
import { readTableFile, type TableColumns } from '../../datasets/table-files';
import type { FeatureSpec } from '../../spec/model-spec';
import { featureLayout } from '../../spec/feature-layout';
import { assertHistory, HistoryError, type LabelledHistory } from './history';

export interface FileHistoryOptions {
  timestampColumn?: string;
  labelColumn?: string;
  entityColumn?: string;
  /** Declared features (from a model spec); default: every column but time, label and entity. */
  features?: FeatureSpec[];
}

export interface FileHistory {
  history: LabelledHistory;
  features: FeatureSpec[];
  task: 'binary_classification' | 'regression';
  /** Rows dropped because a numeric feature was missing. */
  droppedRows: number;
  file: string;
}

export async function historyFromFile(file: string, options: FileHistoryOptions = {}): Promise<FileHistory> {
  const layout = options.features ? featureLayout(options.features) : undefined;
  const table = await readTableFile(file, {
    layout,
    timestampColumn: options.timestampColumn,
    labelColumn: options.labelColumn,
    entityColumn: options.entityColumn,
    requireTimestamp: true,
    requireLabel: true,
  });
  return historyFromTable(table, options.features);
}

export function historyFromTable(table: TableColumns, declared?: FeatureSpec[]): FileHistory {
  if (!table.timestamps || !table.labels) throw new HistoryError(`${table.file}: a backtest needs a timestamp and a label column: pass --timestamp-column and --label-column`);
  const features: FeatureSpec[] =
    declared ?? [
      ...Object.keys(table.numeric).map((name) => ({ name, type: 'numeric' as const })),
      ...Object.keys(table.categorical).map((name) => ({ name, type: 'categorical' as const, maxCategories: 50 })),
    ];
  if (features.length === 0) throw new HistoryError(`${table.file} has no feature columns besides the timestamp, label and entity columns`);
  const layout = featureLayout(features);
  const times = table.timestamps;
  const labels = table.labels;
  const kept: number[] = [];
  let droppedRows = 0;
  for (let i = 0; i < table.rowCount; i++) {
    if (layout.numeric.some((name) => !Number.isFinite(table.numeric[name][i]))) droppedRows++;
    else kept.push(i);
  }
  if (kept.length === 0) throw new HistoryError(`${table.file}: every row misses a numeric feature value; nothing to replay`);
  // A stable sort: rows with equal timestamps keep their file order, as the DAG's pull keeps write order.
  kept.sort((a, b) => times[a] - times[b] || a - b);
  const binary = kept.every((i) => labels[i] === 0 || labels[i] === 1);
  const history: LabelledHistory = {
    layout,
    eventTimeMs: Float64Array.from(kept, (i) => times[i]),
    labels: Float64Array.from(kept, (i) => labels[i]),
    entityIds: kept.map((i) => table.entityIds?.[i] ?? ''),
    hasEntity: table.entityIds !== null,
    numeric: Object.fromEntries(layout.numeric.map((name) => [name, Float64Array.from(kept, (i) => table.numeric[name][i])])),
    categorical: Object.fromEntries(layout.categorical.map((name) => [name, kept.map((i) => table.categorical[name][i])])),
  };
  assertHistory(history, table.file);
  return { history, features, task: binary ? 'binary_classification' : 'regression', droppedRows, file: table.file };
}
