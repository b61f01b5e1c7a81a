// Columnar dataset snapshots as Arrow IPC files (readable by pyarrow, so Python trainers share
// them): time, entity, numeric features, label and the train/validation split.
import { createHash } from 'node:crypto';
import type { FeatureLayout } from '../spec/model-spec';
import { makeVector, Table, tableFromIPC, tableToIPC, Utf8, vectorFromArray, type Vector } from 'apache-arrow';

export const SPLIT_TRAIN = 0;
export const SPLIT_VALIDATION = 1;

export interface DatasetColumns {
  eventTimeMs: Float64Array;
  entityIds: string[];
  /** Numeric features by name. */
  features: Record<string, Float64Array>;
  /** Categorical features by name (string values). */
  categorical: Record<string, string[]>;
  labels: Float64Array;
  /** 0 = train, 1 = validation; absent for a raw pull. */
  split?: Int8Array;
}

export function rowCount(columns: DatasetColumns): number {
  return columns.eventTimeMs.length;
}

export function encodeDataset(columns: DatasetColumns, layout: FeatureLayout): Uint8Array {
  const vectors: Record<string, Vector> = {
    event_time_ms: makeVector(columns.eventTimeMs),
    entity_id: vectorFromArray(columns.entityIds, new Utf8()),
  };
  for (const name of layout.numeric) {
    const values = columns.features[name];
    if (!values) throw new Error(`encodeDataset: numeric feature column "${name}" is missing`);
    vectors[`f_${name}`] = makeVector(values);
  }
  for (const name of layout.categorical) {
    const values = columns.categorical[name];
    if (!values) throw new Error(`encodeDataset: categorical feature column "${name}" is missing`);
    vectors[`f_${name}`] = vectorFromArray(values, new Utf8());
  }
  vectors.label = makeVector(columns.labels);
  if (columns.split) vectors.split = makeVector(columns.split);
  return tableToIPC(new Table(vectors), 'file');
}

export function decodeDataset(bytes: Uint8Array, layout: FeatureLayout): DatasetColumns {
  const table = tableFromIPC(bytes);
  const column = (name: string) => {
    const child = table.getChild(name);
    if (!child) throw new Error(`dataset snapshot has no column "${name}" (columns: ${table.schema.fields.map((f) => f.name).join(', ')})`);
    return child;
  };
  const features: Record<string, Float64Array> = {};
  for (const name of layout.numeric) features[name] = Float64Array.from(column(`f_${name}`).toArray() as ArrayLike<number>);
  const categorical: Record<string, string[]> = {};
  for (const name of layout.categorical) categorical[name] = Array.from(column(`f_${name}`).toArray() as ArrayLike<string>);
  const splitColumn = table.getChild('split');
  return {
    eventTimeMs: Float64Array.from(column('event_time_ms').toArray() as ArrayLike<number>),
    entityIds: Array.from(column('entity_id').toArray() as ArrayLike<string>),
    features,
    categorical,
    labels: Float64Array.from(column('label').toArray() as ArrayLike<number>),
    split: splitColumn ? Int8Array.from(splitColumn.toArray() as ArrayLike<number>) : undefined,
  };
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Rows [start, end) of the numeric features as a row-major matrix, in the given order. */
export function featureMatrix(columns: DatasetColumns, featureNames: string[], start = 0, end = rowCount(columns)): Float64Array {
  const width = featureNames.length;
  const out = new Float64Array((end - start) * width);
  featureNames.forEach((name, j) => {
    const values = columns.features[name];
    for (let i = start; i < end; i++) out[(i - start) * width + j] = values[i];
  });
  return out;
}
