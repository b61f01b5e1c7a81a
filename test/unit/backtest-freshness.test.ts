// The value-of-freshness experiment's pure parts: the windows (no model sees a test row), the
// recommendation rule, a decreasing curve on a drifting simulated stream, and the HTML report.
import { describe, expect, it } from 'vitest';
import { evaluateFreshnessPoint, freshnessWindows, recommendInterval, type FreshnessPoint } from '../../lifecycle/backtest/freshness';
import { freshnessReportHtml } from '../../lifecycle/backtest/freshness-report';
import { DAY_MS, firstAtOrAfter, historyStartMs, type LabelledHistory } from '../../lifecycle/backtest/history';
import { defaultBacktestSpec } from '../../lifecycle/backtest/model-spec';
import { simulatedHistory, simulatorFeatureSpecs } from '../../lifecycle/backtest/simulated-history';

const point = (ageDays: number, value: number | null): FreshnessPoint => ({
  ageDays,
  start: '',
  end: '',
  value,
  metrics: {},
  rows: { pulled: 0, train: 0, validation: 0, test: 0 },
  samplesSeen: 0,
  cpuSeconds: 0,
});

/** Rows in [start, end) as their own history. */
function between(history: LabelledHistory, start: string, end: string): LabelledHistory {
  const lo = firstAtOrAfter(history, Date.parse(start));
  const hi = firstAtOrAfter(history, Date.parse(end));
  const cut = <T extends { slice(a: number, b: number): T }>(c: T) => c.slice(lo, hi);
  return {
    ...history,
    eventTimeMs: cut(history.eventTimeMs),
    labels: cut(history.labels),
    entityIds: history.entityIds.slice(lo, hi),
    numeric: Object.fromEntries(Object.entries(history.numeric).map(([k, v]) => [k, cut(v)])),
    categorical: Object.fromEntries(Object.entries(history.categorical).map(([k, v]) => [k, v.slice(lo, hi)])),
  };
}

describe('freshnessWindows', () => {
  it('ends each training window `age` days before the test window, which holds the latest data', () => {
    const ref = Date.parse('2026-03-01T00:00:00Z');
    const layout = freshnessWindows(ref, [7, 0, 1], 14, 1);
    expect(layout.test).toEqual({ start: '2026-02-28T00:00:00.000Z', end: '2026-03-01T00:00:00.000Z' });
    expect(layout.windows).toEqual([
      { ageDays: 0, start: '2026-02-14T00:00:00.000Z', end: '2026-02-28T00:00:00.000Z' },
      { ageDays: 1, start: '2026-02-13T00:00:00.000Z', end: '2026-02-27T00:00:00.000Z' },
      { ageDays: 7, start: '2026-02-07T00:00:00.000Z', end: '2026-02-21T00:00:00.000Z' },
    ]);
    expect(layout.start).toBe('2026-02-07T00:00:00.000Z');
  });

  it('refuses input that cannot make a curve', () => {
    expect(() => freshnessWindows(0, [0], 7, 1)).toThrow(/at least two ages/);
    expect(() => freshnessWindows(0, [0, -1], 7, 1)).toThrow(/-1 is not a non-negative number/);
    expect(() => freshnessWindows(0, [0, 1, 1], 7, 1)).toThrow(/duplicates/);
    expect(() => freshnessWindows(0, [0, 1], 0, 1)).toThrow(/trainWindowDays must be > 0/);
    expect(() => freshnessWindows(Number.NaN, [0, 1], 7, 1)).toThrow(/referenceTime/);
  });
});

describe('recommendInterval', () => {
  it('is the largest age whose metric, and every fresher one, stays within the tolerance', () => {
    const r = recommendInterval([point(14, 0.7), point(0, 0.8), point(1, 0.795), point(3, 0.792), point(7, 0.78)], 'auc', 0.01);
    expect(r).toMatchObject({ freshest: 0.8, maxStalenessDays: 3, recommendedIntervalDays: 3, direction: 'higher_is_better' });
    expect(r.reason).toMatch(/up to 3 day\(s\) stale keep auc within 0\.01 of the freshest model's 0\.8000; at 7 days it is 0\.7800$/);
    expect(r.slopePerDay!).toBeLessThan(0);
    // A later age back inside the band does not extend the interval: the staleness in between was too costly.
    expect(recommendInterval([point(0, 0.8), point(1, 0.7), point(3, 0.8)], 'auc', 0.01).recommendedIntervalDays).toBeNull();
  });

  it('says when every age is as good, when none is, and handles lower-is-better metrics', () => {
    expect(recommendInterval([point(0, 0.8), point(7, 0.8), point(30, 0.799)], 'auc', 0.01)).toMatchObject({ recommendedIntervalDays: 30, reason: expect.stringMatching(/freshness is worth little/) });
    expect(recommendInterval([point(0, 0.8), point(1, 0.7)], 'auc', 0.01)).toMatchObject({ recommendedIntervalDays: null, maxStalenessDays: 0, reason: expect.stringMatching(/more often than every 1 day/) });
    expect(recommendInterval([point(0, 0.40), point(3, 0.405), point(7, 0.5)], 'log_loss', 0.01)).toMatchObject({ recommendedIntervalDays: 3, direction: 'lower_is_better' });
    expect(recommendInterval([point(0, null), point(1, 0.5)], 'auc', 0.01).recommendedIntervalDays).toBeNull();
    expect(recommendInterval([point(0, 0.8), point(1, null), point(3, 0.8)], 'auc', 0.01).maxStalenessDays).toBe(0);
    expect(() => recommendInterval([point(0, 0.8)], 'auc', -1)).toThrow(/tolerance must be >= 0/);
  });
});

describe('evaluateFreshnessPoint on a drifting stream', () => {
  it('staler windows score worse on the latest data under gradual concept drift', () => {
    const days = 30;
    const history = simulatedHistory({
      days,
      rowsPerDay: 250,
      seed: 3,
      drift: [
        { kind: 'label', factor: 5, profile: { shape: 'sudden', atDay: 0 } },
        { kind: 'concept', feature: 'ad_relevance', weight: -1.2, profile: { shape: 'gradual', fromDay: 0, toDay: days } },
      ],
    });
    const spec = defaultBacktestSpec(simulatorFeatureSpecs(), 'binary_classification');
    const layout = freshnessWindows(historyStartMs(history) + days * DAY_MS, [0, 3, 10, 20], 5, 1);
    const test = between(history, layout.test.start, layout.test.end);
    const points = layout.windows.map((w) => evaluateFreshnessPoint(between(history, w.start, w.end), test, spec, w, 'auc'));
    const values = points.map((p) => p.value!);
    expect(values[0]).toBeGreaterThan(values[2]);
    expect(values[2]).toBeGreaterThan(values[3]);
    expect(values[0] - values[3]).toBeGreaterThan(0.1);
    expect(points[0].rows).toMatchObject({ test: 250, pulled: 1250 });
    // A window before the history's first row has no data: a point without a value, not a failure.
    const empty = evaluateFreshnessPoint(null, test, spec, { ageDays: 40, start: '', end: '' }, 'auc');
    expect(empty).toMatchObject({ value: null, error: expect.stringMatching(/^EmptyDataWindow/) });
    const oneHour = between(history, layout.test.start, new Date(Date.parse(layout.test.start) + 3_600_000).toISOString());
    const tiny = evaluateFreshnessPoint(oneHour, test, spec, { ageDays: 0, start: '', end: '' }, 'auc');
    expect(tiny.error).toMatch(/^InsufficientData: only \d+ labelled rows in the window; data.minRows is 200/);

    const html = freshnessReportHtml({ experimentId: 'freshness/m/k', modelName: 'm', test: layout.test, trainWindowDays: 5, points, recommendation: recommendInterval(points, 'auc', 0.01) });
    expect(html).toContain('<svg');
    expect(html).toContain('Value of data freshness: m');
    expect(html).toMatch(/retrain at least every|no interval within tolerance/);
  });
});
