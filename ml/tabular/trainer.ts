// Trains every built-in tabular model (logistic, softmax, MLP) with mini-batch SGD/Adam, L2 and
// early stopping on the validation split. Seeded and deterministic: each epoch's shuffle depends
// only on (seed, epoch), so a run resumed from a checkpoint ends bit-identical to one that never
// stopped. Warm starts continue a parent's weights with its preprocessing (see warmStartModel).
import { createOptimizer, type OptimizerKind, type OptimizerState } from '../optimizers';
import { createRng } from '../random';
import { computeMoments, fitStandardizer, mergeMoments, standardizationFromMoments, type FeatureMoments } from '../standardizer';
import { nonNegativeNumber, positiveInteger, positiveNumber } from '../training-checks';
import { encodeFrame, frameRows, learnVocabulary, type TabularFrame } from './encoding';
import {
  assertKindFitsTask,
  assertTabularModel,
  cloneModel,
  hiddenLayerSizes,
  inputWidth,
  outputCount,
  type CategoricalEncoding,
  type HiddenActivation,
  type TabularKind,
  type TabularModel,
  type TabularTask,
} from './model';
import { DenseNetwork, headFor } from './network';
import { flattenParams, layersFromParams, layerSizes } from './params';
import { foldStandardization } from './restandardize';
import { classCount, encodeTargets, fitTarget, priorBias } from './targets';

export interface TabularTrainerSettings {
  kind: TabularKind;
  task: TabularTask;
  /** Hidden layer widths; must be [] for logistic and softmax regression. */
  hiddenLayers: number[];
  activation: HiddenActivation;
  optimizer: OptimizerKind;
  learningRate: number;
  epochs: number;
  batchSize: number;
  /** Penalty (l2 / 2)·||weights||² added to the mean loss; biases are not penalised. */
  l2: number;
  seed: number;
  /** Epochs without validation improvement before stopping; 0 or Infinity turns early stopping off. */
  patience: number;
  minDelta: number;
  /** With a validation split, return the best validation epoch's weights. */
  restoreBestWeights: boolean;
}

export const TRAINER_DEFAULTS: Omit<TabularTrainerSettings, 'kind' | 'task'> = {
  hiddenLayers: [],
  activation: 'relu',
  optimizer: 'adam',
  learningRate: 0.01,
  epochs: 20,
  batchSize: 32,
  l2: 0,
  seed: 0,
  patience: 5,
  minDelta: 0,
  restoreBestWeights: true,
};

/** How a categorical feature gets its vocabulary: given, or learned from the training rows. */
export interface CategoricalSetup {
  name: string;
  vocabulary?: string[];
  maxCategories: number;
}

export interface TabularTrainingData {
  train: TabularFrame;
  trainLabels: ArrayLike<number>;
  validation?: { frame: TabularFrame; labels: ArrayLike<number> };
  /** Categorical features in input order (the frames must hold a column for each). */
  categorical: CategoricalSetup[];
  /** Multiclass only: number of classes (default: largest label in train + validation, + 1). */
  numClasses?: number;
}

/** A parent model to continue from (stateful training). */
export interface WarmStart {
  model: TabularModel;
  /** The parent's optimizer state (from its checkpoint); used when kind and size match. */
  optimizer?: OptimizerState;
  /** The parent's accumulated numeric moments (from its checkpoint). */
  moments?: FeatureMoments[];
  /**
   * Adopt the merged parent + window statistics, folding the change into the first layer (the
   * function is unchanged; see restandardize.ts). Needs `moments`. Default false: keep the
   * parent's standardisation fixed and re-fit it only on stateless runs.
   */
  restandardize?: boolean;
}

export interface EpochRecord {
  /** 0 is the starting point, before any gradient step. */
  epoch: number;
  trainLoss: number;
  validationLoss?: number;
  /** Cumulative rows used in gradient steps in this run. */
  samplesSeen: number;
}

/** Everything needed to continue a run after `epoch`, bit-identically. JSON-safe. */
export interface TrainingState {
  epoch: number;
  step: number;
  samplesSeen: number;
  params: number[];
  optimizer: OptimizerState;
  /** Best validation epoch so far (loss null without validation). */
  best: { epoch: number; loss: number | null; params: number[] };
  sinceImprovement: number;
  history: EpochRecord[];
}

/** A run to continue: the model fixes the preprocessing and shapes, the state the progress. */
export interface ResumePoint {
  model: TabularModel;
  state: TrainingState;
}

export interface TabularEpochProgress extends EpochRecord {
  epochs: number;
  bestEpoch: number;
  step: number;
}

export interface TabularTrainOptions {
  warmStart?: WarmStart;
  resume?: ResumePoint;
  /**
   * Called after every epoch; `capture` builds a resumable snapshot (only when asked, since copying
   * the parameters costs time). Returning 'stop' ends training (cancellation, time budgets).
   */
  onEpoch?: (progress: TabularEpochProgress, capture: () => ResumePoint) => void | 'stop';
}

export type StopReason = 'epochs' | 'early_stopping' | 'callback';

export interface TabularTrainingResult {
  model: TabularModel;
  history: EpochRecord[];
  samplesSeen: number;
  steps: number;
  bestEpoch: number;
  stopReason: StopReason;
  /** The epoch this run continued from (0 for a fresh run). */
  startEpoch: number;
  optimizer: OptimizerState;
  /** Moments of this window's numeric training features (merged with the parent's on warm starts). */
  moments: FeatureMoments[];
  /** How the starting point was made. */
  init: 'fresh' | 'warm_start' | 'warm_start_restandardized' | 'resume';
}

export function resolveTrainerSettings(settings: Partial<TabularTrainerSettings> & Pick<TabularTrainerSettings, 'kind' | 'task'>): TabularTrainerSettings {
  // An explicit undefined (an unset spec field passed through) means "use the default", not "none".
  const given = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) as typeof settings;
  const s = { ...TRAINER_DEFAULTS, ...given };
  if (s.optimizer !== 'sgd' && s.optimizer !== 'adam') throw new Error(`option optimizer must be 'sgd' or 'adam', got "${String(s.optimizer)}"`);
  if (s.activation !== 'relu' && s.activation !== 'tanh') throw new Error(`option activation must be 'relu' or 'tanh', got "${String(s.activation)}"`);
  if (!Number.isSafeInteger(s.seed)) throw new Error(`option seed must be an integer, got ${s.seed}`);
  s.hiddenLayers.forEach((h, l) => positiveInteger(`hiddenLayers[${l}]`, h));
  assertKindFitsTask(s.kind, s.task, s.hiddenLayers.length, 'trainer settings');
  if (s.patience !== Infinity && s.patience !== 0) positiveInteger('patience', s.patience);
  return {
    ...s,
    hiddenLayers: [...s.hiddenLayers],
    learningRate: positiveNumber('learningRate', s.learningRate),
    epochs: positiveInteger('epochs', s.epochs),
    batchSize: positiveInteger('batchSize', s.batchSize),
    l2: nonNegativeNumber('l2', s.l2),
    minDelta: nonNegativeNumber('minDelta', s.minDelta),
  };
}

export function trainTabular(data: TabularTrainingData, rawSettings: Partial<TabularTrainerSettings> & Pick<TabularTrainerSettings, 'kind' | 'task'>, options: TabularTrainOptions = {}): TabularTrainingResult {
  const settings = resolveTrainerSettings(rawSettings);
  const rows = frameRows(data.train);
  if (rows === 0) throw new Error('training data has 0 rows; training needs at least one labelled row');
  if (data.trainLabels.length !== rows) throw new Error(`training data has ${rows} rows but ${data.trainLabels.length} labels; give exactly one label per row`);
  if (options.resume && options.warmStart) throw new Error('trainTabular: give resume or warmStart, not both (a resume point already holds the warm-started weights)');

  const windowMoments = computeMoments(data.train.numeric);
  let init: TabularTrainingResult['init'] = 'fresh';
  let model: TabularModel;
  let optimizerState: OptimizerState | undefined;
  let moments = windowMoments;
  if (options.resume) {
    model = cloneModel(options.resume.model);
    assertCompatible(model, settings, data, 'resume checkpoint');
    optimizerState = options.resume.state.optimizer;
    init = 'resume';
  } else if (options.warmStart) {
    ({ model, optimizerState, moments, init } = warmStartModel(options.warmStart, settings, data, windowMoments));
  } else {
    model = freshModel(settings, data);
  }

  const network = new DenseNetwork(layerSizes(model), model.hiddenActivation, headFor(model.task));
  const Z = encodeFrame(model, data.train);
  const y = encodeTargets(model, data.trainLabels, 'training data');
  if (init === 'fresh' && model.task === 'binary_classification') assertBothClasses(y);
  const validation = data.validation
    ? { Z: encodeFrame(model, data.validation.frame), y: encodeTargets(model, data.validation.labels, 'validation data') }
    : undefined;
  if (validation && validation.y.length !== frameRows(data.validation!.frame)) {
    throw new Error(`validation data has ${frameRows(data.validation!.frame)} rows but ${validation.y.length} labels`);
  }

  const params = options.resume ? Float64Array.from(options.resume.state.params) : flattenParams(model.layers);
  if (params.length !== network.paramCount) throw new Error(`starting point has ${params.length} parameters, the network needs ${network.paramCount}`);
  const optimizer = createOptimizer(settings.optimizer, settings.learningRate, network.paramCount, undefined, usableOptimizerState(optimizerState, settings, network.paramCount));
  const grad = new Float64Array(network.paramCount);
  const order = new Int32Array(rows);

  const evaluate = (epoch: number, samplesSeen: number): EpochRecord => {
    const record: EpochRecord = { epoch, trainLoss: network.meanLoss(params, Z, y), samplesSeen };
    if (validation && validation.y.length > 0) record.validationLoss = network.meanLoss(params, validation.Z, validation.y);
    return record;
  };

  const resumed = options.resume?.state;
  const history: EpochRecord[] = resumed ? resumed.history.map((r) => ({ ...r })) : [evaluate(0, 0)];
  let samplesSeen = resumed?.samplesSeen ?? 0;
  let step = resumed?.step ?? 0;
  let best = resumed
    ? { epoch: resumed.best.epoch, loss: resumed.best.loss ?? Infinity, params: Float64Array.from(resumed.best.params) }
    : { epoch: 0, loss: history[0].validationLoss ?? Infinity, params: Float64Array.from(params) };
  let sinceImprovement = resumed?.sinceImprovement ?? 0;
  const startEpoch = resumed?.epoch ?? 0;
  const hasValidation = history[0].validationLoss !== undefined;
  const earlyStopping = hasValidation && settings.patience !== 0 && settings.patience !== Infinity;
  const restore = hasValidation && settings.restoreBestWeights;
  let stopReason: StopReason = 'epochs';
  let epochsRun = startEpoch;

  const capture = (): ResumePoint => ({
    model: { ...cloneModel(model), layers: layersFromParams(network, params) },
    state: {
      epoch: epochsRun,
      step,
      samplesSeen,
      params: Array.from(params),
      optimizer: optimizer.state(),
      best: { epoch: best.epoch, loss: Number.isFinite(best.loss) ? best.loss : null, params: Array.from(best.params) },
      sinceImprovement,
      history: history.map((r) => ({ ...r })),
    },
  });

  const alreadyStopped = resumed !== undefined && earlyStopping && sinceImprovement >= settings.patience;
  for (let epoch = startEpoch + 1; epoch <= settings.epochs && !alreadyStopped; epoch++) {
    for (let i = 0; i < rows; i++) order[i] = i;
    shuffleWith(order, epochSeed(settings.seed, epoch));
    for (let start = 0; start < rows; start += settings.batchSize) {
      const end = Math.min(rows, start + settings.batchSize);
      network.batchGradient(params, Z, y, order, start, end, settings.l2, grad);
      optimizer.step(params, grad);
      samplesSeen += end - start;
      step += 1;
    }
    const record = evaluate(epoch, samplesSeen);
    if (!Number.isFinite(record.trainLoss) || params.some((p) => !Number.isFinite(p))) {
      throw new Error(`training diverged at epoch ${epoch} (train loss ${record.trainLoss}); lower learningRate (now ${settings.learningRate})`);
    }
    history.push(record);
    epochsRun = epoch;
    if (record.validationLoss !== undefined) {
      if (record.validationLoss < best.loss - settings.minDelta) {
        best = { epoch, loss: record.validationLoss, params: Float64Array.from(params) };
        sinceImprovement = 0;
      } else {
        sinceImprovement += 1;
      }
    }
    const verdict = options.onEpoch?.({ ...record, epochs: settings.epochs, bestEpoch: restore ? best.epoch : epoch, step }, capture);
    if (verdict === 'stop') {
      stopReason = 'callback';
      break;
    }
    if (earlyStopping && sinceImprovement >= settings.patience) {
      stopReason = 'early_stopping';
      break;
    }
  }
  if (alreadyStopped) stopReason = 'early_stopping';

  const finalParams = restore ? best.params : params;
  const trained: TabularModel = { ...cloneModel(model), layers: layersFromParams(network, finalParams) };
  assertTabularModel(trained, 'trained model');
  return {
    model: trained,
    history,
    samplesSeen,
    steps: step,
    bestEpoch: restore ? best.epoch : history[history.length - 1].epoch,
    stopReason,
    startEpoch,
    optimizer: optimizer.state(),
    moments,
    init,
  };
}

/** A new model: statistics and vocabularies from the training rows, seeded initial weights. */
function freshModel(settings: TabularTrainerSettings, data: TabularTrainingData): TabularModel {
  const numericFeatures = [...data.train.numeric.featureNames];
  const standardization = numericFeatures.length ? fitStandardizer(data.train.numeric) : { mean: [], std: [] };
  const categorical: CategoricalEncoding[] = data.categorical.map((c) => ({
    name: c.name,
    vocabulary: c.vocabulary ? [...c.vocabulary] : learnVocabulary(data.train.categorical[c.name] ?? missingColumn(c.name), c.maxCategories, c.name),
  }));
  const outputs = outputsFor(settings.task, data);
  const sizes = [inputWidth(numericFeatures.length, categorical), ...settings.hiddenLayers, outputs];
  if (sizes[0] === 0) throw new Error('the model has no input columns; declare at least one feature');
  const rng = createRng(settings.seed);
  const target = settings.task === 'regression' ? fitTarget(data.trainLabels, 'training labels') : undefined;
  const layers = sizes.slice(0, -1).map((inputs, l) => {
    const outputsOfLayer = sizes[l + 1];
    // Linear models start at zero (a convex problem needs no symmetry breaking); hidden stacks use
    // He (ReLU) or Xavier (tanh) scaling so activations neither vanish nor explode at the start.
    const scale = sizes.length === 2 ? 0 : Math.sqrt((settings.activation === 'relu' && l < sizes.length - 2 ? 2 : 1) / inputs);
    const weights = Array.from({ length: inputs * outputsOfLayer }, () => (scale === 0 ? 0 : rng.normal() * scale));
    return { inputs, outputs: outputsOfLayer, weights, bias: new Array<number>(outputsOfLayer).fill(0) };
  });
  const labels = settings.task === 'regression' ? [] : data.trainLabels;
  if (settings.task !== 'regression') encodeTargets({ task: settings.task, layers }, labels, 'training data');
  layers[layers.length - 1].bias = priorBias(settings.task, labels, outputs);
  return { kind: settings.kind, task: settings.task, numericFeatures, categorical, standardization, hiddenActivation: settings.activation, layers, target };
}

/** The parent's model with its preprocessing; optionally re-standardised without changing its function. */
function warmStartModel(
  warm: WarmStart,
  settings: TabularTrainerSettings,
  data: TabularTrainingData,
  windowMoments: FeatureMoments[],
): { model: TabularModel; optimizerState: OptimizerState | undefined; moments: FeatureMoments[]; init: TabularTrainingResult['init'] } {
  assertTabularModel(warm.model, 'warm start model');
  let model = cloneModel(warm.model);
  assertCompatible(model, settings, data, 'warm start');
  const merged = warm.moments ? mergeMoments(warm.moments, windowMoments) : windowMoments;
  if (warm.restandardize) {
    if (!warm.moments) throw new Error('warm start: restandardize needs the parent\'s moments (from its checkpoint); the parent has none, so keep its standardisation');
    model = foldStandardization(model, standardizationFromMoments(merged));
    // Adam's moments belong to the old coordinates; reusing them would mis-scale the first steps.
    return { model, optimizerState: undefined, moments: merged, init: 'warm_start_restandardized' };
  }
  return { model, optimizerState: warm.optimizer, moments: merged, init: 'warm_start' };
}

/** A stateful update may change data, never the architecture or the features (model iteration). */
function assertCompatible(model: TabularModel, settings: TabularTrainerSettings, data: TabularTrainingData, context: string): void {
  const fix = 'features or architecture changed, which is model iteration: run a stateless (full) retrain';
  const same = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((v, k) => v === b[k]);
  if (model.kind !== settings.kind) throw new Error(`${context}: the parent is ${model.kind} but the trainer is ${settings.kind}; ${fix}`);
  if (model.task !== settings.task) throw new Error(`${context}: the parent's task is ${model.task} but this run's is ${settings.task}; ${fix}`);
  if (!same(model.numericFeatures, data.train.numeric.featureNames)) {
    throw new Error(`${context}: the parent's numeric features are [${model.numericFeatures.join(', ')}], the data's [${data.train.numeric.featureNames.join(', ')}]; ${fix}`);
  }
  const names = data.categorical.map((c) => c.name);
  if (!same(model.categorical.map((c) => c.name), names)) {
    throw new Error(`${context}: the parent's categorical features are [${model.categorical.map((c) => c.name).join(', ')}], this run's [${names.join(', ')}]; ${fix}`);
  }
  data.categorical.forEach((c, k) => {
    if (c.vocabulary && !same(c.vocabulary, model.categorical[k].vocabulary)) {
      throw new Error(`${context}: the spec's vocabulary of "${c.name}" differs from the parent's; ${fix}`);
    }
  });
  if (!same(hiddenLayerSizes(model), settings.hiddenLayers)) {
    throw new Error(`${context}: the parent's hidden layers are [${hiddenLayerSizes(model).join(', ')}], the trainer's [${settings.hiddenLayers.join(', ')}]; ${fix}`);
  }
  if (settings.hiddenLayers.length > 0 && model.hiddenActivation !== settings.activation) {
    throw new Error(`${context}: the parent's activation is ${model.hiddenActivation}, the trainer's ${settings.activation}; ${fix}`);
  }
  if (data.numClasses !== undefined && model.task === 'multiclass' && data.numClasses !== outputCount(model)) {
    throw new Error(`${context}: the parent has ${outputCount(model)} classes, this run asks for ${data.numClasses}; ${fix}`);
  }
}

function outputsFor(task: TabularTask, data: TabularTrainingData): number {
  if (task !== 'multiclass') return 1;
  if (data.numClasses !== undefined) {
    if (!Number.isInteger(data.numClasses) || data.numClasses < 2) throw new Error(`numClasses must be an integer >= 2, got ${data.numClasses}`);
    return data.numClasses;
  }
  const all = Float64Array.from([...Array.from(data.trainLabels), ...Array.from(data.validation?.labels ?? [])]);
  return classCount(all, 'training and validation labels');
}

function usableOptimizerState(state: OptimizerState | undefined, settings: TabularTrainerSettings, size: number): OptimizerState | undefined {
  if (!state || state.kind !== settings.optimizer) return undefined;
  if (state.kind === 'adam' && state.m.length !== size) return undefined;
  return state;
}

function assertBothClasses(y: Float64Array): void {
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i];
  if (positives === 0 || positives === y.length) {
    throw new Error(
      `training labels contain only class ${positives === 0 ? 0 : 1} (${y.length} rows); ` +
        'a binary classifier trained from scratch needs both classes 0 and 1 in the training data',
    );
  }
}

function missingColumn(name: string): never {
  throw new Error(`categorical feature "${name}" is missing from the training data`);
}

/** A 32-bit seed per (seed, epoch): the shuffle of epoch e never depends on earlier epochs. */
export function epochSeed(seed: number, epoch: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(Math.floor(seed / 4294967296) | 0, 0x85ebca6b)) >>> 0;
  h = (h ^ Math.imul(epoch, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

function shuffleWith(order: Int32Array, seed: number): void {
  const rng = createRng(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
}
