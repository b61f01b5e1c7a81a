// Seeded percentile-bootstrap confidence intervals for any metric, and the PAIRED comparison of a
// candidate with the champion: both are scored on the same resampled rows in every replicate, so
// the row-to-row difficulty they share cancels out of the interval of (candidate - champion).
import type { MetricName, MetricOptions, MetricDirection } from '../ml/metrics';
import { createRng, type Rng } from '../ml/random';
import { builtInKernel, type MetricKernel } from './metric-kernels';
import { cleanNumber, quantileSorted, sortedFinite } from './stats';

/** 1000 resamples put the 2.5% / 97.5% percentiles on the 25th / 975th order statistics. */
export const DEFAULT_BOOTSTRAP = Object.freeze({ resamples: 1000, confidence: 0.95, seed: 0 });

/**
 * With fewer valid replicates than this share of the resamples (a metric undefined on many
 * resamples, e.g. AUC on a slice with three positives) the interval is reported as null rather
 * than computed from a biased subset.
 */
export const MIN_VALID_SHARE = 0.5;

export interface BootstrapOptions {
  resamples?: number;
  /** Two-sided coverage of the percentile interval, e.g. 0.95 -> 2.5th and 97.5th percentiles. */
  confidence?: number;
  seed?: number;
  /** Threshold, ECE bins and log-loss epsilon for the built-in metrics. */
  metricOptions?: MetricOptions;
}

export interface ConfidenceInterval {
  /** The metric on all rows (not the bootstrap mean); null when undefined there. */
  estimate: number | null;
  /** Percentile bounds; null when too few replicates were valid (see MIN_VALID_SHARE). */
  lower: number | null;
  upper: number | null;
  confidence: number;
  resamples: number;
  /** Replicates on which the metric was defined. */
  validResamples: number;
}

export interface PairedComparison {
  metric: string;
  direction: MetricDirection;
  candidate: ConfidenceInterval;
  champion: ConfidenceInterval;
  /** candidate - champion, replicate by replicate on the same resamples. */
  difference: ConfidenceInterval;
}

/** A built-in metric by name, or a kernel for anything else. */
export type MetricRef = MetricName | MetricKernel;

export interface ReplicateTable {
  /** [prediction set][metric]: the metric on all rows. */
  estimates: number[][];
  /** [prediction set][metric][replicate]; NaN where the metric was undefined on that resample. */
  replicates: Float64Array[][];
}

export function resolveKernel(metric: MetricRef, options: MetricOptions = {}): MetricKernel {
  return typeof metric === 'string' ? builtInKernel(metric, options) : metric;
}

/**
 * One bootstrap resample as counts: n draws with replacement from n rows, counts[i] = how often
 * row i was drawn. Every metric then reads the same counts, which is what makes the comparison
 * paired, and no row data is copied.
 */
export function drawBootstrapCounts(rng: Rng, counts: Float64Array): void {
  const n = counts.length;
  counts.fill(0);
  // Math.floor(next() * n), exactly what rng.nextInt(n) returns, without its per-call argument
  // check: this loop runs resamples x rows times (10 million for 1000 x 10k).
  for (let k = 0; k < n; k++) counts[Math.floor(rng.next() * n)] += 1;
}

/**
 * The raw replicates of every metric on every prediction set, all read off the same resamples
 * (replicate r of every set and metric uses the same counts). bootstrapMetrics and
 * pairedBootstrap summarise it; it is exported for custom statistics and for tests.
 */
export function bootstrapReplicates(
  labels: ArrayLike<number>,
  predictionSets: ReadonlyArray<ArrayLike<number>>,
  metrics: readonly MetricRef[],
  options: BootstrapOptions = {},
): ReplicateTable {
  const { resamples, seed } = resolveOptions(options);
  const n = labels.length;
  if (n === 0) throw new Error('bootstrap: no rows; resampling needs at least one labelled prediction');
  predictionSets.forEach((set, s) => {
    if (set.length !== n) throw new Error(`bootstrap: prediction set ${s} has ${set.length} values but there are ${n} labels`);
  });
  const kernels = metrics.map((m) => resolveKernel(m, options.metricOptions));
  const evaluators = predictionSets.map((set) => kernels.map((k) => k.prepare(labels, set)));
  const ones = new Float64Array(n).fill(1);
  const estimates = evaluators.map((row) => row.map((evaluate) => evaluate(ones)));
  const replicates = evaluators.map((row) => row.map(() => new Float64Array(resamples)));
  const rng = createRng(seed);
  const counts = new Float64Array(n);
  for (let r = 0; r < resamples; r++) {
    drawBootstrapCounts(rng, counts);
    for (let s = 0; s < evaluators.length; s++) {
      for (let m = 0; m < kernels.length; m++) replicates[s][m][r] = evaluators[s][m](counts);
    }
  }
  return { estimates, replicates };
}

/** Percentile interval of the replicates around the full-data estimate. */
export function percentileInterval(estimate: number, replicates: ArrayLike<number>, confidence: number): ConfidenceInterval {
  const valid = sortedFinite(replicates);
  const enough = valid.length >= Math.max(2, MIN_VALID_SHARE * replicates.length);
  const alpha = 1 - confidence;
  return {
    estimate: cleanNumber(estimate),
    lower: enough ? cleanNumber(quantileSorted(valid, alpha / 2)) : null,
    upper: enough ? cleanNumber(quantileSorted(valid, 1 - alpha / 2)) : null,
    confidence,
    resamples: replicates.length,
    validResamples: valid.length,
  };
}

/** Confidence interval of each metric for one set of predictions, keyed by metric name. */
export function bootstrapMetrics(
  labels: ArrayLike<number>,
  predictions: ArrayLike<number>,
  metrics: readonly MetricRef[],
  options: BootstrapOptions = {},
): Record<string, ConfidenceInterval> {
  const { confidence } = resolveOptions(options);
  const names = uniqueNames(metrics);
  const table = bootstrapReplicates(labels, [predictions], metrics, options);
  const out: Record<string, ConfidenceInterval> = {};
  names.forEach((name, m) => {
    out[name] = percentileInterval(table.estimates[0][m], table.replicates[0][m], confidence);
  });
  return out;
}

export function bootstrapMetric(labels: ArrayLike<number>, predictions: ArrayLike<number>, metric: MetricRef, options: BootstrapOptions = {}): ConfidenceInterval {
  const name = resolveKernel(metric, options.metricOptions).name;
  return bootstrapMetrics(labels, predictions, [metric], options)[name];
}

/**
 * Candidate and champion scored on the same resamples: their intervals, and the interval of
 * (candidate - champion) computed replicate by replicate. When the two models err on the same
 * rows (the usual case: a retrain of the same model), this interval is much narrower than one
 * built from two independent bootstraps, so real regressions are detected with fewer rows.
 */
export function pairedBootstrap(
  labels: ArrayLike<number>,
  candidate: ArrayLike<number>,
  champion: ArrayLike<number>,
  metrics: readonly MetricRef[],
  options: BootstrapOptions = {},
): Record<string, PairedComparison> {
  const { confidence } = resolveOptions(options);
  const kernels = metrics.map((m) => resolveKernel(m, options.metricOptions));
  const names = uniqueNames(kernels);
  const table = bootstrapReplicates(labels, [candidate, champion], kernels, options);
  const out: Record<string, PairedComparison> = {};
  kernels.forEach((kernel, m) => {
    const c = table.replicates[0][m];
    const h = table.replicates[1][m];
    const diff = new Float64Array(c.length);
    for (let r = 0; r < c.length; r++) diff[r] = c[r] - h[r];
    out[names[m]] = {
      metric: kernel.name,
      direction: kernel.direction,
      candidate: percentileInterval(table.estimates[0][m], c, confidence),
      champion: percentileInterval(table.estimates[1][m], h, confidence),
      difference: percentileInterval(table.estimates[0][m] - table.estimates[1][m], diff, confidence),
    };
  });
  return out;
}

function uniqueNames(metrics: readonly MetricRef[]): string[] {
  const names = metrics.map((m) => (typeof m === 'string' ? m : m.name));
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new Error(`bootstrap: metric "${name}" is listed twice; metric names must be unique`);
    seen.add(name);
  }
  return names;
}

function resolveOptions(options: BootstrapOptions): { resamples: number; confidence: number; seed: number } {
  const resamples = options.resamples ?? DEFAULT_BOOTSTRAP.resamples;
  const confidence = options.confidence ?? DEFAULT_BOOTSTRAP.confidence;
  const seed = options.seed ?? DEFAULT_BOOTSTRAP.seed;
  if (!Number.isInteger(resamples) || resamples < 1) throw new Error(`bootstrap: resamples must be a positive integer, got ${resamples}`);
  if (!(confidence > 0 && confidence < 1)) throw new Error(`bootstrap: confidence must lie in (0, 1), got ${confidence}`);
  if (!Number.isSafeInteger(seed)) throw new Error(`bootstrap: seed must be an integer, got ${seed}`);
  return { resamples, confidence, seed };
}
