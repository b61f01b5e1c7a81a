// The routing rules the server applies: shares honoured, A/B before canary before champion,
// shadows never the serving version, interleaving sticky per unit, inconsistent tables refused.
import { describe, expect, it } from 'vitest';
import { buildRouting, interleaves, routePrediction, shadowsFor, versionsOf, type ActiveDeploymentRow } from '../../serving/routing-table';

const row = (version: string, mode: ActiveDeploymentRow['mode'], percent: number, extra: Partial<ActiveDeploymentRow> = {}): ActiveDeploymentRow => ({
  version_id: version,
  mode,
  traffic_percent: percent,
  arm: null,
  salt: null,
  artifact_uri: `file:///m/${version}.onnx`,
  ...extra,
});

function shares(routing: ReturnType<typeof buildRouting>, n = 20_000): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let u = 0; u < n; u++) {
    const d = routePrediction(routing, `unit-${u}`, `req-${u}`)!;
    const key = `${d.versionId}/${d.mode}${d.arm ? `/${d.arm}` : ''}`;
    counts[key] = (counts[key] ?? 0) + 1 / n;
  }
  return counts;
}

describe('routing table', () => {
  it('champion only', () => {
    const r = buildRouting('m', 3, [row('m@v1', 'champion', 100)]);
    expect(routePrediction(r, 'u', 'q')).toEqual({ versionId: 'm@v1', mode: 'champion', arm: null });
    expect(versionsOf(r).map((v) => v.versionId)).toEqual(['m@v1']);
  });

  it('a canary takes its share of units', () => {
    const s = shares(buildRouting('m', 1, [row('m@v1', 'champion', 100), row('m@v2', 'canary', 25, { salt: 'x' })]));
    expect(s['m@v2/canary']).toBeCloseTo(0.25, 1);
    expect(s['m@v1/champion']).toBeCloseTo(0.75, 1);
  });

  it('A/B arms split their shares, the rest stays on the champion, and arms win over a canary', () => {
    const r = buildRouting('m', 1, [
      row('m@v1', 'champion', 100),
      row('m@v2', 'ab', 30, { arm: 'treatment', salt: 'ab' }),
      row('m@v1', 'ab', 30, { arm: 'control', salt: 'ab' }),
      row('m@v3', 'canary', 50, { salt: 'c' }),
    ]);
    expect(r.ab?.arms.map((a) => a.arm)).toEqual(['control', 'treatment']);
    const s = shares(r);
    expect(s['m@v1/ab/control']).toBeCloseTo(0.3, 1);
    expect(s['m@v2/ab/treatment']).toBeCloseTo(0.3, 1);
    expect(s['m@v1/champion']).toBeCloseTo(0.4, 1);
    expect(s['m@v3/canary']).toBeUndefined();
  });

  it('without a unit id, assignment is per request', () => {
    const r = buildRouting('m', 1, [row('m@v1', 'champion', 100), row('m@v2', 'canary', 50, { salt: 'x' })]);
    const versions = new Set(Array.from({ length: 50 }, (_, i) => routePrediction(r, null, `req-${i}`)!.versionId));
    expect(versions).toEqual(new Set(['m@v1', 'm@v2']));
  });

  it('shadows mirror a share of requests and never duplicate the serving version', () => {
    const r = buildRouting('m', 1, [row('m@v1', 'champion', 100), row('m@v2', 'shadow', 100), row('m@v3', 'shadow', 20)]);
    expect(shadowsFor(r, 'q1', 'm@v1').map((s) => s.versionId)).toContain('m@v2');
    expect(shadowsFor(r, 'q1', 'm@v2').map((s) => s.versionId)).not.toContain('m@v2');
    let v3 = 0;
    for (let i = 0; i < 5000; i++) if (shadowsFor(r, `q${i}`, 'm@v1').some((s) => s.versionId === 'm@v3')) v3++;
    expect(v3 / 5000).toBeCloseTo(0.2, 1);
  });

  it('interleaving needs arms A and B and is sticky per unit', () => {
    const r = buildRouting('m', 1, [row('m@v1', 'champion', 100), row('m@v1', 'interleaving', 40, { arm: 'A', salt: 'i' }), row('m@v2', 'interleaving', 40, { arm: 'B', salt: 'i' })]);
    expect(r.interleaving).toMatchObject({ percent: 40, a: { versionId: 'm@v1' }, b: { versionId: 'm@v2' } });
    for (let u = 0; u < 100; u++) expect(interleaves(r, `u${u}`, 'q1')).toBe(interleaves(r, `u${u}`, 'q2'));
    expect(() => buildRouting('m', 1, [row('m@v2', 'interleaving', 40, { arm: 'B' })])).toThrow(/exactly arms A and B/);
  });

  it('refuses two champions or two canaries instead of guessing', () => {
    expect(() => buildRouting('m', 1, [row('m@v1', 'champion', 100), row('m@v2', 'champion', 100)])).toThrow(/two active champion rows/);
    expect(() => buildRouting('m', 1, [row('m@v2', 'canary', 5), row('m@v3', 'canary', 5)])).toThrow(/two active canary rows/);
  });
});
