// Drift statistics for the run report, computed only from what a run already stored: the data
// validation gate's two feature profiles (the pulled training window and its reference, the
// champion's training snapshot; datasets/profile.ts) and the monitoring signals of the latest
// production window (lineage monitoring_signals). Nothing here reads rows again.
import type { DataProfile } from '../datasets/profile';
import type { StoredSignal } from '../lineage/monitoring';
import { jensenShannonDistance } from '../monitoring/categorical-drift';

export interface NumericProfileDrift {
  feature: string;
  referenceMean: number | null;
  currentMean: number | null;
  /** (current mean − reference mean) / reference std: the shift in reference standard deviations. */
  standardizedShift: number | null;
  referenceMedian: number | null;
  currentMedian: number | null;
  referenceNullRate: number | null;
  currentNullRate: number | null;
  /** Current values outside the reference's [min, max] (counted exactly by the profile builder). */
  outsideRange: number | null;
}

export interface CategoricalProfileDrift {
  feature: string;
  /** Jensen-Shannon distance (base 2, in [0, 1]) between the two category-share vectors. */
  jsDistance: number | null;
  /** Current categories the reference never saw. */
  unseen: string[];
  /** The reference's most frequent category and its share in both windows. */
  topCategory: string | null;
  referenceTopShare: number | null;
  currentTopShare: number | null;
  /** True when either profile kept only the most frequent values: the distance covers those only. */
  truncated: boolean;
}

export interface ProfileDrift {
  referenceRows: number;
  currentRows: number;
  numeric: NumericProfileDrift[];
  categorical: CategoricalProfileDrift[];
  label: { referenceRate: number | null; currentRate: number | null };
}

const rate = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

/** Feature by feature, the features both profiles have (a model iteration may add or drop some). */
export function compareProfiles(reference: DataProfile, current: DataProfile): ProfileDrift {
  const numeric = Object.keys(current.numeric)
    .filter((f) => reference.numeric[f])
    .map((feature): NumericProfileDrift => {
      const ref = reference.numeric[feature];
      const cur = current.numeric[feature];
      const shift = ref.mean !== null && cur.mean !== null && ref.std !== null && ref.std > 0 ? (cur.mean - ref.mean) / ref.std : null;
      return {
        feature,
        referenceMean: ref.mean,
        currentMean: cur.mean,
        standardizedShift: shift,
        referenceMedian: ref.quantiles.p50 ?? null,
        currentMedian: cur.quantiles.p50 ?? null,
        referenceNullRate: rate(ref.nulls, ref.count + ref.nulls),
        currentNullRate: rate(cur.nulls, cur.count + cur.nulls),
        outsideRange: cur.outsideRange ?? null,
      };
    });
  const categorical = Object.keys(current.categorical)
    .filter((f) => reference.categorical[f])
    .map((feature): CategoricalProfileDrift => {
      const ref = reference.categorical[feature];
      const cur = current.categorical[feature];
      const keys = [...new Set([...Object.keys(ref.values), ...Object.keys(cur.values)])].sort();
      const refTotal = keys.reduce((s, k) => s + (ref.values[k] ?? 0), 0);
      const curTotal = keys.reduce((s, k) => s + (cur.values[k] ?? 0), 0);
      const js = refTotal > 0 && curTotal > 0 ? jensenShannonDistance(keys.map((k) => (ref.values[k] ?? 0) / refTotal), keys.map((k) => (cur.values[k] ?? 0) / curTotal)) : null;
      const top = Object.entries(ref.values).sort(([a, x], [b, y]) => y - x || a.localeCompare(b))[0]?.[0] ?? null;
      return {
        feature,
        jsDistance: js,
        // A truncated reference may simply not list a rare value: then "unseen" would be a guess.
        unseen: ref.truncated ? [] : Object.keys(cur.values).filter((k) => !(k in ref.values)).sort(),
        topCategory: top,
        referenceTopShare: top === null ? null : rate(ref.values[top] ?? 0, refTotal),
        currentTopShare: top === null ? null : rate(cur.values[top] ?? 0, curTotal),
        truncated: ref.truncated || cur.truncated,
      };
    });
  return {
    referenceRows: reference.rows,
    currentRows: current.rows,
    numeric,
    categorical,
    label: { referenceRate: reference.label.positiveRate ?? reference.label.mean, currentRate: current.label.positiveRate ?? current.label.mean },
  };
}

/** One stored monitoring signal of a production window, as the run report shows it. */
export type MonitoringDriftSignal = Pick<StoredSignal, 'feature' | 'statistic' | 'value' | 'threshold' | 'firesWhen' | 'fired' | 'nRef' | 'nCur'> & { kind: string };

export interface MonitoringWindow {
  series: string;
  windowStart: string;
  windowEnd: string;
  signals: MonitoringDriftSignal[];
}

/** The run report's drift inputs; either part may be missing (first run, validation off, no serving yet). */
export interface RunDrift {
  /** Where the two profiles came from (the validation report's URI) and the reference snapshot. */
  validationReportUri: string | null;
  referenceUri: string | null;
  /** Why there is no profile comparison, when there is none. */
  note: string | null;
  profiles: ProfileDrift | null;
  monitoring: MonitoringWindow | null;
}
