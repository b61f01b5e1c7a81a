// The monitoring report: trigger signals and the latest window's table with fired rows marked,
// fired slice signals, one inline SVG chart of value vs threshold per whole-window signal, and
// escaped text throughout.
import { describe, expect, it } from 'vitest';
import type { SeriesRow } from '../../lineage/monitoring';
import { renderMonitoringReport } from '../../monitoring/report-html';

function row(day: number, extra: Partial<SeriesRow>): SeriesRow {
  return {
    windowStart: new Date(Date.UTC(2026, 2, day)),
    windowEnd: new Date(Date.UTC(2026, 2, day + 1)),
    kind: 'feature_drift',
    feature: 'age',
    slice: '',
    statistic: 'wasserstein',
    value: 0.05,
    threshold: 0.1,
    firesWhen: 'above',
    fired: false,
    nRef: 1000,
    nCur: 500,
    detail: {},
    ...extra,
  };
}

describe('renderMonitoringReport', () => {
  const rows: SeriesRow[] = [];
  for (let day = 1; day <= 12; day++) {
    const drifted = day >= 10;
    rows.push(row(day, { value: drifted ? 0.4 : 0.03, fired: drifted }));
    rows.push(row(day, { kind: 'performance', feature: '', statistic: 'auc', value: 0.8, threshold: 0.75, firesWhen: 'below' }));
    rows.push(row(day, { kind: 'performance', feature: '', statistic: 'accuracy', value: 0.9, threshold: null, firesWhen: null }));
    rows.push(row(day, { slice: 'device=<tablet>', value: drifted ? 0.5 : 0.02, fired: drifted, detail: { note: 'x < y' } }));
  }
  const html = renderMonitoringReport({
    modelName: 'ctr',
    series: 'ref=training;window=rows:2000',
    referenceDescription: 'ctr@v1 training snapshot',
    rows,
    triggerSignals: [{ kind: 'drift', fired: true, value: 0.2, threshold: 0.2, detail: '1 of 5 features drifted: age' }],
    notes: ['a <note>'],
    generatedAt: '2026-03-13T00:00:00.000Z',
  });

  it('the latest window, trigger signals and fired slices', () => {
    expect(html).toContain('<h1>Monitoring: ctr</h1>');
    expect(html).toContain('12 windows ending 2026-03-02T00:00:00.000Z … 2026-03-13T00:00:00.000Z');
    expect(html).toMatch(/<tr class="fired"><td>drift<\/td><td class="num">0\.2<\/td><td class="num">0\.2<\/td><td><strong>YES<\/strong><\/td>/);
    expect(html).toMatch(/<tr class="fired"><td>feature_drift<\/td><td>age<\/td><td>wasserstein<\/td><td class="num">0\.4<\/td><td>&gt; 0\.1<\/td>/);
    expect(html).toContain('Slices: fired in the latest window (1 signals over 1 slices)');
    expect(html).toContain('device=&lt;tablet&gt;');
    expect(html).toContain('<li>a &lt;note&gt;</li>');
    expect(html).not.toContain('<tablet>');
  });

  it('one chart per whole-window signal, with a threshold line where there is one', () => {
    const charts = html.match(/<figure>/g) ?? [];
    expect(charts).toHaveLength(3);
    expect(html).toContain('age — wasserstein: fired in 3 of 12 windows');
    expect(html).toContain('Performance — auc: fired in 0 of 12 windows');
    const accuracy = html.slice(html.indexOf('Performance — accuracy'));
    expect(accuracy.slice(0, accuracy.indexOf('</figure>'))).not.toContain('threshold');
    expect((html.match(/<svg /g) ?? []).length).toBe(3);
  });
});
