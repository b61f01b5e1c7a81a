// Scores snapshot rows with an ONNX model the way serving does: numeric columns in the model's own
// order, categorical columns as strings. Used by evaluation for the candidate and the champion.
import { createMatrix } from '../ml/dataset-matrix';
import type { OnnxModel } from '../ml/onnx-runtime';
import type { TabularFrame } from '../ml/tabular/encoding';
import { featureMatrix, type DatasetColumns } from '../datasets/snapshot';
import type { RowRange } from './split-rows';

/** The model's inputs for rows [range.start, range.end), or the names it needs that the snapshot lacks. */
export function frameForModel(model: OnnxModel, columns: DatasetColumns, range: RowRange): { frame: TabularFrame } | { missing: string[] } {
  const numeric = [...(model.featureNames ?? [])];
  const categorical = [...model.categoricalFeatures];
  const missing = [...numeric.filter((n) => !columns.features[n]), ...categorical.filter((n) => !columns.categorical[n])];
  if (missing.length) return { missing };
  const rows = range.end - range.start;
  return {
    frame: {
      numeric: createMatrix(numeric, rows, featureMatrix(columns, numeric, range.start, range.end)),
      categorical: Object.fromEntries(categorical.map((name) => [name, columns.categorical[name].slice(range.start, range.end)])),
    },
  };
}

/** The first output column per row: P(y = 1) for binary models, the prediction for regression. */
export async function scoreFrame(model: OnnxModel, frame: TabularFrame): Promise<Float64Array> {
  const output = await model.run(frame);
  const width = output.dims[1] ?? 1;
  const rows = output.dims[0] ?? output.data.length;
  const scores = new Float64Array(rows);
  for (let i = 0; i < rows; i++) scores[i] = output.data[i * width];
  return scores;
}
