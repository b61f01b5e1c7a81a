// The drifting-data simulator: deterministic per seed and day, and each drift kind moves the
// distribution it is meant to move (and not the others).
import { describe, expect, it } from 'vitest';
import { driftIntensity, generateDay, SimulatorError, type SimulationOptions } from '../../scenarios/simulator';

const START = '2026-03-01T00:00:00Z';
const ctr = (extra: Partial<SimulationOptions> = {}): SimulationOptions => ({ task: 'ctr', modelName: 'ctr', start: START, days: 10, rowsPerDay: 20_000, seed: 3, ...extra });
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const feature = (day: ReturnType<typeof generateDay>, name: string) => day.predictions.map((p) => p.features[name] as number);

describe('simulator', () => {
  it('replays a day identically, whatever was simulated before', () => {
    const a = generateDay(ctr(), 4);
    const b = generateDay(ctr(), 4);
    expect(b).toEqual(a);
    expect(generateDay(ctr({ seed: 4 }), 4).truth).not.toEqual(a.truth);
    expect(a.predictions[0].requestId).toBe('ctr-20260305-00000');
    expect(a.predictions.every((p, i) => i === 0 || p.predictedAt >= a.predictions[i - 1].predictedAt)).toBe(true);
  });

  it('has a CTR-like base rate and logs one click per positive, mostly within minutes, some late', () => {
    const day = generateDay(ctr(), 0);
    const rate = mean(day.truth);
    expect(rate).toBeGreaterThan(0.05);
    expect(rate).toBeLessThan(0.2);
    expect(day.outcomes.length).toBe(day.truth.filter((y) => y === 1).length);
    const at = new Map(day.predictions.map((p) => [p.requestId, new Date(p.predictedAt).getTime()]));
    const delays = day.outcomes.map((o) => (new Date(o.occurredAt).getTime() - at.get(o.requestId!)!) / 60_000);
    const late = delays.filter((d) => d >= 45).length / delays.length;
    expect(late).toBeGreaterThan(0.03);
    expect(late).toBeLessThan(0.08);
    expect(delays.every((d) => d > 0)).toBe(true);
  });

  it('covariate shift moves the feature mean by the shift, gradually', () => {
    const options = ctr({ drift: [{ kind: 'covariate', feature: 'user_ctr_7d', shift: 2, profile: { shape: 'gradual', fromDay: 2, toDay: 6 } }] });
    expect(mean(feature(generateDay(options, 0), 'user_ctr_7d'))).toBeCloseTo(0, 1);
    expect(mean(feature(generateDay(options, 4), 'user_ctr_7d'))).toBeCloseTo(1.25, 1);
    expect(mean(feature(generateDay(options, 8), 'user_ctr_7d'))).toBeCloseTo(2, 1);
  });

  it('label shift changes P(y) but not P(x | y)', () => {
    const options = ctr({ drift: [{ kind: 'label', factor: 3, profile: { shape: 'sudden', atDay: 5 } }] });
    const before = generateDay(options, 1);
    const after = generateDay(options, 6);
    const odds = (d: ReturnType<typeof generateDay>) => mean(d.truth) / (1 - mean(d.truth));
    expect(odds(after) / odds(before)).toBeGreaterThan(2.5);
    expect(odds(after) / odds(before)).toBeLessThan(3.5);
    const positiveRelevance = (d: ReturnType<typeof generateDay>) => mean(d.predictions.filter((_, i) => d.truth[i] === 1).map((p) => p.features.ad_relevance as number));
    expect(Math.abs(positiveRelevance(after) - positiveRelevance(before))).toBeLessThan(0.06);
  });

  it('concept drift changes P(y | x): relevance stops mattering', () => {
    const options = ctr({ drift: [{ kind: 'concept', feature: 'ad_relevance', weight: 0, profile: { shape: 'temporary', fromDay: 3, toDay: 5 } }] });
    const lift = (d: ReturnType<typeof generateDay>) => {
      const high = d.truth.filter((_, i) => (d.predictions[i].features.ad_relevance as number) > 1);
      const low = d.truth.filter((_, i) => (d.predictions[i].features.ad_relevance as number) < -1);
      return mean(high) - mean(low);
    };
    expect(lift(generateDay(options, 1))).toBeGreaterThan(0.2);
    expect(Math.abs(lift(generateDay(options, 4)))).toBeLessThan(0.03);
    expect(lift(generateDay(options, 6))).toBeGreaterThan(0.2);
  });

  it('cold start: a new category value appears at its share from its day on', () => {
    const options = ctr({ drift: [{ kind: 'new_category', feature: 'device', value: 'vr_headset', fromDay: 2, share: 0.1, effect: 1 }] });
    const share = (day: number) => generateDay(options, day).predictions.filter((p) => p.features.device === 'vr_headset').length / 20_000;
    expect(share(1)).toBe(0);
    expect(share(3)).toBeCloseTo(0.1, 1);
  });

  it('a rare-event spike raises the click rate only while it lasts', () => {
    const options = ctr({ drift: [{ kind: 'spike', fromDay: 2, toDay: 3, share: 0.05 }] });
    expect(mean(generateDay(options, 2).truth) - mean(generateDay(options, 1).truth)).toBeGreaterThan(0.03);
    expect(mean(generateDay(options, 3).truth)).toBeCloseTo(mean(generateDay(options, 1).truth), 1);
  });

  it('eta: the arrival event comes when the wait is over and carries it as its value', () => {
    const day = generateDay({ task: 'eta', modelName: 'eta', start: START, days: 1, rowsPerDay: 2_000, seed: 1 }, 0);
    expect(day.outcomes.length).toBeGreaterThan(1_950);
    const byId = new Map(day.predictions.map((p) => [p.requestId, p]));
    for (const o of day.outcomes.slice(0, 50)) {
      const p = byId.get(o.requestId!)!;
      expect(new Date(o.occurredAt).getTime() - new Date(p.predictedAt).getTime()).toBe(Math.round(o.value! * 60_000));
    }
    expect(mean(day.truth)).toBeGreaterThan(10);
    expect(mean(day.truth)).toBeLessThan(40);
    expect(new Set(day.predictions.map((p) => p.features.vehicle))).toEqual(new Set(['bike', 'scooter', 'car']));
  });

  it('drift profiles: sudden, gradual, cyclic, temporary', () => {
    expect([0, 4.9, 5].map((d) => driftIntensity({ shape: 'sudden', atDay: 5 }, d))).toEqual([0, 0, 1]);
    expect([0, 3, 6].map((d) => driftIntensity({ shape: 'gradual', fromDay: 2, toDay: 4 }, d))).toEqual([0, 0.5, 1]);
    expect([0, 3.5, 7].map((d) => driftIntensity({ shape: 'cyclic', periodDays: 7 }, d)).map((x) => Number(x.toFixed(9)))).toEqual([0, 1, 0]);
    expect([1, 2, 3].map((d) => driftIntensity({ shape: 'temporary', fromDay: 2, toDay: 3 }, d))).toEqual([0, 1, 0]);
  });

  it('names a bad drift', () => {
    expect(() => generateDay(ctr({ drift: [{ kind: 'covariate', feature: 'device', shift: 1, profile: { shape: 'sudden', atDay: 1 } }] }), 0)).toThrow(
      new SimulatorError('drift[0].feature: "device" is not a numeric feature of the ctr task (ad_relevance, user_ctr_7d, position, hour_sin)'),
    );
  });
});
