// The report card's two renderings: versioned JSON that round-trips, and a standalone HTML page with
// the decision at the top, inline SVG charts, escaped text and no external assets.
import { describe, expect, it } from 'vitest';
import { createRng } from '../../ml/random';
// Through the public index, so its re-exports are type-checked too.
import { judgeCandidate, parseReportCard, renderReportCardHtml, reportCardToJson, type ReportCard } from '../../evaluation';

function card(options: { candidateId?: string; champion?: boolean; failing?: boolean } = {}): ReportCard {
  const rng = createRng(12);
  const n = 800;
  const labels = new Float64Array(n);
  const candidate = new Float64Array(n);
  const champion = new Float64Array(n);
  const segment = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    labels[i] = rng.next() < 1 / (1 + Math.exp(-2 * z)) ? 1 : 0;
    segment[i] = i % 4;
    champion[i] = 1 / (1 + Math.exp(-(z + 0.9 * rng.normal())));
    candidate[i] = 1 / (1 + Math.exp(-((options.failing ? 0.2 : 1) * z + 0.5 * rng.normal())));
  }
  return judgeCandidate({
    spec: {
      floors: { auc: 0.6 },
      maxRegression: { auc: { absolute: 0.01 } },
      slices: { features: ['segment'], cohorts: [{ name: 'tiny', where: { feature: 'segment', op: '==', value: 9 } }], maxRegression: { auc: { absolute: 0.05 } } },
      behavioural: [{ kind: 'invariance', name: 'segment_invariant', feature: 'segment', change: { setTo: 0 } }],
      budgets: { maxLatencyP99Ms: 10 },
      requireApproval: true,
      bootstrap: { resamples: 200 },
    },
    task: 'binary_classification',
    labels,
    candidate,
    champion: options.champion === false ? undefined : champion,
    sliceColumns: { segment },
    behavioural: [{ name: 'segment_invariant', kind: 'invariance', passed: true, detail: '"segment" set to 0: max |change| 0 <= epsilon 0.01', rowsTested: n, measurements: { maxAbsChange: 0 } }],
    budgets: { modelBytes: 412, latencyMs: { p50: 0.02, p99: 0.05, mean: 0.03, runs: 200, warmupRuns: 20 }, throughput: { rowsPerSecond: 2.5e6, batchSize: 1024, runs: 5 }, runtime: 'onnxruntime-node cpu (linux-x64)' },
    candidateId: options.candidateId ?? 'ctr/v8',
    championId: 'ctr/v7',
    evaluationSet: { name: 'holdout-2026-01', kind: 'static' },
    now: new Date('2026-02-01T12:00:00Z'),
  });
}

describe('report card JSON', () => {
  it('round-trips through JSON and validates against the schema', () => {
    for (const c of [card(), card({ champion: false }), card({ failing: true })]) {
      const json = reportCardToJson(c);
      expect(parseReportCard(json)).toEqual(c);
      expect(JSON.parse(json).schemaVersion).toBe(1);
    }
  });

  it('carries the decision, the spec and the evidence', () => {
    const c = card();
    expect(c.decision).toBe('needs_approval');
    expect(c.slices.map((s) => s.key)).toEqual(['segment=0', 'segment=1', 'segment=2', 'segment=3', 'cohort:tiny']);
    expect(c.calibration!.candidate).toHaveLength(10);
    expect(c.spec.requireApproval).toBe(true);
    expect(c.evaluationSet).toEqual({ name: 'holdout-2026-01', kind: 'static', rows: 800 });
    expect(card({ failing: true }).decision).toBe('fail');
  });
});

describe('report card HTML', () => {
  it('puts the decision at the top and draws inline SVG charts', () => {
    const html = renderReportCardHtml(card());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    const decision = html.indexOf('data-decision="needs_approval"');
    expect(decision).toBeGreaterThan(0);
    expect(decision).toBeLessThan(html.indexOf('<h2>'));
    expect(html).toContain('NEEDS APPROVAL');
    expect(html.match(/<svg /g)).toHaveLength(2); // metrics with intervals, reliability diagram
    expect(html).toContain('aria-label="reliability diagram"');
    expect(html).toContain('Approval required within <b>24h</b>');
    expect(html).toContain('cohort:tiny');
    expect(html).toContain('slice_bound.auc[segment=0]');
    const failing = renderReportCardHtml(card({ failing: true }));
    expect(failing).toContain('data-decision="fail"');
    expect(failing).toMatch(/<li>max_regression\.auc: candidate - champion = -0\.\d+/);
  });

  it('is standalone and escapes every text it shows', () => {
    const html = renderReportCardHtml(card({ candidateId: '<img src=x onerror=alert(1)>' }));
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc="|\shref=|url\(/i);
    // The only URL is the SVG namespace.
    expect(html.match(/https?:\/\/[^"]+/g)!.every((u) => u === 'http://www.w3.org/2000/svg')).toBe(true);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('renders without a champion and for a regression task', () => {
    const html = renderReportCardHtml(card({ champion: false }));
    expect(html).not.toContain('champion [CI]');
    expect(html).not.toContain('candidate − champion');
    const rng = createRng(1);
    const y = Float64Array.from({ length: 200 }, () => rng.normal());
    const regression = judgeCandidate({ spec: {}, task: 'regression', labels: y, candidate: y.map((v) => v + 0.1 * rng.normal()) });
    const page = renderReportCardHtml(regression);
    expect(page).toContain('data-decision="pass"');
    expect(page.match(/<svg /g)).toHaveLength(1);
    expect(parseReportCard(reportCardToJson(regression))).toEqual(regression);
  });
});
