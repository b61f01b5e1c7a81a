// Small inline-SVG charts for the HTML reports (no external assets): a line chart of values over
// versions and a left-to-right lineage graph.

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
