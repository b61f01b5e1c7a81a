// The freshness experiment's HTML report: the metric-vs-staleness curve (reports/svg.ts lineChart),
// the recommendation and a table of every training window. Self-contained, no external assets.
import { escapeHtml, lineChart } from '../../reports/svg';
import type { FreshnessPoint, FreshnessRecommendation, TimeWindow } from './freshness';

export interface FreshnessReportInput {
  experimentId: string;
  modelName: string;
  test: TimeWindow;
  trainWindowDays: number;
  points: FreshnessPoint[];
  recommendation: FreshnessRecommendation;
}

export function freshnessReportHtml(input: FreshnessReportInput): string {
  const { recommendation: r } = input;
  const points = [...input.points].sort((a, b) => a.ageDays - b.ageDays);
  const band = r.freshest === null ? null : r.direction === 'higher_is_better' ? r.freshest - r.tolerance : r.freshest + r.tolerance;
  const chart = lineChart(`${r.metric} on the latest data vs days of staleness`, [
    { name: `${r.metric} (test window)`, color: '#1f77b4', points: points.map((p) => ({ label: `${p.ageDays}d`, value: p.value })) },
    ...(band === null ? [] : [{ name: `tolerance band (${r.tolerance})`, color: '#bbbbbb', points: points.map((p) => ({ label: `${p.ageDays}d`, value: band })) }]),
  ], 720, 260);
  const rows = points
    .map(
      (p) =>
        `<tr><td>${p.ageDays}</td><td>${escapeHtml(p.start)} → ${escapeHtml(p.end)}</td><td>${p.value === null ? '-' : p.value.toFixed(4)}</td><td>${p.rows.train}</td><td>${p.rows.test}</td><td>${p.samplesSeen.toLocaleString('en-US')}</td></tr>`,
    )
    .join('');
  const interval = r.recommendedIntervalDays === null ? 'no interval within tolerance' : `retrain at least every ${r.recommendedIntervalDays} day(s)`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Value of data freshness: ${escapeHtml(input.modelName)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin-top:16px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}td:nth-child(2){text-align:left}.rec{font-size:1.1em;background:#f4f8fb;padding:8px 12px;border-left:4px solid #1f77b4;max-width:900px}</style>
</head><body>
<h1>Value of data freshness: ${escapeHtml(input.modelName)}</h1>
<p>Experiment <code>${escapeHtml(input.experimentId)}</code>. Every model is a full retrain on ${input.trainWindowDays} day(s) of labelled data ending <em>age</em> days before the test window ${escapeHtml(input.test.start)} → ${escapeHtml(input.test.end)}, and is scored on that window.</p>
<p class="rec"><strong>${escapeHtml(interval)}</strong> — ${escapeHtml(r.reason)}${r.slopePerDay === null ? '' : ` (slope ${r.slopePerDay.toExponential(2)} ${escapeHtml(r.metric)} per day of staleness)`}</p>
${chart}
<table><thead><tr><th>age (days)</th><th>training window</th><th>${escapeHtml(r.metric)}</th><th>training rows</th><th>test rows</th><th>samples processed</th></tr></thead><tbody>${rows}</tbody></table>
</body></html>
`;
}
