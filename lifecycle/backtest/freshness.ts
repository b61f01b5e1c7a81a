// The value-of-freshness experiment's domain logic (the seed's "How Often to Update Your Models"):
// train the same model on windows ending at several ages before the latest data, test every one on
// the latest labelled data, and read a retraining interval off the metric-vs-staleness curve.
// Pure and in-process; activities/freshness.ts runs it step by step under the freshness workflow.
import { computeMetrics, METRIC_DIRECTIONS, type MetricDirection, type MetricName, type MetricValues, type Task } from '../../ml/metrics';
import { predictTabular } from '../../ml/tabular/predict';
import type { ModelSpec } from '../../spec/model-spec';
import { DAY_MS, frameOfRows, type LabelledHistory } from './history';
import { trainOnWindow, WindowTrainingError } from './train-window';

export const DEFAULT_FRESHNESS_AGES = [0, 1, 3, 7, 14, 30];

export interface TimeWindow {
  start: string;
  end: string;
}

export interface FreshnessWindow extends TimeWindow {
  /** Days between the end of this training window and the start of the test window. */
  ageDays: number;
}

export interface FreshnessLayout {
  test: TimeWindow;
  windows: FreshnessWindow[];
  /** Earliest instant any window reads. */
  start: string;
}

export class FreshnessError extends Error {
  override name = 'FreshnessError';
}

/**
 * Test window [reference − testDays, reference); the training window of age a is
 * [testStart − a − trainWindowDays, testStart − a). Age 0 ends where the test begins, so even the
 * freshest model never sees a test row.
 */
export function freshnessWindows(referenceMs: number, agesDays: readonly number[], trainWindowDays: number, testDays: number): FreshnessLayout {
  if (!Number.isFinite(referenceMs)) throw new FreshnessError('referenceTime must be an ISO 8601 time');
  if (agesDays.length < 2) throw new FreshnessError(`agesDays needs at least two ages to draw a curve, got [${agesDays.join(', ')}]`);
  for (const age of agesDays) if (!(age >= 0) || !Number.isFinite(age)) throw new FreshnessError(`agesDays: ${age} is not a non-negative number of days`);
  if (new Set(agesDays).size !== agesDays.length) throw new FreshnessError(`agesDays has duplicates: [${agesDays.join(', ')}]`);
  if (!(trainWindowDays > 0)) throw new FreshnessError(`trainWindowDays must be > 0, got ${trainWindowDays}`);
  if (!(testDays > 0)) throw new FreshnessError(`testDays must be > 0, got ${testDays}`);
  const testStart = referenceMs - testDays * DAY_MS;
  const iso = (ms: number) => new Date(ms).toISOString();
  const windows = [...agesDays]
    .sort((a, b) => a - b)
    .map((ageDays) => {
      const end = testStart - ageDays * DAY_MS;
      return { ageDays, start: iso(end - trainWindowDays * DAY_MS), end: iso(end) };
    });
  return { test: { start: iso(testStart), end: iso(referenceMs) }, windows, start: windows[windows.length - 1].start };
}

export interface FreshnessPoint extends FreshnessWindow {
  /** The experiment's metric on the test window; null when undefined there or when training failed. */
  value: number | null;
  metrics: MetricValues;
  rows: { pulled: number; train: number; validation: number; test: number };
  samplesSeen: number;
  cpuSeconds: number;
  /** Why this window produced no model (e.g. InsufficientData: the history does not reach back that far). */
  error?: string;
}

/**
 * A full retrain on the training window's rows (the DAG's curation and trainer), scored on the
 * test window's rows. Each history holds exactly its window. A window that cannot train (too few
 * rows, one class) becomes a point without a value, so one short window does not sink the curve.
 */
export function evaluateFreshnessPoint(train: LabelledHistory | null, test: LabelledHistory, spec: ModelSpec, window: FreshnessWindow, metric: MetricName): FreshnessPoint {
  const testRows = test.eventTimeMs.length;
  const empty = (error: string, pulled: number): FreshnessPoint => ({ ...window, value: null, metrics: {}, rows: { pulled, train: 0, validation: 0, test: testRows }, samplesSeen: 0, cpuSeconds: 0, error });
  if (!train) return empty('EmptyDataWindow: no labelled rows in the training window', 0);
  let trained;
  try {
    trained = trainOnWindow({ history: train, spec, lo: 0, hi: train.eventTimeMs.length, mode: 'stateless' });
  } catch (error) {
    if (error instanceof WindowTrainingError) return empty(`${error.failure}: ${error.message}`, train.eventTimeMs.length);
    throw error;
  }
  const predictions = predictTabular(trained.trained.model, frameOfRows(test, 0, testRows));
  const metrics = computeMetrics(spec.task as Task, test.labels, predictions);
  return {
    ...window,
    value: metrics[metric] ?? null,
    metrics,
    rows: { ...trained.rows, test: testRows },
    samplesSeen: trained.samplesSeen,
    cpuSeconds: trained.cpuSeconds,
  };
}

export interface FreshnessRecommendation {
  metric: MetricName;
  direction: MetricDirection;
  tolerance: number;
  /** The metric of the freshest model (the smallest age). */
  freshest: number | null;
  /** The largest age such that it and every fresher age stay within the tolerance of the freshest. */
  maxStalenessDays: number | null;
  /** Retrain at least this often; null when even the second-freshest age is outside the tolerance. */
  recommendedIntervalDays: number | null;
  /** Least-squares change of the metric per day of staleness (negative = worse with age for higher-is-better). */
  slopePerDay: number | null;
  reason: string;
}

/**
 * The staleness a model can afford: a model retrained every T days is up to T days stale just
 * before its next retrain, so T is the largest tested age whose metric (and every fresher age's)
 * stays within `tolerance` of the freshest model's.
 */
export function recommendInterval(points: readonly FreshnessPoint[], metric: MetricName, tolerance: number): FreshnessRecommendation {
  if (!(tolerance >= 0)) throw new FreshnessError(`tolerance must be >= 0, got ${tolerance}`);
  const direction = METRIC_DIRECTIONS[metric];
  const sorted = [...points].sort((a, b) => a.ageDays - b.ageDays);
  const base = { metric, direction, tolerance, slopePerDay: slope(sorted) };
  const freshest = sorted[0]?.value ?? null;
  if (freshest === null) return { ...base, freshest: null, maxStalenessDays: null, recommendedIntervalDays: null, reason: `the freshest model's ${metric} is undefined on the test window; no recommendation` };
  const within = (v: number) => (direction === 'higher_is_better' ? v >= freshest - tolerance : v <= freshest + tolerance);
  let maxStaleness = sorted[0].ageDays;
  for (const p of sorted.slice(1)) {
    if (p.value === null || !within(p.value)) break;
    maxStaleness = p.ageDays;
  }
  const firstOutside = sorted.find((p) => p.ageDays > maxStaleness);
  const band = `${metric} within ${tolerance} of the freshest model's ${freshest.toFixed(4)}`;
  if (maxStaleness <= 0) {
    return {
      ...base,
      freshest,
      maxStalenessDays: maxStaleness,
      recommendedIntervalDays: null,
      reason: `already ${firstOutside?.ageDays} day(s) of staleness leaves the band (${band}): retrain more often than every ${firstOutside?.ageDays} day(s), or continually (stage 4)`,
    };
  }
  return {
    ...base,
    freshest,
    maxStalenessDays: maxStaleness,
    recommendedIntervalDays: maxStaleness,
    reason: firstOutside
      ? `models up to ${maxStaleness} day(s) stale keep ${band}; at ${firstOutside.ageDays} days it is ${firstOutside.value === null ? 'undefined' : firstOutside.value.toFixed(4)}`
      : `every tested age up to ${maxStaleness} days keeps ${band}: retraining every ${maxStaleness} days loses nothing measurable; data freshness is worth little here`,
  };
}

function slope(points: readonly FreshnessPoint[]): number | null {
  const known = points.filter((p): p is FreshnessPoint & { value: number } => p.value !== null);
  if (known.length < 2) return null;
  const mx = known.reduce((s, p) => s + p.ageDays, 0) / known.length;
  const my = known.reduce((s, p) => s + p.value, 0) / known.length;
  let sxy = 0;
  let sxx = 0;
  for (const p of known) {
    sxy += (p.ageDays - mx) * (p.value - my);
    sxx += (p.ageDays - mx) ** 2;
  }
  return sxx === 0 ? null : sxy / sxx;
}
