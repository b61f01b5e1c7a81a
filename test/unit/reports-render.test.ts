// The run report and model page as HTML with inline SVG: drift statistics from stored profiles
// checked against numpy/scipy on the same values, chart geometry checked against hand-computed
// coordinates, every section present, and every piece of user text escaped.
import { describe, expect, it } from 'vitest';
import { ProfileBuilder } from '../../datasets/profile';
import type { AncestryNode, ModelHistoryEntry } from '../../lineage/ancestry';
import type { DatasetRow, EvaluationRow, ModelVersionRow, PipelineRunRow } from '../../lineage/schema';
import { compareProfiles, type RunDrift } from '../../reports/drift';
import { driftSection, renderModelPage, renderRunReport } from '../../reports/pages';
import { barChart, intervalChart, lineChart } from '../../reports/svg';

const layout = { numeric: ['age'], categorical: ['country'] };
const referenceColumns = {
  numeric: { age: Array.from({ length: 10 }, (_, i) => i + 1) },
  categorical: { country: ['a', 'a', 'a', 'a', 'a', 'b', 'b', 'b', 'c', 'c'] },
  labels: [0, 1, 0, 0, 1, 0, 0, 0, 1, 0],
};
const currentColumns = {
  numeric: { age: Array.from({ length: 12 }, (_, i) => i + 3) },
  categorical: { country: ['a', 'a', 'b', 'b', 'b', 'c', 'c', 'c', 'c', 'd', 'c', 'b'] },
  labels: [1, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1],
};

function profiles() {
  const reference = new ProfileBuilder(layout).add(referenceColumns).finish();
  // The validation gate gives the current window's builder the reference's range, as here.
  const current = new ProfileBuilder(layout, { ranges: { age: [1, 10] } }).add(currentColumns).finish();
  return { reference, current };
}

describe('compareProfiles (drift from stored feature profiles)', () => {
  it('matches numpy and scipy on the same values', () => {
    const { reference, current } = profiles();
    const drift = compareProfiles(reference, current);
    const [age] = drift.numeric;
    // numpy: r = arange(1, 11); c = arange(3, 15); (c.mean() - r.mean()) / r.std(ddof=1) = 0.9908673886137245
    expect(age.standardizedShift).toBeCloseTo(0.9908673886137245, 12);
    // np.median: 5.5 and 8.5; values of c outside [1, 10]: 11, 12, 13, 14.
    expect(age).toMatchObject({ feature: 'age', referenceMean: 5.5, currentMean: 8.5, referenceMedian: 5.5, currentMedian: 8.5, outsideRange: 4, referenceNullRate: 0, currentNullRate: 0 });
    const [country] = drift.categorical;
    // Shares a, b, c, d: reference 5/10, 3/10, 2/10, 0; window 2/12, 4/12, 5/12, 1/12.
    // scipy.spatial.distance.jensenshannon([5, 3, 2, 0] / 10, [2, 4, 5, 1] / 12, base=2) = 0.36504590646517965
    expect(country.jsDistance).toBeCloseTo(0.36504590646517965, 12);
    expect(country).toMatchObject({ feature: 'country', unseen: ['d'], topCategory: 'a', referenceTopShare: 0.5, truncated: false });
    expect(country.currentTopShare).toBeCloseTo(2 / 12, 15);
    expect(drift.label).toEqual({ referenceRate: 0.3, currentRate: 0.5 });
    expect(drift).toMatchObject({ referenceRows: 10, currentRows: 12 });
  });

  it('identical windows have no drift, and a constant reference has no defined shift', () => {
    const { reference } = profiles();
    const same = compareProfiles(reference, reference);
    expect(same.numeric[0].standardizedShift).toBe(0);
    expect(same.categorical[0].jsDistance).toBe(0);
    const constant = new ProfileBuilder(layout).add({ ...referenceColumns, numeric: { age: Array(10).fill(4) } }).finish();
    expect(compareProfiles(constant, reference).numeric[0].standardizedShift).toBeNull();
  });
});

describe('inline SVG charts', () => {
  it('intervalChart draws candidate and champion with their intervals on the row\'s own axis', () => {
    const svg = intervalChart('auc <on backtest>', [{ label: 'auc', candidate: { estimate: 0.85, lower: 0.8, upper: 0.9 }, champion: { estimate: 0.82, lower: 0.78, upper: 0.86 } }]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('aria-label="auc &lt;on backtest&gt;"');
    // Axis [0.78, 0.90] padded by 10% of 0.12 each side: [0.768, 0.912]; plot from x=110, 460 wide.
    // 0.85 → 110 + (0.85 - 0.768) / 0.144 * 460 = 371.94; 0.80 → 212.2; 0.90 → 531.7; 0.82 → 276.1.
    expect(svg).toContain('<circle cx="371.9" cy="38" r="4" fill="#1f6fb2"><title>candidate auc: 0.8500 [0.8000, 0.9000]</title></circle>');
    expect(svg).toContain('<line x1="212.2" y1="38" x2="531.7" y2="38" stroke="#1f6fb2"');
    expect(svg).toContain('<circle cx="276.1" cy="48" r="4" fill="#d9822b"><title>champion auc: 0.8200 [0.7800, 0.8600]</title></circle>');
    expect(intervalChart('x', [{ label: 'auc', candidate: null, champion: null }])).toBe('<p><em>x: no data yet</em></p>');
  });

  it('barChart scales bars by absolute value, marks flagged ones and keeps undefined rows', () => {
    const svg = barChart('drift', [{ label: 'a<b', value: 0.5 }, { label: 'c', value: -1, flagged: true }, { label: 'd', value: null }], { threshold: 0.25 });
    // Plot width 640 - 130 - 60 = 450; the largest |value| is 1.
    expect(svg).toContain('<rect x="130" y="25" width="225.0" height="14" fill="#1f6fb2">');
    expect(svg).toContain('<rect x="130" y="45" width="450.0" height="14" fill="#b3261e">');
    expect(svg).toContain('>a&lt;b</text>');
    expect(svg).toContain('fill="#888">n/a</text>');
    // The threshold line at 0.25 → x = 130 + 0.25 * 450.
    expect(svg).toContain('<line x1="242.5"');
  });

  it('lineChart puts one point per label and says when there is nothing to draw', () => {
    const svg = lineChart('auc', [{ name: 'auc', color: '#000', points: [{ label: 'v1', value: 0.8 }, { label: 'v2', value: 0.9 }, { label: 'v3', value: null }] }]);
    expect(svg.match(/<circle /g)).toHaveLength(2);
    expect(svg).toMatch(/<polyline [^>]*points="48\.0,184\.0 338\.0,24\.0"/);
    expect(lineChart('auc', [])).toBe('<p><em>auc: no data yet</em></p>');
  });
});

const at = new Date('2026-01-31T00:00:00Z');
const run: PipelineRunRow = {
  id: 'retrain/ctr/<key>',
  run_id: '01a2-run',
  model_name: 'ctr',
  trigger: 'drift',
  stage: 4,
  status: 'succeeded',
  current_step: 'done',
  candidate_version_id: 'ctr@v2',
  error: null,
  timings: { train: 1426.2, pull: 199, validate: 12 },
  started_at: at,
  finished_at: new Date(at.getTime() + 3_000),
};
const version = (id: string, n: number, metrics: Record<string, number>, parent: string | null, status: ModelVersionRow['status']) =>
  ({ id, model_name: 'ctr', version: `v${n}`, parent_version_id: parent, training_mode: 'stateful', iteration_kind: 'data', status, metrics, samples_seen: 1000 * n, created_at: new Date(at.getTime() + n * 86_400_000), training_reason: 'warm start' }) as ModelVersionRow;
const v1 = version('ctr@v1', 1, { auc: 0.81, log_loss: 0.47 }, null, 'retired');
const v2 = version('ctr@v2', 2, { auc: 0.86, log_loss: 0.44 }, 'ctr@v1', 'champion');
const dataset = { id: 'ds-ctr-abc', row_count: 1350, manifest: { window: { start: '2026-01-01T00:00:00Z', end: '2026-01-31T00:00:00Z' }, trainRows: 1080, validationRows: 270, positives: 400, highWaterMark: '2026-01-30T23:00:00Z' } } as unknown as DatasetRow;
const evaluation = { decision: 'pass', reasons: ['all 2 checks passed: floor.auc, max_regression.auc'], report_json_uri: 'file:///r/report-card.json' } as unknown as EvaluationRow;
const chain: AncestryNode[] = [
  { version: v2, dataset, evaluation },
  { version: v1, dataset: null, evaluation: null },
];

describe('renderRunReport', () => {
  const { reference, current } = profiles();
  const drift: RunDrift = {
    validationReportUri: 'file:///v/report.json',
    referenceUri: 'file:///d/data.arrow',
    note: null,
    profiles: compareProfiles(reference, current),
    monitoring: {
      series: 'champion-training',
      windowStart: '2026-01-29T00:00:00.000Z',
      windowEnd: '2026-01-30T00:00:00.000Z',
      signals: [
        { kind: 'drift_share', feature: '', statistic: 'share', value: 0.5, threshold: 0.3, firesWhen: 'at_least', fired: true, nRef: 1080, nCur: 400 },
        { kind: 'feature_drift', feature: 'age', statistic: 'wasserstein_normed', value: 0.42, threshold: 0.1, firesWhen: 'above', fired: true, nRef: 1080, nCur: 400 },
        { kind: 'feature_drift', feature: 'country', statistic: 'jensenshannon', value: 0.05, threshold: 0.1, firesWhen: 'above', fired: false, nRef: 1080, nCur: 400 },
      ],
    },
  };
  const html = renderRunReport({
    run,
    chain,
    reportCardUri: 'file:///r/report-card.html',
    modelPageUri: 'file:///r/index.html',
    temporalUiUrl: 'http://127.0.0.1:8233/namespaces/default/workflows/retrain%2Fctr%2F%3Ckey%3E/01a2-run/history',
    comparisons: [{ set: 'the backtest window (270 rows)', rows: [{ label: 'auc', candidate: { estimate: 0.86, lower: 0.83, upper: 0.89 }, champion: { estimate: 0.81, lower: 0.78, upper: 0.84 } }] }],
    drift,
  });

  it('has the report card, data, drift, lineage and step sections, with inline SVG charts', () => {
    expect(html).toMatch(/^<!doctype html>/);
    for (const heading of ['Report card: <span class="pass">pass</span>', '<h2>Data</h2>', '<h2>Drift</h2>', 'Training window vs reference', 'Production window 2026-01-29T00:00:00.000Z → 2026-01-30T00:00:00.000Z', '<h2>Lineage</h2>', '<h2>Steps</h2>']) {
      expect(html).toContain(heading);
    }
    // Interval chart, two drift bar charts (numeric, categorical), the production bars, the lineage graph.
    expect(html.match(/<svg /g)).toHaveLength(5);
    expect(html).toContain('aria-label="candidate vs champion on the backtest window (270 rows)"');
    expect(html).toContain('aria-label="lineage graph"');
  });

  it('shows the stored drift numbers and links the validation report, reference and Temporal UI run', () => {
    // Shift of the current ages (3..14 against 1..10): (8.5 - 5.5) / 3.0277 = 0.9909; 4 values above 10.
    expect(html).toContain('<td>age</td><td>5.5000</td><td>8.5000</td><td>0.9909</td><td>5.5000</td><td>8.5000</td><td>0.0% → 0.0%</td><td>4</td>');
    expect(html).toContain('Label rate 30.0% → 50.0%');
    expect(html).toContain('<a href="file:///v/report.json">');
    expect(html).toContain('<a href="file:///d/data.arrow">');
    expect(html).toContain('<td>drift_share</td><td>(all)</td><td>share</td><td>0.5000</td><td>at_least 0.3</td><td><span class="fail">yes</span></td><td>1080 / 400</td>');
    expect(html).toContain('<a href="http://127.0.0.1:8233/namespaces/default/workflows/retrain%2Fctr%2F%3Ckey%3E/01a2-run/history">Open in the Temporal UI</a>');
    // Steps in DAG order, validate between pull and train.
    expect(html.indexOf('<td>pull</td>')).toBeLessThan(html.indexOf('<td>validate</td>'));
    expect(html.indexOf('<td>validate</td>')).toBeLessThan(html.indexOf('<td>train</td>'));
  });

  it('escapes every piece of run text', () => {
    expect(html).toContain('<code>retrain/ctr/&lt;key&gt;</code>');
    expect(html).not.toContain('<key>');
    const hostile = renderRunReport({ run: { ...run, error: '<img src=x onerror=alert(1)>', status: 'failed' }, chain: [], reportCardUri: null, modelPageUri: '"><script>', drift: null });
    expect(hostile).not.toMatch(/<img|<script/);
    expect(hostile).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('says why there is no profile comparison or production window', () => {
    const section = driftSection({ validationReportUri: null, referenceUri: null, note: "no reference snapshot yet (no champion): this is the model's first training window", profiles: null, monitoring: null });
    expect(section).toContain('no reference snapshot yet (no champion): this is the model&#39;s first training window');
    expect(section).toContain('no monitoring window was recorded');
    expect(section).not.toContain('<svg');
  });
});

describe('renderModelPage', () => {
  it('charts each metric over the versions and lists them', () => {
    const history: ModelHistoryEntry[] = [
      { version: v1, evaluation: null, trigger: 'manual' },
      { version: v2, evaluation, trigger: 'drift' },
    ];
    const html = renderModelPage('ctr', history, chain);
    expect(html).toContain('<h2>Metrics over versions</h2>');
    expect(html).toContain('aria-label="ctr: auc by version"');
    expect(html).toContain('aria-label="ctr: log_loss by version"');
    expect(html).toContain('<title>auc v2: 0.8600</title>');
    expect(html).toContain('<title>log_loss v1: 0.4700</title>');
    // Two metric charts and the lineage graph.
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html).toContain('2 versions (v1, v2)');
  });
});
