// Small inline-SVG charts for the HTML reports (no external assets, no chart library): a line
// chart of values over versions, candidate-vs-champion intervals, horizontal bars, and a
// left-to-right lineage graph. Every piece of text goes through escapeHtml.

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface Series {
  name: string;
  points: Array<{ label: string; value: number | null }>;
  color: string;
}

/** One or more series over the same labels (e.g. AUC per version). */
export function lineChart(title: string, series: Series[], width = 640, height = 220): string {
  const labels = series[0]?.points.map((p) => p.label) ?? [];
  const values = series.flatMap((s) => s.points.map((p) => p.value)).filter((v): v is number => v !== null && Number.isFinite(v));
  if (!labels.length || !values.length) return `<p><em>${escapeHtml(title)}: no data yet</em></p>`;
  const pad = { left: 48, right: 12, top: 24, bottom: 36 };
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi - lo < 1e-9) {
    lo -= 0.05;
    hi += 0.05;
  }
  const x = (i: number) => pad.left + (labels.length === 1 ? (width - pad.left - pad.right) / 2 : (i * (width - pad.left - pad.right)) / (labels.length - 1));
  const y = (v: number) => pad.top + ((hi - v) * (height - pad.top - pad.bottom)) / (hi - lo);
  const lines = series
    .map((s) => {
      const pts = s.points.map((p, i) => (p.value === null ? null : `${x(i).toFixed(1)},${y(p.value).toFixed(1)}`)).filter(Boolean);
      const dots = s.points
        .map((p, i) => (p.value === null ? '' : `<circle cx="${x(i).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="3" fill="${s.color}"><title>${escapeHtml(`${s.name} ${p.label}: ${p.value.toFixed(4)}`)}</title></circle>`))
        .join('');
      return `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.join(' ')}"/>${dots}`;
    })
    .join('');
  const ticks = [lo, (lo + hi) / 2, hi].map((v) => `<text x="${pad.left - 6}" y="${y(v) + 4}" text-anchor="end" font-size="10">${v.toFixed(3)}</text>`).join('');
  const xLabels = labels.map((l, i) => `<text x="${x(i)}" y="${height - pad.bottom + 14}" text-anchor="middle" font-size="10">${escapeHtml(l)}</text>`).join('');
  const legend = series.map((s, i) => `<text x="${pad.left + i * 140}" y="14" font-size="11" fill="${s.color}">■ ${escapeHtml(s.name)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}"><rect width="100%" height="100%" fill="#fff"/>${legend}<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#999"/><line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#999"/>${ticks}${xLabels}${lines}</svg>`;
}

export interface GraphNode {
  id: string;
  label: string;
  sub?: string;
  kind: 'dataset' | 'version' | 'champion' | 'rejected';
}

const FILL: Record<GraphNode['kind'], string> = { dataset: '#eef3fb', version: '#f4f4f4', champion: '#e3f5e1', rejected: '#fbe9e7' };

/** Versions in a row (oldest left), each with its dataset below; arrows parent → child and dataset → version. */
export function lineageGraph(versions: Array<GraphNode & { parent: string | null; dataset: GraphNode | null }>): string {
  if (!versions.length) return '<p><em>no versions yet</em></p>';
  const boxW = 150;
  const boxH = 44;
  const gap = 40;
  const width = versions.length * (boxW + gap) + gap;
  const height = 190;
  const pos = new Map<string, number>();
  versions.forEach((v, i) => pos.set(v.id, gap + i * (boxW + gap)));
  const box = (x: number, y: number, node: GraphNode) =>
    `<rect x="${x}" y="${y}" width="${boxW}" height="${boxH}" rx="6" fill="${FILL[node.kind]}" stroke="#888"/><text x="${x + 8}" y="${y + 18}" font-size="12" font-weight="bold">${escapeHtml(node.label)}</text>${node.sub ? `<text x="${x + 8}" y="${y + 34}" font-size="10">${escapeHtml(node.sub)}</text>` : ''}`;
  const parts: string[] = ['<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#666"/></marker></defs>'];
  for (const v of versions) {
    const x = pos.get(v.id)!;
    parts.push(box(x, 20, v));
    if (v.dataset) {
      parts.push(box(x, 120, v.dataset));
      parts.push(`<line x1="${x + boxW / 2}" y1="120" x2="${x + boxW / 2}" y2="${20 + boxH}" stroke="#666" marker-end="url(#arrow)"/>`);
    }
    if (v.parent && pos.has(v.parent)) {
      const px = pos.get(v.parent)!;
      parts.push(`<line x1="${px + boxW}" y1="${20 + boxH / 2}" x2="${x}" y2="${20 + boxH / 2}" stroke="#666" marker-end="url(#arrow)"/>`);
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="lineage graph"><rect width="100%" height="100%" fill="#fff"/>${parts.join('')}</svg>`;
}

export interface Interval {
  estimate: number | null;
  lower: number | null;
  upper: number | null;
}

export interface IntervalRow {
  label: string;
  candidate: Interval | null;
  champion: Interval | null;
}

const CANDIDATE_COLOR = '#1f6fb2';
const CHAMPION_COLOR = '#d9822b';

/**
 * Candidate vs champion per metric, each estimate a dot with its confidence interval as a whisker.
 * One row per metric, each on its own axis: AUC and log loss do not share a scale, and the question
 * a reader asks is whether the two intervals overlap, not how far apart two metrics are.
 */
export function intervalChart(title: string, rows: IntervalRow[], width = 640): string {
  const usable = rows.filter((r) => r.candidate?.estimate != null || r.champion?.estimate != null);
  if (!usable.length) return `<p><em>${escapeHtml(title)}: no data yet</em></p>`;
  const rowH = 34;
  const pad = { left: 110, right: 70, top: 26, bottom: 8 };
  const height = pad.top + usable.length * rowH + pad.bottom;
  const plotW = width - pad.left - pad.right;
  const parts: string[] = [];
  usable.forEach((row, i) => {
    const numbers = [row.candidate, row.champion].flatMap((v) => (v ? [v.estimate, v.lower, v.upper] : [])).filter((v): v is number => v !== null && Number.isFinite(v));
    let lo = Math.min(...numbers);
    let hi = Math.max(...numbers);
    // A little room either side so whiskers at the extremes stay visible; a flat row gets a nominal span.
    const span = hi - lo < 1e-9 ? Math.max(Math.abs(hi) * 0.05, 0.01) : hi - lo;
    lo -= span * 0.1;
    hi += span * 0.1;
    const x = (v: number) => pad.left + ((v - lo) / (hi - lo)) * plotW;
    const yMid = pad.top + i * rowH + rowH / 2;
    parts.push(`<text x="${pad.left - 8}" y="${yMid + 4}" text-anchor="end" font-size="11">${escapeHtml(row.label)}</text>`);
    parts.push(`<line x1="${pad.left}" y1="${yMid}" x2="${width - pad.right}" y2="${yMid}" stroke="#eee"/>`);
    parts.push(`<text x="${pad.left}" y="${yMid + 15}" font-size="9" fill="#888">${lo.toFixed(3)}</text><text x="${width - pad.right}" y="${yMid + 15}" font-size="9" fill="#888" text-anchor="end">${hi.toFixed(3)}</text>`);
    const draw = (who: string, value: Interval | null, color: string, dy: number) => {
      if (!value || value.estimate === null || !Number.isFinite(value.estimate)) return;
      const y = yMid + dy;
      const ci = value.lower !== null && value.upper !== null && Number.isFinite(value.lower) && Number.isFinite(value.upper);
      const text = `${who} ${row.label}: ${value.estimate.toFixed(4)}${ci ? ` [${value.lower!.toFixed(4)}, ${value.upper!.toFixed(4)}]` : ''}`;
      if (ci) parts.push(`<line x1="${x(value.lower!).toFixed(1)}" y1="${y}" x2="${x(value.upper!).toFixed(1)}" y2="${y}" stroke="${color}" stroke-width="2"/>`);
      parts.push(`<circle cx="${x(value.estimate).toFixed(1)}" cy="${y}" r="4" fill="${color}"><title>${escapeHtml(text)}</title></circle>`);
    };
    draw('candidate', row.candidate, CANDIDATE_COLOR, -5);
    draw('champion', row.champion, CHAMPION_COLOR, 5);
    const est = row.candidate?.estimate;
    if (est !== null && est !== undefined) parts.push(`<text x="${width - pad.right + 6}" y="${yMid + 4}" font-size="10">${est.toFixed(4)}</text>`);
  });
  const legend = `<text x="${pad.left}" y="14" font-size="11" fill="${CANDIDATE_COLOR}">■ candidate</text><text x="${pad.left + 100}" y="14" font-size="11" fill="${CHAMPION_COLOR}">■ champion</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}"><rect width="100%" height="100%" fill="#fff"/>${legend}${parts.join('')}</svg>`;
}

export interface Bar {
  label: string;
  /** null draws no bar (the statistic was undefined) but keeps the row, labelled "n/a". */
  value: number | null;
  /** Highlighted in red: e.g. above the threshold the report names. */
  flagged?: boolean;
}

/** Horizontal bars from zero (e.g. a drift statistic per feature), with an optional threshold line. */
export function barChart(title: string, bars: Bar[], options: { threshold?: number | null; width?: number; format?: (v: number) => string } = {}): string {
  if (!bars.length) return `<p><em>${escapeHtml(title)}: no data yet</em></p>`;
  const width = options.width ?? 640;
  const format = options.format ?? ((v: number) => v.toFixed(3));
  const rowH = 20;
  const pad = { left: 130, right: 60, top: 22, bottom: 6 };
  const height = pad.top + bars.length * rowH + pad.bottom;
  const plotW = width - pad.left - pad.right;
  const values = bars.map((b) => b.value).filter((v): v is number => v !== null && Number.isFinite(v));
  const threshold = options.threshold ?? null;
  const max = Math.max(...values.map(Math.abs), threshold ?? 0, 1e-9);
  const x = (v: number) => pad.left + (Math.abs(v) / max) * plotW;
  const parts = bars.map((b, i) => {
    const y = pad.top + i * rowH;
    const label = `<text x="${pad.left - 8}" y="${y + 13}" text-anchor="end" font-size="11">${escapeHtml(b.label)}</text>`;
    if (b.value === null || !Number.isFinite(b.value)) return `${label}<text x="${pad.left + 4}" y="${y + 13}" font-size="10" fill="#888">n/a</text>`;
    const fill = b.flagged ? '#b3261e' : '#1f6fb2';
    return `${label}<rect x="${pad.left}" y="${y + 3}" width="${Math.max(1, x(b.value) - pad.left).toFixed(1)}" height="${rowH - 6}" fill="${fill}"><title>${escapeHtml(`${b.label}: ${format(b.value)}`)}</title></rect><text x="${(x(b.value) + 4).toFixed(1)}" y="${y + 13}" font-size="10">${escapeHtml(format(b.value))}</text>`;
  });
  const line =
    threshold !== null && Number.isFinite(threshold)
      ? `<line x1="${x(threshold).toFixed(1)}" y1="${pad.top - 4}" x2="${x(threshold).toFixed(1)}" y2="${height - pad.bottom}" stroke="#b3261e" stroke-dasharray="4 3"/><text x="${x(threshold).toFixed(1)}" y="${pad.top - 8}" font-size="10" text-anchor="middle" fill="#b3261e">${escapeHtml(format(threshold))}</text>`
      : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}"><rect width="100%" height="100%" fill="#fff"/><line x1="${pad.left}" y1="${pad.top - 4}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#999"/>${parts.join('')}${line}</svg>`;
}
