// Time-to-recover after each drift onset, from a strategy's daily prequential metric: the days
// until the metric is back within ε of its pre-drift level. Pure, so the rule is unit-tested alone.
import type { MetricDirection } from '../../ml/metrics';

export interface DailyPoint {
  day: number;
  /** UTC date of the day (YYYY-MM-DD). */
  date: string;
  rows: number;
  /** The metric on the day's rows as served, or null (no rows, or undefined on them). */
  value: number | null;
}

export interface Recovery {
  onsetDay: number;
  /** Mean daily metric over the baseline days before the onset (null: no scored day there). */
  preDriftLevel: number | null;
  /** Worst daily metric from the onset until recovery (or the end of the search); null when it never left the band. */
  worstAfter: number | null;
  /** First day after the metric left the ε band (at or after the onset) on which it is back inside it. */
  recoveredDay: number | null;
  /** recoveredDay − onsetDay; 0 = the metric never left the band; null = not back before the next onset or the end. */
  daysToRecover: number | null;
}

export interface RecoveryRule {
  epsilon: number;
  baselineDays: number;
  direction: MetricDirection;
}

export function recoveries(daily: readonly DailyPoint[], onsets: readonly number[], rule: RecoveryRule): Recovery[] {
  const byDay = new Map(daily.map((p) => [p.day, p.value]));
  const lastDay = daily.length ? daily[daily.length - 1].day : -1;
  const sorted = [...onsets].sort((a, b) => a - b);
  return sorted.map((onsetDay, k) => {
    const baseline: number[] = [];
    for (let d = onsetDay - rule.baselineDays; d < onsetDay; d++) {
      const v = byDay.get(d);
      if (v !== undefined && v !== null) baseline.push(v);
    }
    if (baseline.length === 0) return { onsetDay, preDriftLevel: null, worstAfter: null, recoveredDay: null, daysToRecover: null };
    const pre = baseline.reduce((a, b) => a + b, 0) / baseline.length;
    // Each onset is judged until the next one: a recovery that only comes after a later drift is not this one's.
    const searchEnd = k + 1 < sorted.length ? sorted[k + 1] - 1 : lastDay;
    const within = (v: number) => (rule.direction === 'higher_is_better' ? v >= pre - rule.epsilon : v <= pre + rule.epsilon);
    const worse = (a: number, b: number) => (rule.direction === 'higher_is_better' ? Math.min(a, b) : Math.max(a, b));
    // "Returns" needs a departure first: a gradual drift can take days to show, and the day of
    // its onset is still within ε. Until the metric leaves the band there is nothing to recover.
    let worst: number | null = null;
    for (let d = onsetDay; d <= searchEnd; d++) {
      const v = byDay.get(d);
      if (v === undefined || v === null) continue;
      if (within(v)) {
        if (worst !== null) return { onsetDay, preDriftLevel: pre, worstAfter: worst, recoveredDay: d, daysToRecover: d - onsetDay };
      } else {
        worst = worst === null ? v : worse(worst, v);
      }
    }
    if (worst === null) return { onsetDay, preDriftLevel: pre, worstAfter: null, recoveredDay: onsetDay, daysToRecover: 0 };
    return { onsetDay, preDriftLevel: pre, worstAfter: worst, recoveredDay: null, daysToRecover: null };
  });
}

/** Mean days to recover over the onsets that recovered; null when none did. */
export function meanDaysToRecover(list: readonly Recovery[]): number | null {
  const days = list.map((r) => r.daysToRecover).filter((d): d is number => d !== null);
  return days.length ? days.reduce((a, b) => a + b, 0) / days.length : null;
}
