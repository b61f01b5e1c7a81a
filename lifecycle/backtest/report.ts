// The backtest's text table (the CLI's default output) and the compact summary rows shared by the
// table, the HTML page and the benchmark.
import type { BacktestResult, StrategyResult } from './engine';

export interface SummaryRow {
  strategy: string;
  metric: number | null;
  retrains: number;
  stateless: number;
  stateful: number;
  failed: number;
  rejected: number;
  samples: number;
  cpuSeconds: number;
  /** Days to recover per onset, in onset order (null = not recovered). */
  recover: Array<number | null>;
}

export function summaryRows(result: BacktestResult): SummaryRow[] {
  return result.strategies.map((s: StrategyResult) => ({
    strategy: s.name,
    metric: s.prequential.value,
    retrains: s.retrains.total,
    stateless: s.retrains.stateless,
    stateful: s.retrains.stateful,
    failed: s.retrains.failed,
    rejected: s.retrains.rejected,
    samples: s.compute.samplesProcessed,
    cpuSeconds: s.compute.cpuSeconds,
    recover: s.recovery.map((r) => r.daysToRecover),
  }));
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

export function formatRecovery(days: number | null): string {
  return days === null ? 'never' : `${days}d`;
}

/** Fixed-width table: one row per strategy, then the onsets and protocol in one line. */
export function renderBacktestTable(result: BacktestResult, heading?: string): string {
  const rows = summaryRows(result);
  const metric = result.settings.metric;
  const onsets = result.settings.onsets;
  const header = ['strategy', `prequential ${metric}`, 'retrains', 'full', 'stateful', 'failed', ...(result.settings.gate ? ['rejected'] : []), 'samples', 'CPU s', ...(onsets.length ? [`recover (day ${onsets.join(', ')})`] : [])];
  const body = rows.map((r) => [
    r.strategy,
    r.metric === null ? '-' : r.metric.toFixed(4),
    String(r.retrains),
    String(r.stateless),
    String(r.stateful),
    String(r.failed),
    ...(result.settings.gate ? [String(r.rejected)] : []),
    r.samples.toLocaleString('en-US'),
    r.cpuSeconds.toFixed(2),
    ...(onsets.length ? [r.recover.map(formatRecovery).join(', ')] : []),
  ]);
  const widths = header.map((h, k) => Math.max(h.length, ...body.map((row) => row[k].length)));
  const line = (cells: string[]) => cells.map((c, k) => pad(c, widths[k], k > 0 && k < cells.length - (onsets.length ? 1 : 0))).join('  ').trimEnd();
  const out: string[] = [];
  if (heading) out.push(heading);
  out.push(
    `${result.days} days from ${result.startDate} (${result.rows.toLocaleString('en-US')} rows); warm-up ${result.settings.warmupDays} days; scored test-then-train from day ${result.settings.warmupDays}` +
      (onsets.length ? `; recovery = daily ${metric} back within ${result.settings.recoveryEpsilon} of the ${result.settings.baselineDays}-day pre-drift mean` : ''),
  );
  out.push(line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line));
  return out.join('\n');
}
