// Feature profiles: per-feature counts, missing values, range, quantiles and category counts of a
// window or a snapshot. Built incrementally part by part in bounded memory (quantiles come from a
// seeded reservoir sample per feature, exact while a feature has at most `sampleSize` values), stored
// in each dataset manifest, and compared by the validation gate.
import type { FeatureLayout } from '../spec/feature-layout';
import { Reservoir, seededRng } from './sampling';

export const PROFILE_QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99] as const;

export interface NumericProfile {
  count: number;
  nulls: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  std: number | null;
  /** Keyed "p1", "p5", "p25", "p50", "p75", "p95", "p99"; linear interpolation (numpy's default). */
  quantiles: Record<string, number>;
  /** True when quantiles come from a sample rather than every value. */
  sampled: boolean;
  /** Values outside the range given to the builder (the reference's [min, max]), counted exactly. */
  outsideRange?: number;
}

export interface CategoricalProfile {
  count: number;
  nulls: number;
  /** Rows per value, for up to maxCategories distinct values. */
  values: Record<string, number>;
  /** True when more distinct values existed than were kept; unseen-category checks then skip. */
  truncated: boolean;
}

export interface DataProfile {
  rows: number;
  numeric: Record<string, NumericProfile>;
  categorical: Record<string, CategoricalProfile>;
  label: { count: number; invalid: number; mean: number | null; positiveRate: number | null };
}

export function quantileKey(q: number): string {
  return `p${Math.round(q * 100)}`;
}

/** Quantile of ascending values with linear interpolation between order statistics (numpy's "linear"). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const position = (n - 1) * q;
  const lo = Math.floor(position);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo);
}

class NumericAccumulator {
  count = 0;
  nulls = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  // Welford's running mean/variance: stable for millions of values.
  private mean = 0;
  private m2 = 0;
  private readonly sample: Reservoir<number>;

  private outside = 0;

  constructor(
    sampleSize: number,
    seed: number,
    name: string,
    private readonly range?: readonly [number, number],
  ) {
    this.sample = new Reservoir<number>(sampleSize, seededRng(seed, `profile:${name}`));
  }

  add(value: number): void {
    if (Number.isNaN(value)) {
      this.nulls++;
      return;
    }
    this.count++;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    const delta = value - this.mean;
    this.mean += delta / this.count;
    this.m2 += delta * (value - this.mean);
    this.sample.offer(value);
    if (this.range && (value < this.range[0] || value > this.range[1])) this.outside++;
  }

  finish(): NumericProfile {
    const sorted = Float64Array.from(this.sample.items).sort();
    const quantiles: Record<string, number> = {};
    if (this.count > 0) for (const q of PROFILE_QUANTILES) quantiles[quantileKey(q)] = quantileSorted(sorted, q);
    return {
      count: this.count,
      nulls: this.nulls,
      min: this.count ? this.min : null,
      max: this.count ? this.max : null,
      mean: this.count ? this.mean : null,
      std: this.count > 1 ? Math.sqrt(this.m2 / (this.count - 1)) : this.count ? 0 : null,
      quantiles,
      sampled: this.sample.seen > this.sample.capacity,
      ...(this.range ? { outsideRange: this.outside } : {}),
    };
  }
}

class CategoricalAccumulator {
  count = 0;
  nulls = 0;
  truncated = false;
  readonly values = new Map<string, number>();

  constructor(private readonly maxCategories: number) {}

  add(value: string | null): void {
    if (value === null) {
      this.nulls++;
      return;
    }
    this.count++;
    const seen = this.values.get(value);
    if (seen !== undefined) this.values.set(value, seen + 1);
    else if (this.values.size < this.maxCategories) this.values.set(value, 1);
    else this.truncated = true;
  }

  finish(): CategoricalProfile {
    const values = Object.fromEntries([...this.values.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
    return { count: this.count, nulls: this.nulls, values, truncated: this.truncated };
  }
}

/** The columns a profile reads: staged windows (nullable categories) and snapshots both fit. */
export interface ProfileColumns {
  numeric: Record<string, ArrayLike<number>>;
  categorical: Record<string, ArrayLike<string | null>>;
  labels: ArrayLike<number>;
}

export interface ProfileOptions {
  /** Values kept per numeric feature for quantiles (default 100,000). */
  sampleSize?: number;
  maxCategories?: number;
  seed?: number;
  /** Labels valid for a binary task are 0/1; others count as invalid. */
  binary?: boolean;
  /** Per numeric feature, a [min, max] to count values outside of exactly (the reference's range). */
  ranges?: Record<string, readonly [number, number]>;
}

export class ProfileBuilder {
  private readonly numeric: Map<string, NumericAccumulator>;
  private readonly categorical: Map<string, CategoricalAccumulator>;
  private rows = 0;
  private labelCount = 0;
  private labelInvalid = 0;
  private labelSum = 0;
  private positives = 0;
  private readonly binary: boolean;

  constructor(
    readonly layout: FeatureLayout,
    options: ProfileOptions = {},
  ) {
    const sampleSize = options.sampleSize ?? 100_000;
    const seed = options.seed ?? 1;
    this.binary = options.binary ?? true;
    this.numeric = new Map(layout.numeric.map((name) => [name, new NumericAccumulator(sampleSize, seed, name, options.ranges?.[name])]));
    this.categorical = new Map(layout.categorical.map((name) => [name, new CategoricalAccumulator(options.maxCategories ?? 10_000)]));
  }

  /** Adds rows (all, or only `indices`) of a part or snapshot. */
  add(columns: ProfileColumns, indices?: ArrayLike<number>): this {
    const n = indices ? indices.length : columns.labels.length;
    for (let k = 0; k < n; k++) {
      const row = indices ? indices[k] : k;
      for (const [name, acc] of this.numeric) acc.add(columns.numeric[name][row]);
      for (const [name, acc] of this.categorical) acc.add(columns.categorical[name][row]);
      const y = columns.labels[row];
      const valid = this.binary ? y === 0 || y === 1 : Number.isFinite(y);
      if (valid) {
        this.labelCount++;
        this.labelSum += y;
        if (y === 1) this.positives++;
      } else {
        this.labelInvalid++;
      }
    }
    this.rows += n;
    return this;
  }

  finish(): DataProfile {
    return {
      rows: this.rows,
      numeric: Object.fromEntries([...this.numeric].map(([name, acc]) => [name, acc.finish()])),
      categorical: Object.fromEntries([...this.categorical].map(([name, acc]) => [name, acc.finish()])),
      label: {
        count: this.labelCount,
        invalid: this.labelInvalid,
        mean: this.labelCount ? this.labelSum / this.labelCount : null,
        positiveRate: this.binary && this.labelCount ? this.positives / this.labelCount : null,
      },
    };
  }
}
