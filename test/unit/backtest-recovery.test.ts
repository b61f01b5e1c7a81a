// Time-to-recover: the pre-drift level, leaving the ε band, coming back, one onset at a time.
import { describe, expect, it } from 'vitest';
import { meanDaysToRecover, recoveries, type DailyPoint } from '../../lifecycle/backtest/recovery';

const series = (values: Array<number | null>, firstDay = 0): DailyPoint[] => values.map((value, k) => ({ day: firstDay + k, date: `d${firstDay + k}`, rows: 100, value }));
const higher = { epsilon: 0.02, baselineDays: 3, direction: 'higher_is_better' as const };

describe('recoveries', () => {
  it('counts days from the onset until the metric is back within ε of the pre-drift mean', () => {
    // Pre-drift mean of days 2-4 = 0.8; dip at day 5-7; 0.79 on day 8 is within 0.02.
    const [r] = recoveries(series([0.7, 0.7, 0.8, 0.81, 0.79, 0.5, 0.55, 0.7, 0.79, 0.8]), [5], higher);
    expect(r).toMatchObject({ onsetDay: 5, recoveredDay: 8, daysToRecover: 3, worstAfter: 0.5 });
    expect(r.preDriftLevel).toBeCloseTo(0.8, 12);
  });

  it('is 0 when the metric never leaves the band, and waits for a departure under gradual drift', () => {
    expect(recoveries(series([0.8, 0.8, 0.8, 0.79, 0.81, 0.8]), [3], higher)[0]).toMatchObject({ daysToRecover: 0, worstAfter: null });
    // Day 3 is still inside the band, days 4-5 outside, day 6 back: 3 days from the onset.
    expect(recoveries(series([0.8, 0.8, 0.8, 0.79, 0.7, 0.6, 0.8]), [3], higher)[0]).toMatchObject({ daysToRecover: 3, worstAfter: 0.6 });
  });

  it('is null when not back before the next onset or the end, and null without baseline days', () => {
    const daily = series([0.8, 0.8, 0.8, 0.5, 0.5, 0.5, 0.8, 0.8, 0.5, 0.5]);
    const [first, second] = recoveries(daily, [8, 3], higher);
    expect(first).toMatchObject({ onsetDay: 3, daysToRecover: 3 });
    expect(second).toMatchObject({ onsetDay: 8, daysToRecover: null, recoveredDay: null });
    expect(recoveries(series([0.8, 0.5], 10), [10], higher)[0]).toMatchObject({ preDriftLevel: null, daysToRecover: null });
    expect(recoveries(series([0.8, 0.8, 0.8, 0.5, 0.5, 0.9]), [3, 4], higher)[0]).toMatchObject({ daysToRecover: null });
  });

  it('handles lower-is-better metrics and skips days without a value', () => {
    const [r] = recoveries(series([0.4, 0.4, 0.4, 0.7, null, 0.41]), [3], { ...higher, direction: 'lower_is_better' });
    expect(r).toMatchObject({ daysToRecover: 2, worstAfter: 0.7 });
    expect(meanDaysToRecover([r, { ...r, daysToRecover: 4 }, { ...r, daysToRecover: null }])).toBe(3);
    expect(meanDaysToRecover([])).toBeNull();
  });
});
