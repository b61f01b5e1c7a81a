// Renders a report card as one standalone HTML page (inline CSS and SVG, no external assets, so it
// can be stored as an artifact and opened anywhere): the sign-off decision first, then the evidence.
import type { CalibrationBin, MetricName } from '../ml/metrics';
import type { ConfidenceInterval } from './bootstrap';
import type { MetricRow, ReportCard } from './report-card';

const COLORS = { candidate: '#1f6feb', champion: '#8b949e', pass: '#1a7f37', fail: '#cf222e', needs_approval: '#9a6700', skipped: '#6e7781' };

export function renderReportCardHtml(card: ReportCard): string {
  const title = `Report card: ${card.candidateId ?? 'candidate'}${card.hasChampion ? ` vs ${card.championId ?? 'champion'}` : ''}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:980px;color:#1f2328;padding:0 16px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.decision{display:inline-block;color:#fff;font-weight:700;font-size:18px;padding:6px 14px;border-radius:6px;letter-spacing:.04em}
.meta{color:#57606a;margin:6px 0 12px}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa;font-weight:600}td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.status{font-weight:600}.pass{color:${COLORS.pass}}.fail{color:${COLORS.fail}}.skipped{color:${COLORS.skipped}}
ul{margin:6px 0;padding-left:20px}code{font-size:12px}
.legend span{display:inline-block;width:10px;height:10px;border-radius:50%;margin:0 4px 0 12px}
</style>
</head>
<body>
<header>
<div class="decision" style="background:${COLORS[card.decision]}" data-decision="${card.decision}">${esc(card.decision.replace('_', ' ').toUpperCase())}</div>
<h1>${esc(title)}</h1>
<div class="meta">${esc(card.task)} · evaluated on ${esc(card.evaluationSet.name)} (${esc(card.evaluationSet.kind)}, ${card.evaluationSet.rows} rows) · primary metric ${esc(card.primaryMetric.name)} (${esc(card.primaryMetric.direction.replace(/_/g, ' '))}) · ${esc(card.generatedAt)}</div>
<h2>Reasons</h2>
${list(card.reasons)}
${card.approval.required ? `<p>Approval required within <b>${esc(card.approval.timeout)}</b>; on timeout: <b>${esc(card.approval.onTimeout)}</b>.</p>` : ''}
</header>
<h2>Metrics</h2>
<p class="legend"><span style="background:${COLORS.candidate}"></span>candidate${card.hasChampion ? `<span style="background:${COLORS.champion}"></span>champion` : ''} · bars: ${pct(card.bootstrap.confidence)} ${card.bootstrap.paired ? 'paired ' : ''}percentile bootstrap (${card.bootstrap.resamples} resamples, seed ${card.bootstrap.seed})</p>
${metricChart(card.metrics)}
${metricTable(card)}
<h2>Checks</h2>
${checkTable(card)}
${sliceSection(card)}
${calibrationSection(card)}
${behaviouralSection(card)}
${budgetSection(card)}
<h2>Notes</h2>
${card.notes.length > 0 ? list(card.notes) : '<p>None.</p>'}
</body>
</html>
`;
}

/** One row per metric, each on its own scale: candidate and champion point estimates with interval bars. */
function metricChart(rows: readonly MetricRow[]): string {
  const width = 760;
  const labelWidth = 110;
  const valueWidth = 150;
  const plotWidth = width - labelWidth - valueWidth - 20;
  const rowHeight = 34;
  const height = rows.length * rowHeight + 10;
  const parts: string[] = [];
  rows.forEach((row, r) => {
    const y = 10 + r * rowHeight;
    const intervals = [row.candidate, row.champion].filter((ci): ci is ConfidenceInterval => ci !== null);
    const values = intervals.flatMap((ci) => [ci.lower, ci.upper, ci.estimate]).filter((v): v is number => v !== null);
    parts.push(`<text x="0" y="${y + 15}" font-size="13">${esc(row.name)}</text>`);
    if (values.length === 0) {
      parts.push(`<text x="${labelWidth}" y="${y + 15}" font-size="12" fill="#57606a">undefined on these rows</text>`);
      return;
    }
    let lo = Math.min(...values);
    let hi = Math.max(...values);
    const pad = (hi - lo) * 0.15 || Math.max(Math.abs(hi) * 0.05, 1e-3);
    lo -= pad;
    hi += pad;
    const x = (v: number): number => labelWidth + ((v - lo) / (hi - lo)) * plotWidth;
    parts.push(`<line x1="${labelWidth}" x2="${labelWidth + plotWidth}" y1="${y + 26}" y2="${y + 26}" stroke="#d0d7de"/>`);
    parts.push(`<text x="${labelWidth}" y="${y + 33}" font-size="9" fill="#6e7781">${esc(short(lo))}</text>`);
    parts.push(`<text x="${labelWidth + plotWidth}" y="${y + 33}" font-size="9" fill="#6e7781" text-anchor="end">${esc(short(hi))}</text>`);
    const bar = (ci: ConfidenceInterval, offset: number, color: string): void => {
      if (ci.lower !== null && ci.upper !== null) {
        parts.push(`<line x1="${x(ci.lower).toFixed(1)}" x2="${x(ci.upper).toFixed(1)}" y1="${y + offset}" y2="${y + offset}" stroke="${color}" stroke-width="3" stroke-linecap="round"/>`);
      }
      if (ci.estimate !== null) parts.push(`<circle cx="${x(ci.estimate).toFixed(1)}" cy="${y + offset}" r="4.5" fill="${color}"/>`);
    };
    bar(row.candidate, row.champion ? 8 : 14, COLORS.candidate);
    if (row.champion) bar(row.champion, 19, COLORS.champion);
    const text = row.champion ? `${short(row.candidate.estimate)} vs ${short(row.champion.estimate)}` : short(row.candidate.estimate);
    parts.push(`<text x="${width - valueWidth}" y="${y + 15}" font-size="12">${esc(text)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="metrics with confidence intervals">${parts.join('')}</svg>`;
}

function metricTable(card: ReportCard): string {
  const head = `<tr><th>metric</th><th>direction</th><th>candidate [CI]</th>${card.hasChampion ? '<th>champion [CI]</th><th>candidate − champion [CI]</th>' : ''}</tr>`;
  const body = card.metrics
    .map(
      (m) =>
        `<tr><td>${esc(m.name)}${m.name === card.primaryMetric.name ? ' <b>(primary)</b>' : ''}</td><td>${esc(m.direction.replace(/_/g, ' '))}</td><td class="num">${ci(m.candidate)}</td>` +
        (card.hasChampion ? `<td class="num">${m.champion ? ci(m.champion) : ''}</td><td class="num">${m.difference ? ci(m.difference, true) : ''}</td>` : '') +
        '</tr>',
    )
    .join('');
  return `<table>${head}${body}</table>`;
}

function checkTable(card: ReportCard): string {
  if (card.checks.length === 0) return '<p>No checks were judged.</p>';
  const body = card.checks
    .map((c) => `<tr><td class="status ${c.status}">${c.status}</td><td><code>${esc(c.rule)}</code></td><td>${esc(c.detail)}</td></tr>`)
    .join('');
  return `<table><tr><th>status</th><th>rule</th><th>detail</th></tr>${body}</table>`;
}

function sliceSection(card: ReportCard): string {
  if (card.slices.length === 0) return '';
  // The primary metric, the metrics with slice bounds, then others, three columns at most.
  const candidates = [card.primaryMetric.name, ...Object.keys(card.spec.slices.maxRegression), ...card.metrics.map((m) => m.name)] as MetricName[];
  const metrics = [...new Set(candidates)].slice(0, 3);
  const binary = card.task === 'binary_classification';
  const head =
    `<tr><th>slice</th><th>rows</th>${binary ? '<th>positives</th>' : ''}<th>gated</th>` +
    metrics.map((m) => `<th>${esc(m)}${card.hasChampion ? ' cand / champ' : ''}</th>`).join('') +
    `${card.hasChampion ? '<th>candidate − champion [CI]</th>' : ''}<th>note</th></tr>`;
  const body = card.slices
    .map((s) => {
      const cells = metrics.map((m) => `<td class="num">${short(s.candidate[m] ?? null)}${card.hasChampion ? ` / ${short(s.champion?.[m] ?? null)}` : ''}</td>`).join('');
      const diffs = Object.entries(s.differences ?? {})
        .map(([m, d]) => `${esc(m)} ${d ? ci(d, true) : ''}`)
        .join('<br>');
      return (
        `<tr><td>${esc(s.key)}</td><td class="num">${s.rows}</td>${binary ? `<td class="num">${s.positives ?? ''}</td>` : ''}<td>${s.gated ? 'yes' : 'no'}</td>${cells}` +
        `${card.hasChampion ? `<td class="num">${diffs}</td>` : ''}<td>${esc(s.note ?? '')}</td></tr>`
      );
    })
    .join('');
  return `<h2>Slices</h2><table>${head}${body}</table>`;
}

/** Reliability diagram: mean predicted probability vs observed share of positives per bin; the diagonal is perfect calibration. */
function calibrationSection(card: ReportCard): string {
  const cal = card.calibration;
  if (!cal) return '';
  const size = 300;
  const m = 36;
  const s = (v: number): number => m + v * (size - 2 * m);
  const yv = (v: number): number => size - m - v * (size - 2 * m);
  const parts: string[] = [
    `<rect x="${m}" y="${m}" width="${size - 2 * m}" height="${size - 2 * m}" fill="none" stroke="#d0d7de"/>`,
    `<line x1="${s(0)}" y1="${yv(0)}" x2="${s(1)}" y2="${yv(1)}" stroke="#afb8c1" stroke-dasharray="4 3"/>`,
    `<text x="${size / 2}" y="${size - 6}" font-size="11" text-anchor="middle">mean predicted probability</text>`,
    `<text x="12" y="${size / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 12 ${size / 2})">observed share of positives</text>`,
    `<text x="${s(0)}" y="${size - m + 14}" font-size="9" text-anchor="middle">0</text><text x="${s(1)}" y="${size - m + 14}" font-size="9" text-anchor="middle">1</text>`,
    `<text x="${m - 6}" y="${yv(0) + 3}" font-size="9" text-anchor="end">0</text><text x="${m - 6}" y="${yv(1) + 3}" font-size="9" text-anchor="end">1</text>`,
  ];
  const curve = (bins: readonly CalibrationBin[], color: string): void => {
    const points = bins.filter((b) => b.count > 0 && b.meanPredicted !== null && b.fractionPositive !== null);
    if (points.length > 1) {
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map((b) => `${s(b.meanPredicted!).toFixed(1)},${yv(b.fractionPositive!).toFixed(1)}`).join(' ')}"/>`);
    }
    for (const b of points) parts.push(`<circle cx="${s(b.meanPredicted!).toFixed(1)}" cy="${yv(b.fractionPositive!).toFixed(1)}" r="3.5" fill="${color}"><title>${b.count} rows</title></circle>`);
  };
  if (cal.champion) curve(cal.champion, COLORS.champion);
  curve(cal.candidate, COLORS.candidate);
  const ece = card.metrics.find((r) => r.name === 'ece');
  return (
    `<h2>Calibration</h2><p>${cal.bins} equal-width bins; ECE candidate ${short(ece?.candidate.estimate ?? null)}${ece?.champion ? `, champion ${short(ece.champion.estimate)}` : ''}.</p>` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" role="img" aria-label="reliability diagram">${parts.join('')}</svg>`
  );
}

function behaviouralSection(card: ReportCard): string {
  if (card.behavioural.length === 0) return '';
  const body = card.behavioural
    .map((b) => `<tr><td class="status ${b.passed ? 'pass' : 'fail'}">${b.passed ? 'pass' : 'fail'}</td><td>${esc(b.name)}</td><td>${esc(b.kind)}</td><td class="num">${b.rowsTested}</td><td>${esc(b.detail)}</td></tr>`)
    .join('');
  return `<h2>Behavioural tests</h2><table><tr><th>status</th><th>test</th><th>kind</th><th>rows</th><th>detail</th></tr>${body}</table>`;
}

function budgetSection(card: ReportCard): string {
  if (!card.budgets) return '';
  const { measurements: m, checks } = card.budgets;
  const rows = [
    ['model size', `${m.modelBytes} bytes`],
    ['single-row latency p50 / p99 / mean', `${short(m.latencyMs.p50)} / ${short(m.latencyMs.p99)} / ${short(m.latencyMs.mean)} ms (${m.latencyMs.runs} runs after ${m.latencyMs.warmupRuns} warm-up)`],
    ['batch throughput', `${short(m.throughput.rowsPerSecond)} rows/s (batch ${m.throughput.batchSize}, median of ${m.throughput.runs})`],
    ['runtime', m.runtime],
  ];
  const measured = rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td class="num">${esc(v)}</td></tr>`).join('');
  const judged = checks.map((c) => `<tr><td class="status ${c.passed ? 'pass' : 'fail'}">${c.passed ? 'pass' : 'fail'}</td><td><code>${esc(c.rule)}</code></td><td>${esc(c.detail)}</td></tr>`).join('');
  return `<h2>Operational budgets</h2><table>${measured}</table>${judged ? `<table><tr><th>status</th><th>rule</th><th>detail</th></tr>${judged}</table>` : ''}`;
}

function list(items: readonly string[]): string {
  return `<ul>${items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>`;
}

function ci(interval: ConfidenceInterval, signed = false): string {
  const f = (v: number | null): string => (signed && v !== null && v > 0 ? `+${short(v)}` : short(v));
  const bounds = interval.lower !== null && interval.upper !== null ? ` [${f(interval.lower)}, ${f(interval.upper)}]` : ' [n/a]';
  return esc(`${f(interval.estimate)}${bounds}`);
}

function short(value: number | null): string {
  if (value === null) return 'n/a';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  return abs >= 1e5 || abs < 1e-3 ? value.toExponential(2) : Number(value.toPrecision(4)).toString();
}

function pct(share: number): string {
  return `${Number((share * 100).toPrecision(4))}%`;
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
