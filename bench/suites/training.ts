// Benchmark: stateful daily update vs stateless 30-day retrain on a drifting CTR-like stream.
// Each run: a champion trained from scratch on days 0-29; on day 30 the stateless path retrains
// from scratch on days 1-30, the stateful path warm-starts the champion on day 30 only. Both are
// scored on day 31. Figures: CPU-seconds ratio (stateless / stateful) and next-day accuracy delta
// (stateful - stateless), over several seeds.
import { createMatrix } from '../../ml/dataset-matrix';
import { createRng } from '../../ml/random';
import { predictTabular, trainTabular, type TabularFrame, type TabularTrainerSettings } from '../../ml/tabular';
import { summarize, type BenchSuite, type Figure } from '../figure';

export const ids = ['stateful_compute_ratio', 'stateful_accuracy_delta'];

const FEATURES = ['ad_relevance', 'user_ctr_7d', 'position', 'hour_sin'];

interface Day {
  frame: TabularFrame;
  labels: Float64Array;
}

/**
 * One day of clicks. The true model drifts linearly over the 32 days: relevance matters less,
 * position more, the user-CTR feature's distribution shifts up and the base rate falls, so the
 * most recent days describe tomorrow better than a 30-day average does.
 */
function day(seed: number, t: number, rows: number): Day {
  const rng = createRng(seed * 1000 + t);
  const progress = t / 31;
  const w = [1.6 - 1.2 * progress, 1.1, -0.6 - 1.2 * progress, 0.3 + 0.6 * progress];
  const bias = -0.4 - 0.8 * progress;
  const X = createMatrix(FEATURES, rows);
  const labels = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const position = 1 + rng.nextInt(5);
    const x = [rng.normal(), rng.normal() + 0.8 * progress, position, Math.sin((2 * Math.PI * i) / rows)];
    X.data.set(x, i * 4);
    const logit = bias + w[0] * x[0] + w[1] * (x[1] - 0.8 * progress) + w[2] * ((position - 3) / 1.4) + w[3] * x[3];
    labels[i] = rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return { frame: { numeric: X, categorical: {} }, labels };
}

/** Concatenates days in time order. */
function concat(days: Day[]): Day {
  const rows = days.reduce((n, d) => n + d.labels.length, 0);
  const data = new Float64Array(rows * FEATURES.length);
  const labels = new Float64Array(rows);
  let offset = 0;
  for (const d of days) {
    data.set(d.frame.numeric.data, offset * FEATURES.length);
    labels.set(d.labels, offset);
    offset += d.labels.length;
  }
  return { frame: { numeric: createMatrix(FEATURES, rows, data), categorical: {} }, labels };
}

/** Time-ordered split: the latest 20% validates (early stopping), as the dataset step does. */
function trainingData(window: Day) {
  const n = window.labels.length;
  const cut = Math.round(n * 0.8);
  const part = (start: number, end: number): Day => ({
    frame: { numeric: createMatrix(FEATURES, end - start, window.frame.numeric.data.slice(start * 4, end * 4)), categorical: {} },
    labels: window.labels.slice(start, end),
  });
  const train = part(0, cut);
  const validation = part(cut, n);
  return { train: train.frame, trainLabels: train.labels, validation: { frame: validation.frame, labels: validation.labels }, categorical: [] };
}

function cpuSeconds<T>(work: () => T): { value: T; seconds: number } {
  const before = process.cpuUsage();
  const value = work();
  const used = process.cpuUsage(before);
  return { value, seconds: (used.user + used.system) / 1e6 };
}

function accuracy(p: Float64Array, y: Float64Array): number {
  let right = 0;
  for (let i = 0; i < y.length; i++) right += (p[i] >= 0.5 ? 1 : 0) === y[i] ? 1 : 0;
  return right / y.length;
}

export async function run(options: { quick: boolean; log: (line: string) => void }): Promise<Figure[]> {
  const rowsPerDay = options.quick ? 800 : 3000;
  const runs = options.quick ? 3 : 5;
  // The spec's default trainer (logistic regression, Adam); the stateful update gets fewer epochs,
  // as a daily update would be configured (TrainRequestV2.hyperparameters).
  const full: TabularTrainerSettings = {
    kind: 'logistic_regression', task: 'binary_classification', hiddenLayers: [], activation: 'relu', optimizer: 'adam',
    learningRate: 0.05, epochs: 30, batchSize: 64, l2: 1e-4, seed: 42, patience: 5, minDelta: 0, restoreBestWeights: true,
  };
  const update: TabularTrainerSettings = { ...full, epochs: 5, learningRate: 0.02 };
  options.log(`training: ${rowsPerDay} rows/day, drifting stream, ${runs} seeds; stateless = 30 days x ${full.epochs} epochs max, stateful = 1 day x ${update.epochs} epochs`);

  const ratios: number[] = [];
  const deltas: number[] = [];
  const sampleRatios: number[] = [];
  for (let r = 0; r < runs; r++) {
    const seed = 100 + r;
    const days = Array.from({ length: 32 }, (_, t) => day(seed, t, rowsPerDay));
    // Yesterday's champion (not timed): from scratch on days 0-29.
    const champion = trainTabular(trainingData(concat(days.slice(0, 30))), full).model;
    const stateless = cpuSeconds(() => trainTabular(trainingData(concat(days.slice(1, 31))), full));
    const stateful = cpuSeconds(() => trainTabular(trainingData(days[30]), update, { warmStart: { model: champion } }));
    const next = days[31];
    const accStateless = accuracy(predictTabular(stateless.value.model, next.frame), next.labels);
    const accStateful = accuracy(predictTabular(stateful.value.model, next.frame), next.labels);
    const accChampion = accuracy(predictTabular(champion, next.frame), next.labels);
    ratios.push(stateless.seconds / stateful.seconds);
    deltas.push(accStateful - accStateless);
    sampleRatios.push(stateless.value.samplesSeen / stateful.value.samplesSeen);
    options.log(
      `  run ${r + 1}: stateless ${stateless.value.samplesSeen} samples ${stateless.seconds.toFixed(3)} CPU-s (${stateless.value.history.length - 1} epochs), ` +
        `stateful ${stateful.value.samplesSeen} samples ${stateful.seconds.toFixed(3)} CPU-s; next-day accuracy stateless ${accStateless.toFixed(4)}, ` +
        `stateful ${accStateful.toFixed(4)} (champion without update ${accChampion.toFixed(4)})`,
    );
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  options.log(`  samples processed, stateless / stateful: median ${median(sampleRatios).toFixed(1)}x`);
  return [
    summarize('stateful_compute_ratio', 'x', ratios, `CPU seconds (process.cpuUsage) of a stateless 30-day logistic-regression retrain / a stateful 1-day warm-start update, ${rowsPerDay} rows/day; samples ratio median ${median(sampleRatios).toFixed(1)}x`),
    summarize('stateful_accuracy_delta', 'accuracy', deltas, `next-day accuracy of the stateful update minus the stateless retrain on a drifting CTR-like stream, ${rowsPerDay} rows/day`),
  ];
}

export const suite: BenchSuite = { ids, run };
