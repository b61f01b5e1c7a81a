// Turns raw rows (numeric matrix + categorical strings) into the network's input: standardised
// numeric columns then one one-hot block per categorical feature — exactly what the ONNX graph's
// preprocessing computes, so training and serving see the same numbers.
import { assertFiniteMatrix, assertMatrixShape, assertSameFeatures, type DatasetMatrix } from '../dataset-matrix';
import { inputWidth, type CategoricalEncoding, type TabularModel } from './model';

/** A categorical value as read from a snapshot; null (missing) encodes like an unseen value. */
export type CategoryValue = string | null;

/** Rows of raw features: numeric columns as a matrix, categorical columns by feature name. */
export interface TabularFrame {
  numeric: DatasetMatrix;
  categorical: Record<string, readonly CategoryValue[]>;
}

export function frameRows(frame: TabularFrame): number {
  return frame.numeric.rows;
}

/**
 * Vocabulary learned from training values: most frequent first, ties broken by the value itself so
 * the result never depends on row order; at most maxCategories values. Missing values never enter it.
 */
export function learnVocabulary(values: readonly CategoryValue[], maxCategories: number, feature: string): string[] {
  if (!Number.isInteger(maxCategories) || maxCategories < 1) {
    throw new Error(`categorical feature "${feature}": maxCategories must be a positive integer, got ${maxCategories}`);
  }
  const counts = new Map<string, number>();
  for (const v of values) if (v !== null && v !== '') counts.set(v, (counts.get(v) ?? 0) + 1);
  if (counts.size === 0) {
    throw new Error(`categorical feature "${feature}" has no non-empty values in the training data; give it a vocabulary in the spec or drop it`);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, maxCategories)
    .map(([value]) => value);
}

/** The model's input matrix (row-major, inputWidth columns) for the frame's rows. */
export function encodeFrame(model: Pick<TabularModel, 'numericFeatures' | 'categorical' | 'standardization'>, frame: TabularFrame): Float64Array {
  const { numeric } = frame;
  assertMatrixShape(numeric, 'numeric features');
  assertSameFeatures(model.numericFeatures, numeric.featureNames, 'numeric features');
  assertFiniteMatrix(numeric, 'numeric features');
  const rows = numeric.rows;
  const f = numeric.cols;
  const width = inputWidth(f, model.categorical);
  const out = new Float64Array(rows * width);
  const { mean, std } = model.standardization;
  for (let i = 0; i < rows; i++) {
    const base = i * width;
    for (let j = 0; j < f; j++) out[base + j] = (numeric.data[i * f + j] - mean[j]) / std[j];
  }
  let offset = f;
  for (const encoding of model.categorical) {
    const values = categoricalColumn(frame, encoding, rows);
    const index = new Map(encoding.vocabulary.map((v, k) => [v, k]));
    for (let i = 0; i < rows; i++) {
      const value = values[i];
      const k = value === null ? undefined : index.get(value);
      if (k !== undefined) out[i * width + offset + k] = 1;
    }
    offset += encoding.vocabulary.length;
  }
  return out;
}

function categoricalColumn(frame: TabularFrame, encoding: CategoricalEncoding, rows: number): readonly CategoryValue[] {
  const values = frame.categorical[encoding.name];
  if (!values) {
    throw new Error(`categorical feature "${encoding.name}" is missing from the data (have: ${Object.keys(frame.categorical).join(', ') || 'none'})`);
  }
  if (values.length !== rows) throw new Error(`categorical feature "${encoding.name}" has ${values.length} values but there are ${rows} rows`);
  return values;
}

/** Rows [start, end) of a frame, or the listed rows, as a new frame. */
export function sliceFrame(frame: TabularFrame, indices: ArrayLike<number>): TabularFrame {
  const { numeric } = frame;
  const cols = numeric.cols;
  const data = new Float64Array(indices.length * cols);
  for (let k = 0; k < indices.length; k++) data.set(numeric.data.subarray(indices[k] * cols, (indices[k] + 1) * cols), k * cols);
  const categorical: Record<string, CategoryValue[]> = {};
  for (const [name, values] of Object.entries(frame.categorical)) categorical[name] = Array.from(indices, (i) => values[i]);
  return { numeric: { rows: indices.length, cols, data, featureNames: [...numeric.featureNames] }, categorical };
}
