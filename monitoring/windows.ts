// Monitoring windows: how a production window is defined (the last N served rows, or the last
// duration before "now"), the stable series name its signals are stored under, and the
// bounded-memory accumulator that turns a stream of logged rows (features, the served prediction,
// the label once it has arrived) into the samples the drift, label and performance signals need,
// overall and per slice. Memory is fixed by the capacities, whatever the window's row count.
import { parseDurationMs } from '../spec/data-spec';
import type { CategoryCounts } from './categorical-drift';
import { sliceKeysOf, type MonitoringSlices } from './slice-keys';
import { CategoryCounter, NumericReservoir, ReservoirSlots, WindowAccumulator, type DriftInputs } from './streaming';

/** The production window: the latest `rows` served predictions, or those of the last `duration` ("1d", "6h"). */
export type ProductionWindowSpec = { rows: number } | { duration: string };

/** What the reference is: the champion's training snapshot, or a fixed window of the log believed healthy. */
export type ReferenceSpec = { kind: 'training' } | { kind: 'window'; start: string; end: string };

export class WindowSpecError extends Error {
  override name = 'WindowSpecError';
}

/** Validates a window given as an object ({ rows } or { duration }) or text ("2000", "rows:2000", "1d"). */
export function parseWindowSpec(input: unknown): ProductionWindowSpec {
  const fix = 'give { rows: 2000 } (the latest N served rows) or { duration: "1d" } (the last day)';
  if (typeof input === 'string') {
    const text = input.trim().replace(/^(rows|duration):/, '');
    if (/^\d+$/.test(text)) return parseWindowSpec({ rows: Number(text) });
    return parseWindowSpec({ duration: text });
  }
  if (!input || typeof input !== 'object') throw new WindowSpecError(`window: ${JSON.stringify(input)} is not a window; ${fix}`);
  const spec = input as { rows?: unknown; duration?: unknown };
  if ((spec.rows === undefined) === (spec.duration === undefined)) throw new WindowSpecError(`window: set exactly one of rows or duration; ${fix}`);
  if (spec.rows !== undefined) {
    if (typeof spec.rows !== 'number' || !Number.isInteger(spec.rows) || spec.rows < 1) {
      throw new WindowSpecError(`window.rows must be a positive whole number of rows, got ${JSON.stringify(spec.rows)}`);
    }
    return { rows: spec.rows };
  }
  if (typeof spec.duration !== 'string' || parseDurationMs(spec.duration) === null) {
    throw new WindowSpecError(`window.duration ${JSON.stringify(spec.duration)} is not a duration: use e.g. "6h", "1d" or "7d"`);
  }
  return { duration: spec.duration };
}

/** "rows:2000" or "duration:1d": part of the series name. */
export function windowLabel(spec: ProductionWindowSpec): string {
  return 'rows' in spec ? `rows:${spec.rows}` : `duration:${spec.duration}`;
}

/** Validates a reference; a fixed window needs a valid [start, end) with start before end. */
export function parseReferenceSpec(kind: unknown, window?: { start: string; end: string }): ReferenceSpec {
  if (kind === undefined || kind === 'training') return { kind: 'training' };
  if (kind !== 'window') throw new WindowSpecError(`referenceKind ${JSON.stringify(kind)} is not known: use "training" (the champion's training snapshot) or "window" (a fixed healthy window of the log)`);
  if (!window) throw new WindowSpecError('referenceKind "window" needs referenceWindow { start, end } (ISO 8601): the healthy stretch of the prediction log to compare with');
  const start = Date.parse(window.start);
  const end = Date.parse(window.end);
  if (Number.isNaN(start) || Number.isNaN(end)) throw new WindowSpecError(`referenceWindow { start: ${JSON.stringify(window.start)}, end: ${JSON.stringify(window.end)} }: use ISO 8601 times`);
  if (start >= end) throw new WindowSpecError(`referenceWindow starts at ${window.start}, not before its end ${window.end}`);
  return { kind: 'window', start: new Date(start).toISOString(), end: new Date(end).toISOString() };
}

/** The series a window's signals are stored under: one per (reference, window definition). */
export function seriesName(reference: ReferenceSpec, window: ProductionWindowSpec): string {
  const ref = reference.kind === 'training' ? 'training' : `${reference.start}/${reference.end}`;
  return `ref=${ref};window=${windowLabel(window)}`;
}

export type MonitoredTask = 'binary_classification' | 'regression';

/** One logged row as the accumulator reads it. */
export interface MonitoredRow {
  features: Readonly<Record<string, unknown>>;
  /** The served score (P(y = 1) or the regression output); null when none was logged. */
  prediction: number | null;
  /** The natural label, when it has arrived by the monitoring time; else null. */
  label: number | null;
  /** Whether (label, prediction) counts for performance (default true; the training reference keeps the rows the champion fitted out). */
  scored?: boolean;
}

/** The label distribution of a window: exact class counts (binary) or a sample (regression). */
export type LabelSample = { kind: 'categorical'; counts: CategoryCounts } | { kind: 'numeric'; values: Float64Array };

/** What one window (or one slice of it) hands to the signals. */
export interface WindowSample {
  rows: number;
  labelledRows: number;
  features: DriftInputs;
  /** Sampled served predictions. */
  predictions: Float64Array;
  labels: LabelSample;
  /** Sampled labelled rows that also have a prediction, aligned: performance is computed on these. */
  pairs: { labels: Float64Array; predictions: Float64Array };
  /** Per slice key ("device=mobile", "cohort:top_positions"); empty inside a slice. */
  slices: Record<string, WindowSample>;
  /** Rows per slice feature whose value came after maxDistinctValues values were known (not sliced). */
  unslicedRows: Record<string, number>;
}

export interface AccumulatorOptions {
  numeric: readonly string[];
  categorical: readonly string[];
  task: MonitoredTask;
  slices?: MonitoringSlices;
  /** Rows kept per window for numeric features, predictions and labelled pairs (default 100,000). */
  capacity?: number;
  /** The same per slice (default 10,000): slices multiply memory, and their windows are smaller. */
  sliceCapacity?: number;
  seed?: number;
}

export const DEFAULT_WINDOW_CAPACITY = 100_000;
export const DEFAULT_SLICE_CAPACITY = 10_000;

/** A fixed-capacity uniform sample of (label, prediction) pairs. */
class PairReservoir {
  private readonly slots: ReservoirSlots;
  private readonly labels: Float64Array;
  private readonly predictions: Float64Array;

  constructor(capacity: number, seed: number) {
    this.slots = new ReservoirSlots(capacity, seed);
    this.labels = new Float64Array(capacity);
    this.predictions = new Float64Array(capacity);
  }

  add(label: number, prediction: number): void {
    const slot = this.slots.offer();
    if (slot < 0) return;
    this.labels[slot] = label;
    this.predictions[slot] = prediction;
  }

  sample(): { labels: Float64Array; predictions: Float64Array } {
    const n = Math.min(this.slots.seen, this.slots.capacity);
    return { labels: this.labels.slice(0, n), predictions: this.predictions.slice(0, n) };
  }
}

function finite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** The accumulators of one window or slice. */
class WindowCore {
  private readonly features: WindowAccumulator;
  private readonly predictions: NumericReservoir;
  private readonly labelCounts: CategoryCounter | null;
  private readonly labelValues: NumericReservoir | null;
  private readonly pairs: PairReservoir;
  rows = 0;
  labelledRows = 0;

  constructor(numeric: readonly string[], categorical: readonly string[], task: MonitoredTask, capacity: number, seed: number) {
    this.features = new WindowAccumulator({ numeric, categorical, capacity, seed });
    this.predictions = new NumericReservoir(capacity, seed + 1);
    // Binary labels are two categories counted exactly; regression labels are a numeric sample.
    this.labelCounts = task === 'binary_classification' ? new CategoryCounter(16) : null;
    this.labelValues = task === 'regression' ? new NumericReservoir(capacity, seed + 2) : null;
    this.pairs = new PairReservoir(capacity, seed + 3);
  }

  add(features: Readonly<Record<string, unknown>>, prediction: number | null, label: number | null, scored: boolean): void {
    this.rows += 1;
    this.features.addRow(features);
    if (finite(prediction)) this.predictions.add(prediction);
    if (!finite(label)) return;
    this.labelledRows += 1;
    if (this.labelCounts) this.labelCounts.add(String(label));
    else this.labelValues!.add(label);
    if (scored && finite(prediction)) this.pairs.add(label, prediction);
  }

  toSample(slices: Record<string, WindowSample>, unslicedRows: Record<string, number>): WindowSample {
    return {
      rows: this.rows,
      labelledRows: this.labelledRows,
      features: this.features.toDriftInputs(),
      predictions: this.predictions.sample(),
      labels: this.labelCounts ? { kind: 'categorical', counts: this.labelCounts.toCounts() } : { kind: 'numeric', values: this.labelValues!.sample() },
      pairs: this.pairs.sample(),
      slices,
      unslicedRows,
    };
  }
}

/**
 * Accumulates one window row by row: features through a WindowAccumulator (a row reservoir for
 * numeric columns, exact category counts), the served predictions, the labels and the labelled
 * (label, prediction) pairs through reservoirs, and the same again per slice. Seeded, so the same
 * rows in the same order give the same samples.
 */
export class MonitoringAccumulator {
  private readonly numeric: string[];
  private readonly categorical: string[];
  private readonly core: WindowCore;
  private readonly sliceCores = new Map<string, WindowCore>();
  private readonly sliceValues = new Map<string, Set<string>>();
  private readonly unsliced: Record<string, number> = {};
  private readonly capacity: number;
  private readonly sliceCapacity: number;
  private readonly seed: number;

  constructor(private readonly options: AccumulatorOptions) {
    this.numeric = [...options.numeric];
    this.categorical = [...options.categorical];
    this.capacity = options.capacity ?? DEFAULT_WINDOW_CAPACITY;
    this.sliceCapacity = Math.min(options.sliceCapacity ?? DEFAULT_SLICE_CAPACITY, this.capacity);
    this.seed = options.seed ?? 0;
    this.core = new WindowCore(this.numeric, this.categorical, options.task, this.capacity, this.seed);
  }

  get rowsSeen(): number {
    return this.core.rows;
  }

  get labelledRows(): number {
    return this.core.labelledRows;
  }

  /**
   * Adds one row. Numeric features must be numbers (anything else counts as missing); categorical
   * ones are strings, and numeric codes are turned into strings ("2") so they count as categories.
   */
  addRow(row: MonitoredRow): void {
    const features: Record<string, unknown> = {};
    for (const name of this.numeric) features[name] = row.features[name];
    for (const name of this.categorical) {
      const value = row.features[name];
      features[name] = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : null;
    }
    const scored = row.scored ?? true;
    this.core.add(features, row.prediction, row.label, scored);
    const slices = this.options.slices;
    if (!slices) return;
    for (const key of sliceKeysOf(row.features, slices)) {
      let core = this.sliceCores.get(key);
      if (!core) {
        if (!this.admitSlice(key, slices.maxDistinctValues)) continue;
        // Each slice gets its own seed so adding a slice value does not reshuffle the others.
        core = new WindowCore(this.numeric, this.categorical, this.options.task, this.sliceCapacity, this.seed + 7919 * (this.sliceCores.size + 1));
        this.sliceCores.set(key, core);
      }
      core.add(features, row.prediction, row.label, scored);
    }
  }

  /** A feature slices into at most maxDistinctValues values; later newcomers are counted, not sliced. */
  private admitSlice(key: string, maxDistinctValues: number): boolean {
    if (key.startsWith('cohort:')) return true;
    const feature = key.slice(0, key.indexOf('='));
    let values = this.sliceValues.get(feature);
    if (!values) this.sliceValues.set(feature, (values = new Set()));
    if (values.size >= maxDistinctValues) {
      this.unsliced[feature] = (this.unsliced[feature] ?? 0) + 1;
      return false;
    }
    values.add(key);
    return true;
  }

  toSample(): WindowSample {
    const slices: Record<string, WindowSample> = {};
    for (const key of [...this.sliceCores.keys()].sort()) slices[key] = this.sliceCores.get(key)!.toSample({}, {});
    return this.core.toSample(slices, { ...this.unsliced });
  }
}
