// The backtest's HTML page: an inline SVG line chart of each strategy's daily prequential metric
// with the drift onsets drawn as dashed vertical lines, and the summary table. No external assets.
// reports/svg.ts lineChart spaces its points as labels and has no vertical markers, so this chart
// draws its own day axis and onset lines; it reuses that module's HTML escaping.
import { escapeHtml } from '../../reports/svg';
import type { BacktestResult } from './engine';
import { formatRecovery, summaryRows } from './report';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

export function strategyColor(index: number): string {
  return COLORS[index % COLORS.length];
}

/** Daily metric per strategy over days; onsets as dashed lines labelled "drift". */
export function prequentialChart(result: BacktestResult, width = 900, height = 340): string {
  const series = result.strategies.map((s, k) => ({ name: s.name, color: strategyColor(k), points: s.prequential.daily }));
  const days = series[0]?.points.map((p) => p.day) ?? [];
  const values = series.flatMap((s) => s.points.map((p) => p.value)).filter((v): v is number => v !== null && Number.isFinite(v));
  const title = `daily prequential ${result.settings.metric}`;
  if (!days.length || !values.length) return `<p><em>${escapeHtml(title)}: no scored days</em></p>`;
  // As many legend entries per row as the longest name allows (about 6.5 px per character at 11 px).
  const entryWidth = Math.max(...series.map((s) => s.name.length)) * 6.5 + 24;
  const perRow = Math.max(1, Math.floor((width - 52) / entryWidth));
  const legendRows = Math.ceil(series.length / perRow);
  const pad = { left: 52, right: 16, top: 16 + 16 * legendRows, bottom: 40 };
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi - lo < 1e-9) {
    lo -= 0.05;
    hi += 0.05;
  }
  const first = days[0];
  const last = days[days.length - 1];
  const x = (day: number) => pad.left + (last === first ? (width - pad.left - pad.right) / 2 : ((day - first) * (width - pad.left - pad.right)) / (last - first));
  const y = (v: number) => pad.top + ((hi - v) * (height - pad.top - pad.bottom)) / (hi - lo);
  const parts: string[] = [`<rect width="100%" height="100%" fill="#fff"/>`];
  // Horizontal grid with tick labels.
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    parts.push(`<line x1="${pad.left}" y1="${y(v).toFixed(1)}" x2="${width - pad.right}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${pad.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="10">${v.toFixed(3)}</text>`);
  }
  const tickEvery = Math.max(1, Math.ceil((last - first) / 15));
  for (let d = first; d <= last; d += tickEvery) parts.push(`<text x="${x(d).toFixed(1)}" y="${height - pad.bottom + 14}" text-anchor="middle" font-size="10">${d}</text>`);
  parts.push(`<text x="${(pad.left + width - pad.right) / 2}" y="${height - 6}" text-anchor="middle" font-size="11">day</text>`);
  parts.push(`<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#999"/>`);
  parts.push(`<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#999"/>`);
  for (const onset of result.settings.onsets) {
    if (onset < first || onset > last) continue;
    const ox = x(onset).toFixed(1);
    parts.push(`<line x1="${ox}" y1="${pad.top}" x2="${ox}" y2="${height - pad.bottom}" stroke="#444" stroke-dasharray="4 3"><title>drift onset, day ${onset}</title></line>`);
    parts.push(`<text x="${ox}" y="${pad.top - 3}" text-anchor="middle" font-size="10" fill="#444">drift</text>`);
  }
  for (const s of series) {
    // A gap (a day without a value) breaks the line instead of bridging it.
    const segments: string[][] = [[]];
    for (const p of s.points) {
      if (p.value === null) segments.push([]);
      else segments[segments.length - 1].push(`${x(p.day).toFixed(1)},${y(p.value).toFixed(1)}`);
    }
    for (const seg of segments.filter((g) => g.length)) parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.8" points="${seg.join(' ')}"/>`);
    for (const p of s.points) {
      if (p.value !== null) parts.push(`<circle cx="${x(p.day).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="2" fill="${s.color}"><title>${escapeHtml(`${s.name}, day ${p.day} (${p.date}): ${p.value.toFixed(4)} on ${p.rows} rows`)}</title></circle>`);
    }
  }
  series.forEach((s, k) => {
    const lx = pad.left + (k % perRow) * entryWidth;
    const ly = 14 + 16 * Math.floor(k / perRow);
    parts.push(`<text x="${lx}" y="${ly}" font-size="11" fill="${s.color}">■ ${escapeHtml(s.name)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">${parts.join('')}</svg>`;
}

/** A self-contained HTML page: heading, chart, summary table and the retrain counts per kind. */
export function backtestHtml(result: BacktestResult, title: string, description?: string): string {
  const rows = summaryRows(result);
  const onsets = result.settings.onsets;
  const head = ['strategy', `prequential ${result.settings.metric}`, 'retrains (full + stateful)', 'failed', 'samples processed', 'CPU s', ...(onsets.length ? [`days to recover (onsets ${onsets.join(', ')})`] : [])];
  const table = `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map(
      (r, k) =>
        `<tr><td style="color:${strategyColor(k)}">${escapeHtml(r.strategy)}</td><td>${r.metric === null ? '-' : r.metric.toFixed(4)}</td><td>${r.retrains} (${r.stateless} + ${r.stateful})</td><td>${r.failed}</td><td>${r.samples.toLocaleString('en-US')}</td><td>${r.cpuSeconds.toFixed(2)}</td>${
          onsets.length ? `<td>${r.recover.map(formatRecovery).join(', ')}</td>` : ''
        }</tr>`,
    )
    .join('')}</tbody></table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin-top:16px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}p.note{color:#555;max-width:900px}</style>
</head><body>
<h1>${escapeHtml(title)}</h1>
${description ? `<p>${escapeHtml(description)}</p>` : ''}
<p class="note">${result.days} days from ${result.startDate}, ${result.rows.toLocaleString('en-US')} rows. Test-then-train: each row is scored by the version serving at its event time, then becomes available for training. Warm-up ${result.settings.warmupDays} days (one shared initial model). Dashed lines: drift onsets. Recovery: daily ${escapeHtml(result.settings.metric)} back within ${result.settings.recoveryEpsilon} of the mean of the ${result.settings.baselineDays} days before the onset.</p>
${prequentialChart(result)}
${table}
</body></html>
`;
}
