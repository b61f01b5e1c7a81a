// Bounded-memory accumulators that turn a window of millions of logged rows into drift inputs:
// a seeded reservoir sample of rows for numeric columns (Vitter's / Li's Algorithm L) and exact
// category counts with a cap on distinct categories.
//
// Accuracy trade-off of a k-row reservoir (uniform without replacement from the N rows seen):
// - KS: by the Dvoretzky-Kiefer-Wolfowitz inequality the sample ECDF is within
//   sqrt(ln(2/delta) / (2k)) of the window's ECDF with probability 1 - delta: 0.0136 at k = 10,000,
//   0.0043 at k = 100,000 (delta = 0.05), per window. The KS p-value then tests the samples, i.e.
//   it uses k, not N, for the sample size: with k in the thousands it is already "large-sample"
//   and the default policy decides with the distance anyway.
// - Wasserstein-1: the sampling error is of order sigma / sqrt(k) for light-tailed features
//   (about 0.003 sigma at k = 100,000), small against the 0.1 sigma threshold; heavy tails widen it.
// - PSI: bin shares carry binomial error sqrt(p (1 - p) / k), about 0.001 at k = 100,000.
// - Category counts are exact (no sampling) up to the distinct-category cap.
// Memory: capacity x numeric columns doubles, plus one map entry per distinct category.

import { createRng, type Rng } from '../ml/random';
import type { CategoryCounts } from './categorical-drift';
import type { ColumnSet } from './drift-report';

/** Default reservoir capacity (rows). */
export const DEFAULT_RESERVOIR_CAPACITY = 100_000;
/** Default cap on distinct categories per column. */
export const DEFAULT_MAX_CATEGORIES = 10_000;
/** Where categories beyond the cap are counted. */
export const OTHER_CATEGORY = '__other__';

function checkCapacity(capacity: number): void {
  if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`reservoir: capacity must be a positive integer, got ${capacity}`);
}

/**
 * Algorithm L (Li 1994): decides, for a stream of items, which reservoir slot each one takes.
 * Instead of one random draw per item (Algorithm R) it draws the gap to the next accepted item,
 * so the cost is O(k (1 + log(N / k))) random numbers for N items. Deterministic per seed.
 */
export class ReservoirSlots {
  private readonly rng: Rng;
  private w: number;
  private nextAccepted: number;
  private count = 0;

  constructor(readonly capacity: number, seed: number) {
    checkCapacity(capacity);
    this.rng = createRng(seed);
    this.w = Math.exp(Math.log(this.uniform()) / capacity);
    this.nextAccepted = capacity + this.gap();
  }

  /** Uniform in (0, 1]: log() never sees 0. */
  private uniform(): number {
    return 1 - this.rng.next();
  }

  private gap(): number {
    const g = Math.floor(Math.log(this.uniform()) / Math.log1p(-this.w));
    return Number.isFinite(g) ? g : Number.MAX_SAFE_INTEGER;
  }

  /** Items offered so far. */
  get seen(): number {
    return this.count;
  }

  /** Offers the next item: returns the slot it overwrites, or -1 when it is not sampled. */
  offer(): number {
    const index = this.count++;
    if (index < this.capacity) return index;
    if (index !== this.nextAccepted) return -1;
    const slot = this.rng.nextInt(this.capacity);
    this.w *= Math.exp(Math.log(this.uniform()) / this.capacity);
    this.nextAccepted += this.gap() + 1;
    return slot;
  }
}

function isMissingNumber(value: unknown): boolean {
  return typeof value !== 'number' || !Number.isFinite(value);
}

/** A fixed-capacity uniform sample of one numeric column; missing/non-finite values are counted, not sampled. */
export class NumericReservoir {
  private readonly slots: ReservoirSlots;
  private readonly values: Float64Array;
  private missingCount = 0;

  constructor(capacity: number = DEFAULT_RESERVOIR_CAPACITY, seed = 0) {
    this.slots = new ReservoirSlots(capacity, seed);
    this.values = new Float64Array(capacity);
  }

  add(value: number | null | undefined): void {
    if (isMissingNumber(value)) {
      this.missingCount += 1;
      return;
    }
    const slot = this.slots.offer();
    if (slot >= 0) this.values[slot] = value as number;
  }

  addAll(values: ArrayLike<number | null | undefined>): void {
    for (let i = 0; i < values.length; i++) this.add(values[i]);
  }

  get capacity(): number {
    return this.slots.capacity;
  }

  /** Finite values offered. */
  get seen(): number {
    return this.slots.seen;
  }

  get missing(): number {
    return this.missingCount;
  }

  /** A copy of the sample (min(seen, capacity) values). */
  sample(): Float64Array {
    return this.values.slice(0, Math.min(this.slots.seen, this.slots.capacity));
  }
}

/** Exact category counts with a cap on distinct categories; later newcomers go to "__other__". */
export class CategoryCounter {
  private readonly counts = new Map<string, number>();
  private missingCount = 0;
  private overflow = 0;
  private rows = 0;

  constructor(readonly maxCategories: number = DEFAULT_MAX_CATEGORIES) {
    if (!Number.isInteger(maxCategories) || maxCategories < 1) {
      throw new Error(`category counter: maxCategories must be a positive integer, got ${maxCategories}`);
    }
  }

  /**
   * Counts one value. The cap is first come, first served: once maxCategories distinct values are
   * known, new ones are counted as "__other__". Size the cap above the expected cardinality;
   * otherwise a category that is new in the current window hides in "__other__" (which itself
   * shows up as unseen when the reference never overflowed).
   */
  add(value: string | null | undefined): void {
    if (typeof value !== 'string') {
      this.missingCount += 1;
      return;
    }
    this.rows += 1;
    const existing = this.counts.get(value);
    if (existing !== undefined) {
      this.counts.set(value, existing + 1);
    } else if (this.counts.size < this.maxCategories) {
      this.counts.set(value, 1);
    } else {
      this.overflow += 1;
    }
  }

  addAll(values: ArrayLike<string | null | undefined>): void {
    for (let i = 0; i < values.length; i++) this.add(values[i]);
  }

  get missing(): number {
    return this.missingCount;
  }

  /** Rows that fell into "__other__". */
  get overflowRows(): number {
    return this.overflow;
  }

  /** Counted (non-missing) rows. */
  get total(): number {
    return this.rows;
  }

  toCounts(): CategoryCounts {
    const counts = new Map(this.counts);
    if (this.overflow > 0) counts.set(OTHER_CATEGORY, (counts.get(OTHER_CATEGORY) ?? 0) + this.overflow);
    return { counts, total: this.rows };
  }
}

export interface WindowAccumulatorOptions {
  numeric: readonly string[];
  categorical: readonly string[];
  /** Rows kept for numeric columns (default 100,000). */
  capacity?: number;
  seed?: number;
  maxCategories?: number;
}

/** What a window's accumulators hand to computeDriftReport. */
export interface DriftInputs {
  /** Numeric columns: the sampled rows' finite values; categorical: exact counts. */
  columns: ColumnSet;
  /** Sampled rows where every numeric column is finite, aligned across columns (for projections). */
  completeRows: Record<string, Float64Array>;
  rowsSeen: number;
  sampledRows: number;
  /** Missing or non-finite values per column, over all rows seen (a data-quality signal). */
  missing: Record<string, number>;
  /** Rows counted as "__other__" per categorical column. */
  overflowRows: Record<string, number>;
}

/**
 * Accumulates one window (reference or current) row by row or batch by batch. Numeric columns
 * share one row reservoir, so sampled values stay aligned across columns (projections need whole
 * rows); categorical columns are counted exactly over every row.
 */
export class WindowAccumulator {
  private readonly slots: ReservoirSlots;
  private readonly numericNames: string[];
  private readonly categoricalNames: string[];
  private readonly stored: Float64Array[];
  private readonly numericMissing: number[];
  private readonly counters: CategoryCounter[];

  constructor(options: WindowAccumulatorOptions) {
    const capacity = options.capacity ?? DEFAULT_RESERVOIR_CAPACITY;
    this.slots = new ReservoirSlots(capacity, options.seed ?? 0);
    this.numericNames = [...options.numeric];
    this.categoricalNames = [...options.categorical];
    const all = [...this.numericNames, ...this.categoricalNames];
    const duplicate = all.find((name, i) => all.indexOf(name) !== i);
    if (duplicate !== undefined) throw new Error(`window accumulator: column '${duplicate}' is listed twice`);
    this.stored = this.numericNames.map(() => new Float64Array(capacity));
    this.numericMissing = this.numericNames.map(() => 0);
    this.counters = this.categoricalNames.map(() => new CategoryCounter(options.maxCategories ?? DEFAULT_MAX_CATEGORIES));
  }

  get rowsSeen(): number {
    return this.slots.seen;
  }

  /** Adds one row; absent, null or non-finite values count as missing (parse numeric strings upstream: "3.5" counts as missing). */
  addRow(row: Readonly<Record<string, unknown>>): void {
    const slot = this.slots.offer();
    for (let c = 0; c < this.numericNames.length; c++) {
      const value = row[this.numericNames[c]];
      const missing = isMissingNumber(value);
      if (missing) this.numericMissing[c] += 1;
      if (slot >= 0) this.stored[c][slot] = missing ? Number.NaN : (value as number);
    }
    for (let c = 0; c < this.categoricalNames.length; c++) {
      const value = row[this.categoricalNames[c]];
      this.counters[c].add(typeof value === 'string' ? value : null);
    }
  }

  /** Adds a batch of rows given as columns (as read from Parquet/Arrow); every column must have `rows` values. */
  addColumns(batch: {
    rows: number;
    numeric?: Readonly<Record<string, ArrayLike<number | null | undefined>>>;
    categorical?: Readonly<Record<string, ArrayLike<string | null | undefined>>>;
  }): void {
    const numeric = this.numericNames.map((name) => batch.numeric?.[name]);
    const categorical = this.categoricalNames.map((name) => batch.categorical?.[name]);
    [...numeric, ...categorical].forEach((column, k) => {
      const name = k < numeric.length ? this.numericNames[k] : this.categoricalNames[k - numeric.length];
      if (column === undefined) throw new Error(`window accumulator: batch has no column '${name}'`);
      if (column.length !== batch.rows) throw new Error(`window accumulator: column '${name}' has ${column.length} values, batch has ${batch.rows} rows`);
    });
    for (let i = 0; i < batch.rows; i++) {
      const slot = this.slots.offer();
      for (let c = 0; c < numeric.length; c++) {
        const value = (numeric[c] as ArrayLike<number | null | undefined>)[i];
        const missing = isMissingNumber(value);
        if (missing) this.numericMissing[c] += 1;
        if (slot >= 0) this.stored[c][slot] = missing ? Number.NaN : (value as number);
      }
    }
    categorical.forEach((column, c) => this.counters[c].addAll(column as ArrayLike<string | null | undefined>));
  }

  toDriftInputs(): DriftInputs {
    const sampledRows = Math.min(this.slots.seen, this.slots.capacity);
    const complete = new Uint8Array(sampledRows).fill(1);
    for (const column of this.stored) for (let i = 0; i < sampledRows; i++) if (Number.isNaN(column[i])) complete[i] = 0;
    let completeCount = 0;
    for (let i = 0; i < sampledRows; i++) completeCount += complete[i];
    const numeric: Record<string, Float64Array> = {};
    const completeRows: Record<string, Float64Array> = {};
    const missing: Record<string, number> = {};
    this.numericNames.forEach((name, c) => {
      const column = this.stored[c].subarray(0, sampledRows);
      numeric[name] = column.filter((v) => !Number.isNaN(v));
      const aligned = new Float64Array(completeCount);
      let k = 0;
      for (let i = 0; i < sampledRows; i++) if (complete[i]) aligned[k++] = column[i];
      completeRows[name] = aligned;
      missing[name] = this.numericMissing[c];
    });
    const categorical: Record<string, CategoryCounts> = {};
    const overflowRows: Record<string, number> = {};
    this.categoricalNames.forEach((name, c) => {
      categorical[name] = this.counters[c].toCounts();
      missing[name] = this.counters[c].missing;
      overflowRows[name] = this.counters[c].overflowRows;
    });
    return { columns: { numeric, categorical }, completeRows, rowsSeen: this.slots.seen, sampledRows, missing, overflowRows };
  }
}
