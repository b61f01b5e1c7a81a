// Which slices a logged row belongs to, under the spec's evaluation.slices: one per slice feature
// ("device=mobile") and one per cohort whose predicate holds ("cohort:top_positions"). The keys
// match the report card's slice keys, so a slice reads the same offline and in monitoring.
import type { CohortCondition, CohortSpec } from '../evaluation/spec';

export interface MonitoringSlices {
  /** Categorical (or numeric-coded) features sliced by value. */
  features: readonly string[];
  cohorts: readonly CohortSpec[];
  /** A feature contributes at most this many values; rows with later values are not sliced. */
  maxDistinctValues: number;
  /** Slices with fewer rows in either window are reported but never fire. */
  minRows: number;
}

/** The slice definition of a model spec's evaluation.slices, with its defaults. */
export function slicesFromSpec(slices: { features: readonly string[]; cohorts: readonly CohortSpec[]; maxDistinctValues: number; minRows: number } | undefined): MonitoringSlices {
  return {
    features: [...(slices?.features ?? [])],
    cohorts: [...(slices?.cohorts ?? [])],
    maxDistinctValues: slices?.maxDistinctValues ?? 50,
    minRows: slices?.minRows ?? 50,
  };
}

function sliceValue(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  return null; // a missing value is no category
}

function holds(condition: CohortCondition, value: unknown): boolean {
  if (value === null || value === undefined) return false;
  switch (condition.op) {
    case '<':
      return typeof value === 'number' && value < (condition.value as number);
    case '<=':
      return typeof value === 'number' && value <= (condition.value as number);
    case '>':
      return typeof value === 'number' && value > (condition.value as number);
    case '>=':
      return typeof value === 'number' && value >= (condition.value as number);
    case '==':
      // "2" and 2 are the same category: logs may carry either.
      return String(value) === String(condition.value);
    case 'in':
      return (condition.value as Array<string | number>).some((v) => String(v) === String(value));
  }
}

/** The slice keys of one row, feature slices first (in declared order), then cohorts. */
export function sliceKeysOf(features: Readonly<Record<string, unknown>>, slices: MonitoringSlices): string[] {
  const keys: string[] = [];
  for (const feature of slices.features) {
    const value = sliceValue(features[feature]);
    if (value !== null) keys.push(`${feature}=${value}`);
  }
  for (const cohort of slices.cohorts) {
    const conditions = Array.isArray(cohort.where) ? cohort.where : [cohort.where];
    if (conditions.every((c) => holds(c, features[c.feature]))) keys.push(`cohort:${cohort.name}`);
  }
  return keys;
}

/** The feature a slice key fixes ("device" for "device=mobile"); null for cohorts. */
export function sliceFeatureOf(key: string): string | null {
  if (key.startsWith('cohort:')) return null;
  const at = key.indexOf('=');
  return at > 0 ? key.slice(0, at) : null;
}
