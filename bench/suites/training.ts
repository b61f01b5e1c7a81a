// Benchmark: a stateful daily update vs a stateless 30-day retrain, on the drifting simulator
// (scenarios/simulator.ts, the CTR task with drift). Each run (one simulator seed): a champion
// trained from scratch on days 0-29; on day 30 the stateless path retrains from scratch on days
// 1-30, the stateful path warm-starts the champion on day 30 only. Both are scored on day 31.
// Training compute is CPU seconds (process.cpuUsage around trainTabular) and samples processed
// (rows used in gradient steps); accuracy is at a 0.5 threshold on all of day 31's requests.
//
// Settings: the example CTR spec's trainer (examples/ctr.model.json: logistic regression, Adam,
// lr 0.05, batch 64, L2 1e-4, up to 40 epochs with early stopping on the latest 15% of the
// window), resolved by training/hyperparameters.ts as the training activity resolves it, and the
// window split by training/dataset.ts as the built-in trainer splits it.
//   headline:     stateless = the spec as is (early stopping decides the epochs);
//                 stateful  = the spec with a per-run override epochs = 5 (TrainRequestV2.hyperparameters).
//   equal epochs: both exactly 5 epochs, early stopping off, everything else the spec's.
// The epoch counts of the headline differ (the note gives them); the equal-epochs figures isolate
// what the window size alone buys.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { encodeDataset, SPLIT_TRAIN } from '../../datasets/snapshot';
import { createMatrix } from '../../ml/dataset-matrix';
import { logLossFromLogit, predictTabular, trainTabular, type TabularFrame, type TabularModel, type TabularTrainingData, type TabularTrainingResult } from '../../ml/tabular';
import { generateDay, SIMULATOR_FEATURES, type DriftSpec, type SimulatedDay, type SimulationOptions } from '../../scenarios/simulator';
import { parseModelSpec, type BuiltinTrainerSpec } from '../../spec/model-spec';
import { readTrainingFrames } from '../../training/dataset';
import { builtinHyperparameters, featuresContract } from '../../training/hyperparameters';
import type { HyperparameterOverrides } from '../../training/types';
import { summarize, type BenchSuite, type Figure } from '../figure';

export const ids = [
  'stateful_compute_ratio',
  'stateful_samples_ratio',
  'stateful_accuracy_delta',
  'stateful_next_day_accuracy',
  'stateless_next_day_accuracy',
  'stateful_compute_ratio_equal_epochs',
  'stateful_accuracy_delta_equal_epochs',
];

const DAYS = 32;
const WINDOW_DAYS = 30;
const UPDATE_EPOCHS = 5;

/**
 * The stream: the simulator's CTR task, re-weighted to ~half positives (label shift by a constant
 * factor 5 from day 0, as lifecycle/backtest/scenarios.ts does, so that accuracy at 0.5 says
 * something), with two drifts running over all 32 days: the effect of ad_relevance (the strongest,
 * logit 1.2 per unit) moves linearly to -1.2 (concept drift), and user_ctr_7d's distribution moves
 * up by one standard deviation (covariate shift). Tomorrow resembles the last day more than the
 * 30-day average.
 */
export const TRAINING_DRIFT: DriftSpec[] = [
  { kind: 'label', factor: 5, profile: { shape: 'sudden', atDay: 0 } },
  { kind: 'concept', feature: 'ad_relevance', weight: -1.2, profile: { shape: 'gradual', fromDay: 0, toDay: DAYS } },
  { kind: 'covariate', feature: 'user_ctr_7d', shift: 1, profile: { shape: 'gradual', fromDay: 0, toDay: DAYS } },
];

const FEATURES = SIMULATOR_FEATURES.ctr;
const NUMERIC = FEATURES.filter((f) => f.type === 'numeric').map((f) => f.name);
const CATEGORICAL = FEATURES.filter((f) => f.type === 'categorical').map((f) => f.name);

/** The example CTR spec, on the simulator's features (numeric and the categorical device). */
function benchSpec() {
  const example = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'examples', 'ctr.model.json'), 'utf8'));
  return parseModelSpec({ ...example, name: 'ctr_bench', features: FEATURES.map((f) => ({ name: f.name, type: f.type })) });
}

/** Days as the dataset step would snapshot them (all training split), read by the built-in trainer's code. */
function windowData(days: SimulatedDay[], contract: ReturnType<typeof featuresContract>): TabularTrainingData {
  const predictions = days.flatMap((d) => d.predictions);
  const truth = days.flatMap((d) => d.truth);
  const bytes = encodeDataset(
    {
      eventTimeMs: Float64Array.from(predictions, (p) => new Date(p.predictedAt).getTime()),
      entityIds: predictions.map((p) => p.unitId ?? ''),
      features: Object.fromEntries(NUMERIC.map((name) => [name, Float64Array.from(predictions, (p) => p.features[name] as number)])),
      categorical: Object.fromEntries(CATEGORICAL.map((name) => [name, predictions.map((p) => String(p.features[name]))])),
      labels: Float64Array.from(truth),
      split: new Int8Array(predictions.length).fill(SPLIT_TRAIN),
    },
    { numeric: NUMERIC, categorical: CATEGORICAL },
  );
  const frames = readTrainingFrames(bytes, contract);
  return { train: frames.train, trainLabels: frames.trainLabels, validation: frames.validation, categorical: contract.categorical };
}

/** Every request of a day, for scoring. */
function dayFrame(day: SimulatedDay): { frame: TabularFrame; labels: Float64Array } {
  const n = day.predictions.length;
  const X = createMatrix(NUMERIC, n);
  day.predictions.forEach((p, i) => NUMERIC.forEach((name, j) => (X.data[i * NUMERIC.length + j] = p.features[name] as number)));
  const categorical = Object.fromEntries(CATEGORICAL.map((name) => [name, day.predictions.map((p) => String(p.features[name]))]));
  return { frame: { numeric: X, categorical }, labels: Float64Array.from(day.truth) };
}

function cpuSeconds<T>(work: () => T): { value: T; seconds: number } {
  const before = process.cpuUsage();
  const value = work();
  const used = process.cpuUsage(before);
  return { value, seconds: (used.user + used.system) / 1e6 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

type Variant = 'stateless' | 'stateful' | 'statelessEqual' | 'statefulEqual';

/**
 * Runs each training `reps` times, interleaved (the order reversed every other round, so a slow
 * moment of a shared machine falls on all of them alike), and keeps each one's median CPU time: a
 * 1-day update takes milliseconds, where noise is a large share. Training is deterministic, so
 * every repetition produces the same model.
 */
function timedInterleaved(reps: number, jobs: Record<Variant, () => TabularTrainingResult>): Record<Variant, { value: TabularTrainingResult; seconds: number }> {
  const names = Object.keys(jobs) as Variant[];
  const seconds = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Variant, number[]>;
  const values = {} as Record<Variant, TabularTrainingResult>;
  for (let rep = 0; rep < reps; rep++) {
    for (const name of rep % 2 ? [...names].reverse() : names) {
      const t = cpuSeconds(jobs[name]);
      seconds[name].push(t.seconds);
      values[name] ??= t.value;
    }
  }
  return Object.fromEntries(names.map((n) => [n, { value: values[n], seconds: median(seconds[n]) }])) as Record<Variant, { value: TabularTrainingResult; seconds: number }>;
}

function scores(model: TabularModel, day: { frame: TabularFrame; labels: Float64Array }): { accuracy: number; logLoss: number } {
  const p = predictTabular(model, day.frame);
  let right = 0;
  let loss = 0;
  for (let i = 0; i < p.length; i++) {
    right += (p[i] >= 0.5 ? 1 : 0) === day.labels[i] ? 1 : 0;
    const z = Math.log(Math.max(p[i], 1e-15) / Math.max(1 - p[i], 1e-15));
    loss += logLossFromLogit(z, day.labels[i]);
  }
  return { accuracy: right / p.length, logLoss: loss / p.length };
}

const epochsRun = (r: TabularTrainingResult) => r.history.length - 1;

export async function run(options: { quick: boolean; log: (line: string) => void }): Promise<Figure[]> {
  const rowsPerDay = options.quick ? 800 : 3000;
  const seeds = options.quick ? 3 : 5;
  const reps = options.quick ? 3 : 7;
  const spec = benchSpec();
  const trainer = spec.trainer as BuiltinTrainerSpec;
  const contract = featuresContract(spec.features);
  const settings = (overrides: HyperparameterOverrides = {}) => builtinHyperparameters(trainer, 'binary_classification', overrides);
  const full = settings();
  const update = settings({ epochs: UPDATE_EPOCHS });
  const equal = settings({ epochs: UPDATE_EPOCHS, earlyStoppingPatience: 0 });
  options.log(
    `training: simulator ctr task, ${rowsPerDay} rows/day, ${seeds} seeds, drift ${TRAINING_DRIFT.map((d) => d.kind).join(' + ')}; ` +
      `stateless = ${WINDOW_DAYS} days, up to ${full.epochs} epochs (early stopping, patience ${full.patience}); stateful = 1 day, ${UPDATE_EPOCHS} epochs; ` +
      `equal epochs = both ${UPDATE_EPOCHS} epochs, no early stopping; CPU time = median of ${reps} interleaved runs each`,
  );

  const rec = {
    ratio: [] as number[], samples: [] as number[], delta: [] as number[], accStateful: [] as number[], accStateless: [] as number[],
    epochsStateless: [] as number[], epochsStateful: [] as number[], ratioEqual: [] as number[], samplesEqual: [] as number[],
    deltaEqual: [] as number[], accStatelessEqual: [] as number[], accChampion: [] as number[], cpuStateless: [] as number[], cpuStateful: [] as number[],
  };
  for (let r = 0; r < seeds; r++) {
    const simulation: SimulationOptions = { task: 'ctr', modelName: 'ctr_bench', start: '2026-01-01T00:00:00Z', days: DAYS, rowsPerDay, seed: 100 + r, drift: TRAINING_DRIFT };
    const days = Array.from({ length: DAYS }, (_, t) => generateDay(simulation, t));
    // Yesterday's champion (not timed): from scratch on days 0-29.
    const champion = trainTabular(windowData(days.slice(0, WINDOW_DAYS), contract), full).model;
    const window = windowData(days.slice(1, WINDOW_DAYS + 1), contract);
    const today = windowData([days[WINDOW_DAYS]], contract);
    const next = dayFrame(days[WINDOW_DAYS + 1]);

    const { stateless, stateful, statelessEqual, statefulEqual } = timedInterleaved(reps, {
      stateless: () => trainTabular(window, full),
      stateful: () => trainTabular(today, update, { warmStart: { model: champion } }),
      statelessEqual: () => trainTabular(window, equal),
      statefulEqual: () => trainTabular(today, equal, { warmStart: { model: champion } }),
    });

    const s = { stateless: scores(stateless.value.model, next), stateful: scores(stateful.value.model, next), champion: scores(champion, next) };
    const e = { stateless: scores(statelessEqual.value.model, next), stateful: scores(statefulEqual.value.model, next) };
    rec.ratio.push(stateless.seconds / stateful.seconds);
    rec.samples.push(stateless.value.samplesSeen / stateful.value.samplesSeen);
    rec.delta.push(s.stateful.accuracy - s.stateless.accuracy);
    rec.accStateful.push(s.stateful.accuracy);
    rec.accStateless.push(s.stateless.accuracy);
    rec.accChampion.push(s.champion.accuracy);
    rec.epochsStateless.push(epochsRun(stateless.value));
    rec.epochsStateful.push(epochsRun(stateful.value));
    rec.cpuStateless.push(stateless.seconds);
    rec.cpuStateful.push(stateful.seconds);
    rec.ratioEqual.push(statelessEqual.seconds / statefulEqual.seconds);
    rec.samplesEqual.push(statelessEqual.value.samplesSeen / statefulEqual.value.samplesSeen);
    rec.deltaEqual.push(e.stateful.accuracy - e.stateless.accuracy);
    rec.accStatelessEqual.push(e.stateless.accuracy);
    options.log(
      `  seed ${100 + r}: stateless ${stateless.value.samplesSeen} samples, ${epochsRun(stateless.value)} epochs, ${stateless.seconds.toFixed(3)} CPU-s; ` +
        `stateful ${stateful.value.samplesSeen} samples, ${epochsRun(stateful.value)} epochs, ${stateful.seconds.toFixed(4)} CPU-s ` +
        `(${(stateless.seconds / stateful.seconds).toFixed(1)}x CPU, ${(stateless.value.samplesSeen / stateful.value.samplesSeen).toFixed(1)}x samples)`,
    );
    options.log(
      `    next day: accuracy stateless ${s.stateless.accuracy.toFixed(4)} (log loss ${s.stateless.logLoss.toFixed(4)}), stateful ${s.stateful.accuracy.toFixed(4)} (${s.stateful.logLoss.toFixed(4)}), ` +
        `champion without update ${s.champion.accuracy.toFixed(4)} (${s.champion.logLoss.toFixed(4)}); equal epochs: stateless ${e.stateless.accuracy.toFixed(4)}, stateful ${e.stateful.accuracy.toFixed(4)}, ` +
        `${(statelessEqual.seconds / statefulEqual.seconds).toFixed(1)}x CPU, ${(statelessEqual.value.samplesSeen / statefulEqual.value.samplesSeen).toFixed(1)}x samples`,
    );
  }

  const range = (xs: number[]) => (Math.min(...xs) === Math.max(...xs) ? `${xs[0]}` : `${Math.min(...xs)}-${Math.max(...xs)}`);
  const stream = `simulator ctr task (scenarios/simulator.ts) with gradual concept + covariate drift, ${rowsPerDay} rows/day, ${seeds} seeds`;
  const epochs = `epochs differ: stateless ran ${range(rec.epochsStateless)} epochs (spec max ${full.epochs}, early stopping), stateful ${range(rec.epochsStateful)} (per-run override ${UPDATE_EPOCHS}); see stateful_compute_ratio_equal_epochs`;
  return [
    summarize(
      'stateful_compute_ratio', 'x', rec.ratio,
      `CPU seconds (process.cpuUsage) of a stateless ${WINDOW_DAYS}-day logistic-regression retrain / a stateful 1-day warm-start update (median ${median(rec.cpuStateless).toFixed(3)} vs ${median(rec.cpuStateful).toFixed(4)} CPU-s); ${epochs}; samples ratio median ${median(rec.samples).toFixed(1)}x; ${stream}`,
    ),
    summarize('stateful_samples_ratio', 'x', rec.samples, `samples processed (rows in gradient steps), stateless ${WINDOW_DAYS}-day retrain / stateful 1-day update; ${epochs}; ${stream}`),
    summarize('stateful_accuracy_delta', 'accuracy', rec.delta, `next-day accuracy of the stateful update minus the stateless retrain (headline settings; ${epochs}); ${stream}`),
    summarize(
      'stateful_next_day_accuracy', 'accuracy', rec.accStateful,
      `accuracy at 0.5 on all of day 31 of the champion (days 0-29) warm-started on day 30 for ${UPDATE_EPOCHS} epochs; the champion without the update: median ${median(rec.accChampion).toFixed(4)}; ${stream}`,
    ),
    summarize('stateless_next_day_accuracy', 'accuracy', rec.accStateless, `accuracy at 0.5 on all of day 31 of a from-scratch retrain on days 1-30 (the spec's trainer, early stopping); ${stream}`),
    summarize(
      'stateful_compute_ratio_equal_epochs', 'x', rec.ratioEqual,
      `as stateful_compute_ratio but both runs exactly ${UPDATE_EPOCHS} epochs (early stopping off): the window size alone; samples ratio median ${median(rec.samplesEqual).toFixed(1)}x; ${stream}`,
    ),
    summarize(
      'stateful_accuracy_delta_equal_epochs', 'accuracy', rec.deltaEqual,
      `next-day accuracy, stateful minus stateless, both exactly ${UPDATE_EPOCHS} epochs (the stateful run is the headline one: ${UPDATE_EPOCHS} epochs either way; the ${UPDATE_EPOCHS}-epoch stateless retrain's median accuracy ${median(rec.accStatelessEqual).toFixed(4)}); ${stream}`,
    ),
  ];
}

export const suite: BenchSuite = { ids, run };
