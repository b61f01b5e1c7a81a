// The HTML pages a person opens after a run: one per run (outcome, report card with candidate vs
// champion intervals, data summary, drift, lineage graph, step timings, a link into the Temporal
// UI) and one per model (versions and metrics over time). Self-contained files: inline CSS and
// inline SVG only, so they open from a bucket or a file:// path with nothing else served.
import type { AncestryNode, ModelHistoryEntry } from '../lineage/ancestry';
import type { PipelineRunRow } from '../lineage/schema';
import type { RunDrift } from './drift';
import { barChart, escapeHtml, intervalChart, lineageGraph, lineChart, type IntervalRow } from './svg';

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;max-width:1100px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}h3{font-size:15px;margin-top:18px}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;font-size:13px}
.pass{color:#1b7a2c;font-weight:bold}.fail{color:#b3261e;font-weight:bold}.muted{color:#666}code{background:#f4f4f4;padding:1px 4px}`;

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

function table(headers: string[], rows: Array<Array<string | number | null>>): string {
  const cell = (v: string | number | null) => `<td>${v === null ? '<span class="muted">–</span>' : typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(4)) : v}</td>`;
  return `<table><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</table>`;
}

function graphOf(chain: AncestryNode[]): string {
  const oldestFirst = [...chain].reverse();
  return lineageGraph(
    oldestFirst.map((node) => ({
      id: node.version.id,
      label: node.version.id,
      sub: `${node.version.training_mode}, ${node.version.status}`,
      kind: node.version.status === 'champion' ? 'champion' : node.version.status === 'rejected' || node.version.status === 'rolled_back' ? 'rejected' : 'version',
      parent: node.version.parent_version_id,
      dataset: node.dataset ? { id: node.dataset.id, label: node.dataset.id.slice(0, 22), sub: `${node.dataset.row_count} rows`, kind: 'dataset' } : null,
    })),
  );
}

/** One evaluation set's candidate-vs-champion metrics, as the report card JSON stores them. */
export interface MetricComparison {
  /** e.g. "backtest (270 rows)" or the static test set's id. */
  set: string;
  rows: IntervalRow[];
}

export interface RunReportInput {
  run: PipelineRunRow;
  chain: AncestryNode[];
  reportCardUri: string | null;
  temporalUiUrl?: string | null;
  modelPageUri: string;
  /** From the report card JSON; absent when the card could not be read. */
  comparisons?: MetricComparison[];
  drift?: RunDrift | null;
}

const fmt = (v: number | null | undefined, digits = 4) => (v === null || v === undefined || !Number.isFinite(v) ? null : Number(v.toFixed(digits)));
const pct = (v: number | null) => (v === null ? null : `${(v * 100).toFixed(1)}%`);
const link = (uri: string) => `<a href="${escapeHtml(uri)}">${escapeHtml(uri)}</a>`;

function comparisonSection(comparisons: MetricComparison[] | undefined): string {
  if (!comparisons?.length) return '';
  return comparisons
    .map((c) => `<h3>Candidate vs champion on ${escapeHtml(c.set)}</h3>${intervalChart(`candidate vs champion on ${c.set}`, c.rows)}`)
    .join('\n');
}

/** Drift between the training window and its reference, then the latest production window's signals. */
export function driftSection(drift: RunDrift | null | undefined): string {
  const parts = ['<h2>Drift</h2>'];
  if (!drift) return `${parts[0]}<p class="muted">no drift data was recorded for this run</p>`;
  const profiles = drift.profiles;
  if (profiles) {
    parts.push(
      `<h3>Training window vs reference</h3><p>The pulled window (${profiles.currentRows} rows) against the reference snapshot${drift.referenceUri ? ` ${link(drift.referenceUri)}` : ''} (${profiles.referenceRows} rows), from the profiles the data validation gate stored${drift.validationReportUri ? ` (${link(drift.validationReportUri)})` : ''}. Label rate ${pct(profiles.label.referenceRate) ?? '–'} → ${pct(profiles.label.currentRate) ?? '–'}.</p>`,
    );
    if (profiles.numeric.length) {
      parts.push(barChart('numeric features: mean shift in reference standard deviations', profiles.numeric.map((n) => ({ label: n.feature, value: n.standardizedShift })), { format: (v) => v.toFixed(3) }));
      parts.push(
        table(
          ['numeric feature', 'mean (reference)', 'mean (window)', 'shift (ref. std)', 'median (reference)', 'median (window)', 'missing (ref. → window)', 'outside reference range'],
          profiles.numeric.map((n) => [escapeHtml(n.feature), fmt(n.referenceMean), fmt(n.currentMean), fmt(n.standardizedShift), fmt(n.referenceMedian), fmt(n.currentMedian), `${pct(n.referenceNullRate) ?? '–'} → ${pct(n.currentNullRate) ?? '–'}`, n.outsideRange]),
        ),
      );
    }
    if (profiles.categorical.length) {
      parts.push(barChart('categorical features: Jensen-Shannon distance of category shares', profiles.categorical.map((c) => ({ label: c.feature, value: c.jsDistance })), { format: (v) => v.toFixed(3) }));
      parts.push(
        table(
          ['categorical feature', 'JS distance (base 2)', 'top reference category', 'its share (ref. → window)', 'unseen in reference'],
          profiles.categorical.map((c) => [
            escapeHtml(c.feature) + (c.truncated ? ' <span class="muted">(top values only)</span>' : ''),
            fmt(c.jsDistance),
            c.topCategory === null ? null : escapeHtml(c.topCategory),
            `${pct(c.referenceTopShare) ?? '–'} → ${pct(c.currentTopShare) ?? '–'}`,
            c.unseen.length ? escapeHtml(c.unseen.slice(0, 10).join(', ') + (c.unseen.length > 10 ? ` … (${c.unseen.length})` : '')) : null,
          ]),
        ),
      );
    }
  } else {
    parts.push(`<h3>Training window vs reference</h3><p class="muted">${escapeHtml(drift.note ?? 'no reference profile to compare with')}</p>`);
  }
  const monitoring = drift.monitoring;
  if (monitoring) {
    const features = monitoring.signals.filter((s) => s.kind === 'feature_drift');
    const others = monitoring.signals.filter((s) => s.kind !== 'feature_drift');
    const rule = (s: { threshold: number | null; firesWhen: string | null }) => (s.threshold === null ? null : `${escapeHtml(s.firesWhen ?? '')} ${fmt(s.threshold)}`);
    parts.push(
      `<h3>Production window ${escapeHtml(monitoring.windowStart)} → ${escapeHtml(monitoring.windowEnd)}</h3><p>The latest monitoring window before this run (series <code>${escapeHtml(monitoring.series)}</code>), as stored in lineage.</p>`,
    );
    if (features.length) {
      parts.push(barChart('feature drift statistics (red: fired)', features.map((s) => ({ label: `${s.feature} ${s.statistic}`, value: s.value, flagged: s.fired }))));
    }
    parts.push(
      table(
        ['signal', 'feature', 'statistic', 'value', 'fires when', 'fired', 'rows (ref. / window)'],
        [...others, ...features].map((s) => [escapeHtml(s.kind), escapeHtml(s.feature || '(all)'), escapeHtml(s.statistic), fmt(s.value), rule(s), s.fired ? '<span class="fail">yes</span>' : 'no', `${s.nRef} / ${s.nCur}`]),
      ),
    );
  } else {
    parts.push('<h3>Production windows</h3><p class="muted">no monitoring window was recorded for this model before the run</p>');
  }
  return parts.join('\n');
}

export function renderRunReport(input: RunReportInput): string {
  const { run, chain } = input;
  const node = chain[0];
  const version = node?.version;
  const evaluation = node?.evaluation;
  const manifest = (node?.dataset?.manifest ?? {}) as Record<string, unknown>;
  const decision = evaluation?.decision ?? null;
  const reasons = (evaluation?.reasons as string[] | undefined) ?? [];
  const metrics = (version?.metrics ?? {}) as Record<string, number>;
  const order = ['pull', 'validate', 'dataset', 'train', 'evaluate', 'register', 'promote', 'reject'];
  const timings = Object.entries(run.timings as Record<string, number>).sort(([a], [b]) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
  const body = `
<h1>Run <code>${escapeHtml(run.id)}</code></h1>
<p>Model <b>${escapeHtml(run.model_name)}</b>, stage ${run.stage}, trigger <b>${escapeHtml(run.trigger)}</b>, status
<span class="${run.status === 'succeeded' ? 'pass' : 'fail'}">${escapeHtml(run.status)}</span>${run.error ? `: ${escapeHtml(run.error)}` : ''}.
Started ${new Date(run.started_at).toISOString()}${run.finished_at ? `, finished ${new Date(run.finished_at).toISOString()}` : ''}.</p>
${input.temporalUiUrl ? `<p><a href="${escapeHtml(input.temporalUiUrl)}">Open in the Temporal UI</a></p>` : ''}
${version ? `<h2>Candidate ${escapeHtml(version.id)}</h2>
<p>${escapeHtml(version.training_mode)} training (${escapeHtml(version.iteration_kind)} iteration): ${escapeHtml(version.training_reason ?? '')}; ${version.samples_seen} samples seen; parent ${escapeHtml(version.parent_version_id ?? 'none')}; status <b>${escapeHtml(version.status)}</b>.</p>
<h2>Report card: <span class="${decision === 'fail' ? 'fail' : 'pass'}">${escapeHtml(decision ?? 'none')}</span></h2>
<ul>${reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>
${table(['metric', 'value (backtest)'], Object.entries(metrics).map(([k, v]) => [escapeHtml(k), v]))}
${comparisonSection(input.comparisons)}
${input.reportCardUri ? `<p>Full report card (slices, intervals, calibration): <a href="${escapeHtml(input.reportCardUri)}">${escapeHtml(input.reportCardUri)}</a></p>` : ''}` : '<p>The run produced no version.</p>'}
<h2>Data</h2>
${node?.dataset ? table(['dataset', 'window', 'rows', 'train', 'validation', 'positives', 'high-water mark'], [[escapeHtml(node.dataset.id), `${escapeHtml(String((manifest.window as { start?: string })?.start ?? ''))} → ${escapeHtml(String((manifest.window as { end?: string })?.end ?? ''))}`, node.dataset.row_count, (manifest.trainRows as number) ?? null, (manifest.validationRows as number) ?? null, (manifest.positives as number) ?? null, escapeHtml(String(manifest.highWaterMark ?? ''))]]) : '<p class="muted">no dataset</p>'}
${driftSection(input.drift)}
<h2>Lineage</h2>
${graphOf(chain)}
<h2>Steps</h2>
${table(['step', 'ms (activity time)'], timings.map(([k, v]) => [escapeHtml(k), Math.round(v)]))}
<p><a href="${escapeHtml(input.modelPageUri)}">All versions of ${escapeHtml(run.model_name)}</a></p>`;
  return page(`Flywheel run ${run.id}`, body);
}

export function renderModelPage(model: string, history: ModelHistoryEntry[], chain: AncestryNode[]): string {
  const labels = history.map((h) => h.version.version);
  const metricNames = [...new Set(history.flatMap((h) => Object.keys(h.version.metrics as Record<string, number>)))].filter((m) => ['auc', 'log_loss', 'accuracy', 'ece', 'brier', 'rmse', 'mae'].includes(m));
  const colors = ['#1f6fb2', '#d9822b', '#2b9348', '#8e44ad', '#b3261e', '#555'];
  // One chart per metric: AUC near 0.9 and log loss near 0.4 on one axis would flatten both lines.
  const chart = metricNames.length
    ? metricNames
        .map((name, i) =>
          lineChart(`${model}: ${name} by version`, [{ name, color: colors[i % colors.length], points: history.map((h) => ({ label: h.version.version, value: (h.version.metrics as Record<string, number>)[name] ?? null })) }], 640, 180),
        )
        .join('\n')
    : lineChart(`${model}: metrics by version`, []);
  const rows = history.map((h) => [
    escapeHtml(h.version.id),
    new Date(h.version.created_at).toISOString().replace('T', ' ').slice(0, 19),
    escapeHtml(h.version.training_mode),
    escapeHtml(h.trigger ?? ''),
    escapeHtml(h.version.status),
    (h.version.metrics as Record<string, number>).auc ?? null,
    escapeHtml(h.evaluation?.decision ?? ''),
    h.version.samples_seen,
  ]);
  const body = `<h1>Model <code>${escapeHtml(model)}</code></h1>
<p>${history.length} versions (${escapeHtml(labels.join(', '))}).</p>
<h2>Metrics over versions</h2>
${chart}
<h2>Versions</h2>
${table(['version', 'created (UTC)', 'training', 'trigger', 'status', 'auc', 'gate', 'samples seen'], rows)}
<h2>Current lineage</h2>
${graphOf(chain)}`;
  return page(`Flywheel model ${model}`, body);
}
