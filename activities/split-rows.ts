// Row ranges of a snapshot's train and validation splits (the split column is time-ordered, so
// each split is one contiguous range).
import { rowCount, SPLIT_VALIDATION, type DatasetColumns } from '../datasets/snapshot';

export interface RowRange {
  start: number;
  end: number;
}

export function splitRows(columns: DatasetColumns): { train: RowRange; validation: RowRange } {
  const n = rowCount(columns);
  if (!columns.split) throw new Error('dataset snapshot has no split column: it is a raw pull, not a formed dataset');
  const firstValidation = columns.split.indexOf(SPLIT_VALIDATION);
  const cut = firstValidation === -1 ? n : firstValidation;
  return { train: { start: 0, end: cut }, validation: { start: cut, end: n } };
}
