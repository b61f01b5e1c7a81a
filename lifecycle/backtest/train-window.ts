// Trains one candidate on one window of a labelled history with the retrain DAG's own code, in
// process: the pull's row checks, curation and the time split (datasets/curation.ts), the snapshot
// encoding and the trainer's frame reader with its early-stopping holdout (training/dataset.ts),
// the spec's hyperparameters (training/hyperparameters.ts) and trainTabular, warm-started from the
// parent for stateful updates. Shared by the strategy backtest and the freshness experiment.
import { CurationError, curateWindow } from '../../datasets/curation';
import { encodeDataset } from '../../datasets/snapshot';
import { createMatrix } from '../../ml/dataset-matrix';
import type { OptimizerState } from '../../ml/optimizers';
import type { FeatureMoments } from '../../ml/standardizer';
import type { TabularFrame } from '../../ml/tabular/encoding';
import type { TabularModel, TabularTask } from '../../ml/tabular/model';
import { trainTabular } from '../../ml/tabular/trainer';
import type { BuiltinTrainerSpec, ModelSpec } from '../../spec/model-spec';
import { readTrainingFrames } from '../../training/dataset';
import { builtinHyperparameters, featuresContract } from '../../training/hyperparameters';
import { stagedColumns, type LabelledHistory } from './history';

/** What a served version keeps for the next stateful update (its checkpoint, in production). */
export interface TrainedModel {
  model: TabularModel;
  optimizer: OptimizerState;
  moments: FeatureMoments[];
  /** Last event time in the version's dataset (validation rows included), as registered in lineage. */
  highWaterMarkMs: number;
  /** Rows of its dataset (the volume trigger's "last training rows"). */
  datasetRows: number;
  /** The history rows its pull returned, [lo, hi): its training snapshot, the drift trigger's reference. */
  datasetRange: { lo: number; hi: number };
  /** Samples its weights have seen over the whole stateful chain. */
  samplesSeenTotal: number;
}

export interface WindowTrainingRequest {
  history: LabelledHistory;
  spec: ModelSpec;
  /** Row range [lo, hi) the pull returned: [start, end) for a full retrain, (highWaterMark, end) for a stateful one. */
  lo: number;
  hi: number;
  mode: 'stateless' | 'stateful';
  parent?: TrainedModel;
}

export interface WindowTraining {
  trained: TrainedModel;
  /** Rows used in gradient steps (rows × epochs actually run). */
  samplesSeen: number;
  /** CPU time of curation, encoding and training in this process (user + system). */
  cpuSeconds: number;
  rows: { pulled: number; train: number; validation: number };
  /** The dataset's validation split (later rows, never trained on): the gate's backtest rows. */
  validation: { frame: TabularFrame; labels: Float64Array } | null;
}

/** A candidate could not be trained; `failure` is the DAG's failure type for the same situation. */
export class WindowTrainingError extends Error {
  override name = 'WindowTrainingError';
  constructor(
    readonly failure: 'EmptyDataWindow' | 'InsufficientData' | 'OneClassWindow' | 'InvalidSpec' | 'TrainingFailed',
    message: string,
  ) {
    super(message);
  }
}

export function builtinTrainer(spec: ModelSpec): BuiltinTrainerSpec {
  if (spec.trainer.type === 'command') {
    throw new Error(`model "${spec.name}" uses a command trainer; backtests and freshness experiments replay the built-in trainers in process (logistic_regression, softmax_regression, mlp)`);
  }
  return spec.trainer;
}

export function trainOnWindow(request: WindowTrainingRequest): WindowTraining {
  const { history, spec, lo, hi, mode, parent } = request;
  if (mode === 'stateful' && !parent) throw new Error('trainOnWindow: a stateful update needs the parent model');
  const cpuStart = process.cpuUsage();
  const pulled = hi - lo;
  // The pull's checks, in its order and with its failure types.
  if (pulled === 0) throw new WindowTrainingError('EmptyDataWindow', mode === 'stateful' ? 'no labelled rows after the high-water mark' : 'no labelled rows in the window');
  if (pulled < spec.data.minRows) throw new WindowTrainingError('InsufficientData', `only ${pulled} labelled rows in the window; data.minRows is ${spec.data.minRows}`);
  if (spec.task === 'binary_classification') {
    let positives = 0;
    for (let i = lo; i < hi; i++) positives += history.labels[i];
    if (positives === 0 || positives === pulled) throw new WindowTrainingError('OneClassWindow', `all ${pulled} rows in the window have label ${positives === 0 ? 0 : 1}`);
  }

  let curated;
  try {
    curated = curateWindow(stagedColumns(history, lo, hi), {
      layout: history.layout,
      task: spec.task,
      data: spec.data,
      validationFraction: spec.data.validationFraction,
      hasEntity: history.hasEntity,
    });
  } catch (error) {
    if (error instanceof CurationError) throw new WindowTrainingError('InvalidSpec', error.message);
    throw error;
  }
  if (curated.trainRows === 0 || curated.validationRows === 0) {
    throw new WindowTrainingError('InsufficientData', `cannot split ${curated.trainRows + curated.validationRows} rows into train and a strictly later validation set`);
  }
  const n = curated.trainRows + curated.validationRows;
  const highWaterMarkMs = curated.columns.eventTimeMs[n - 1];

  // Through the snapshot format and the trainer's reader, so the early-stopping holdout and the
  // split handling are the trainer process's own.
  const features = featuresContract(spec.features);
  const frames = readTrainingFrames(encodeDataset(curated.columns, history.layout), features);
  const trainer = builtinTrainer(spec);
  const hparams = builtinHyperparameters(trainer, spec.task as TabularTask);
  let result;
  try {
    result = trainTabular(
      { train: frames.train, trainLabels: frames.trainLabels, validation: frames.validation, categorical: features.categorical },
      hparams,
      mode === 'stateful' ? { warmStart: { model: parent!.model, optimizer: parent!.optimizer, moments: parent!.moments } } : {},
    );
  } catch (error) {
    throw new WindowTrainingError('TrainingFailed', (error as Error).message);
  }
  const validationRows: number[] = [];
  for (let i = 0; i < n; i++) if (curated.columns.split![i] === 1) validationRows.push(i);
  const validation = validationFrame(curated.columns, history, validationRows);
  const cpu = process.cpuUsage(cpuStart);
  return {
    trained: {
      model: result.model,
      optimizer: result.optimizer,
      moments: result.moments,
      highWaterMarkMs,
      datasetRows: n,
      datasetRange: { lo, hi },
      samplesSeenTotal: (mode === 'stateful' ? parent!.samplesSeenTotal : 0) + result.samplesSeen,
    },
    samplesSeen: result.samplesSeen,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    rows: { pulled, train: curated.trainRows, validation: curated.validationRows },
    validation,
  };
}

function validationFrame(
  columns: { features: Record<string, Float64Array>; categorical: Record<string, string[]>; labels: Float64Array },
  history: LabelledHistory,
  rows: number[],
): WindowTraining['validation'] {
  if (rows.length === 0) return null;
  const names = history.layout.numeric;
  const data = new Float64Array(rows.length * names.length);
  names.forEach((name, j) => rows.forEach((r, k) => (data[k * names.length + j] = columns.features[name][r])));
  const categorical = Object.fromEntries(history.layout.categorical.map((name) => [name, rows.map((r) => columns.categorical[name][r] || null)]));
  return {
    frame: { numeric: createMatrix(names, rows.length, data), categorical },
    labels: Float64Array.from(rows, (r) => columns.labels[r]),
  };
}
