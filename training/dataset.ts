// Reads a dataset snapshot into the built-in trainers' frames: the training split (optionally only
// rows after a high-water mark, for stateful updates) and the validation split.
import { decodeDataset, rowCount, SPLIT_VALIDATION, type DatasetColumns } from '../datasets/snapshot';
import { createMatrix } from '../ml/dataset-matrix';
import type { TabularFrame } from '../ml/tabular/encoding';
import type { FeaturesContract } from './contract';

export interface TrainingFrames {
  train: TabularFrame;
  trainLabels: Float64Array;
  validation: { frame: TabularFrame; labels: Float64Array } | undefined;
  /** Training rows before the dataSinceMs filter. */
  windowTrainRows: number;
}

export class DatasetError extends Error {
  override name = 'DatasetError';
}

/** Share of the (time-ordered) training rows held back, latest last, to stop training early. */
export const EARLY_STOPPING_FRACTION = 0.15;
/** Fewer held-back rows than this would make early stopping noise: train without it. */
const MIN_EARLY_STOPPING_ROWS = 30;

export function readTrainingFrames(bytes: Uint8Array, features: FeaturesContract, dataSinceMs?: number): TrainingFrames {
  let columns: DatasetColumns;
  try {
    columns = decodeDataset(bytes, { numeric: features.numeric, categorical: features.categorical.map((c) => c.name) });
  } catch (error) {
    throw new DatasetError(`dataset snapshot does not match the spec's features: ${(error as Error).message}`);
  }
  if (!columns.split) throw new DatasetError('dataset snapshot has no split column: it is a raw pull, not a formed dataset');
  const n = rowCount(columns);
  const train: number[] = [];
  for (let i = 0; i < n; i++) if (columns.split[i] !== SPLIT_VALIDATION) train.push(i);
  const inWindow = dataSinceMs === undefined ? train : train.filter((i) => columns.eventTimeMs[i] > dataSinceMs);
  // The snapshot's validation split is the offline tests' backtest: training never sees it, not even
  // for early stopping. Early stopping watches the latest rows of the training split instead.
  const holdout = inWindow.length >= MIN_EARLY_STOPPING_ROWS / EARLY_STOPPING_FRACTION ? Math.round(inWindow.length * EARLY_STOPPING_FRACTION) : 0;
  const selected = inWindow.slice(0, inWindow.length - holdout);
  const validation = inWindow.slice(inWindow.length - holdout);
  if (selected.length === 0) {
    throw new DatasetError(
      dataSinceMs === undefined
        ? 'dataset snapshot has no training rows'
        : `no training rows after dataSinceMs ${new Date(dataSinceMs).toISOString()} (of ${train.length} in the window); wait for new labelled data before a stateful update`,
    );
  }
  return {
    train: frameOf(columns, features, selected),
    trainLabels: Float64Array.from(selected, (i) => columns.labels[i]),
    validation: validation.length ? { frame: frameOf(columns, features, validation), labels: Float64Array.from(validation, (i) => columns.labels[i]) } : undefined,
    windowTrainRows: train.length,
  };
}

function frameOf(columns: DatasetColumns, features: FeaturesContract, rows: number[]): TabularFrame {
  const f = features.numeric.length;
  const data = new Float64Array(rows.length * f);
  features.numeric.forEach((name, j) => {
    const values = columns.features[name];
    rows.forEach((i, k) => {
      data[k * f + j] = values[i];
    });
  });
  const categorical: Record<string, (string | null)[]> = {};
  for (const { name } of features.categorical) {
    const values = columns.categorical[name];
    categorical[name] = rows.map((i) => values[i] ?? null);
  }
  return { numeric: createMatrix(features.numeric, rows.length, data), categorical };
}
