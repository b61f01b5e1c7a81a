// The per-model monitoring report (reports/<model>/monitoring.html): the stage-4 trigger signals
// and every whole-window signal of the latest window with its value, threshold and whether it
// fired, what fired in slices, and inline SVG charts of value vs threshold over the windows of the
// series (drift share, prediction and label drift, performance, each feature). No external assets.
import type { TriggerSignal } from '../lifecycle/triggers';
import type { SeriesRow } from '../lineage/monitoring';
import { escapeHtml, lineChart, type Series } from '../reports/svg';
import { formatNumber } from './drift-report';
import type { SignalKind } from './signal-row';

export interface MonitoringReportInput {
  modelName: string;
  series: string;
  referenceDescription: string;
  /** The series' stored signals, oldest window first (lineage/monitoring.ts readSeries). */
  rows: readonly SeriesRow[];
  /** The latest window's stage-4 view. */
  triggerSignals: readonly TriggerSignal[];
  notes: readonly string[];
  generatedAt: string;
}

const KIND_TITLES: Record<SignalKind, string> = {
  drift_share: 'Share of drifted features',
  prediction_drift: 'Prediction drift',
  label_drift: 'Label drift',
  performance: 'Performance',
  feature_drift: 'Feature drift',
  projection_drift: 'Projection drift',
};
const CHART_ORDER: SignalKind[] = ['drift_share', 'prediction_drift', 'label_drift', 'performance', 'feature_drift', 'projection_drift'];

function shortTime(date: Date): string {
  return date.toISOString().slice(5, 16).replace('T', ' ');
}

function cell(value: number | null): string {
  return value === null ? '–' : escapeHtml(formatNumber(value));
}

function op(row: Pick<SeriesRow, 'firesWhen'>): string {
  return row.firesWhen === 'below' ? '&lt;' : row.firesWhen === 'at_least' ? '&ge;' : row.firesWhen === 'above' ? '&gt;' : '';
}

function signalTable(rows: readonly SeriesRow[], withSlice: boolean): string {
  if (!rows.length) return '<p><em>none</em></p>';
  const head = `<tr><th>signal</th><th>feature</th>${withSlice ? '<th>slice</th>' : ''}<th>statistic</th><th>value</th><th>fires if</th><th>fired</th><th>n ref</th><th>n cur</th><th>note</th></tr>`;
  const body = rows
    .map((r) => {
      const note = typeof r.detail.note === 'string' ? r.detail.note : typeof r.detail.reason === 'string' ? r.detail.reason : '';
      return `<tr class="${r.fired ? 'fired' : ''}"><td>${escapeHtml(r.kind)}</td><td>${escapeHtml(r.feature)}</td>${withSlice ? `<td>${escapeHtml(r.slice)}</td>` : ''}<td>${escapeHtml(r.statistic)}</td><td class="num">${cell(r.value)}</td><td>${r.threshold === null ? '' : `${op(r)} ${cell(r.threshold)}`}</td><td>${r.fired ? '<strong>YES</strong>' : 'no'}</td><td class="num">${r.nRef}</td><td class="num">${r.nCur}</td><td>${escapeHtml(note)}</td></tr>`;
    })
    .join('');
  return `<table>${head}${body}</table>`;
}

/** One chart per whole-window signal (kind, feature, statistic): its value and threshold per window. */
function charts(rows: readonly SeriesRow[], windows: Date[]): string {
  // About eight time labels per axis, always the last window's; a stride label too close to it is dropped.
  const stride = Math.max(1, Math.ceil(windows.length / 8));
  const last = windows.length - 1;
  const labels = windows.map((w, i) => (i === last || (i % stride === 0 && last - i >= stride / 2) ? shortTime(w) : ''));
  const index = new Map(windows.map((w, i) => [w.getTime(), i]));
  const groups = new Map<string, SeriesRow[]>();
  for (const row of rows) {
    if (row.slice !== '') continue;
    const key = `${row.kind}|${row.feature}|${row.statistic}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const sections: string[] = [];
  for (const kind of CHART_ORDER) {
    const keys = [...groups.keys()].filter((k) => k.startsWith(`${kind}|`)).sort();
    if (!keys.length) continue;
    const svgs = keys.map((key) => {
      const group = groups.get(key)!;
      const value: (number | null)[] = windows.map(() => null);
      const threshold: (number | null)[] = windows.map(() => null);
      let firedCount = 0;
      for (const r of group) {
        const i = index.get(r.windowEnd.getTime())!;
        value[i] = r.value !== null && Number.isFinite(r.value) ? r.value : null;
        threshold[i] = r.threshold;
        if (r.fired) firedCount++;
      }
      const [, feature, statistic] = key.split('|');
      const series: Series[] = [{ name: statistic, color: '#1f77b4', points: labels.map((label, i) => ({ label, value: value[i] })) }];
      if (threshold.some((t) => t !== null)) series.push({ name: 'threshold', color: '#d62728', points: labels.map((label, i) => ({ label, value: threshold[i] })) });
      const title = `${feature || KIND_TITLES[kind]} — ${statistic}: fired in ${firedCount} of ${group.length} windows`;
      return `<figure><figcaption>${escapeHtml(title)}</figcaption>${lineChart(title, series)}</figure>`;
    });
    sections.push(`<h3>${escapeHtml(KIND_TITLES[kind])}</h3>${svgs.join('')}`);
  }
  return sections.join('');
}

export function renderMonitoringReport(input: MonitoringReportInput): string {
  const windows = [...new Map(input.rows.map((r) => [r.windowEnd.getTime(), r.windowEnd])).values()].sort((a, b) => a.getTime() - b.getTime());
  const latest = windows.at(-1);
  const latestRows = latest ? input.rows.filter((r) => r.windowEnd.getTime() === latest.getTime()) : [];
  const overall = latestRows.filter((r) => r.slice === '');
  const sliceFired = latestRows.filter((r) => r.slice !== '' && r.fired);
  const sliceCount = new Set(latestRows.filter((r) => r.slice !== '').map((r) => r.slice)).size;
  const triggers = input.triggerSignals
    .map((s) => `<tr class="${s.fired ? 'fired' : ''}"><td>${escapeHtml(s.kind)}</td><td class="num">${cell(s.value)}</td><td class="num">${cell(s.threshold)}</td><td>${s.fired ? '<strong>YES</strong>' : 'no'}</td><td>${escapeHtml(s.detail)}</td></tr>`)
    .join('');
  const first = windows[0];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(input.modelName)} — monitoring</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #ddd;padding:3px 8px;font-size:13px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.fired td{background:#fdecea}
figure{display:inline-block;margin:6px 12px 12px 0}figcaption{font-size:12px;color:#555}
.meta{color:#555;font-size:13px}
</style></head><body>
<h1>Monitoring: ${escapeHtml(input.modelName)}</h1>
<p class="meta">series <code>${escapeHtml(input.series)}</code><br>reference: ${escapeHtml(input.referenceDescription)}<br>
${windows.length} window${windows.length === 1 ? '' : 's'}${first && latest ? ` ending ${escapeHtml(first.toISOString())} … ${escapeHtml(latest.toISOString())}` : ''}; generated ${escapeHtml(input.generatedAt)}</p>
<h2>Stage-4 trigger signals (latest window)</h2>
<table><tr><th>trigger</th><th>value</th><th>threshold</th><th>fired</th><th>detail</th></tr>${triggers}</table>
<h2>Latest window${latest ? ` (ending ${escapeHtml(latest.toISOString())})` : ''}</h2>
${signalTable(overall, false)}
<h2>Slices: fired in the latest window (${sliceFired.length} signals over ${sliceCount} slices)</h2>
${signalTable(sliceFired, true)}
${input.notes.length ? `<h2>Notes</h2><ul>${input.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : ''}
<h2>Over time: value vs threshold per window</h2>
${charts(input.rows, windows)}
</body></html>
`;
}
