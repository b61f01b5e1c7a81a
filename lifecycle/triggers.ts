// Stage-4 trigger rules as plain functions: each signal says its value, its threshold and whether
// it fired; the admission rule applies cooldown, the daily budget and "one retrain at a time".

export type TriggerKind = 'time' | 'volume' | 'performance' | 'drift' | 'upstream' | 'manual';

export interface TriggerSignal {
  kind: TriggerKind;
  fired: boolean;
  value: number | null;
  threshold: number | null;
  detail: string;
}

export function timeSignal(nowMs: number, lastTrainedMs: number | null, everyMs: number): TriggerSignal {
  const ageMs = lastTrainedMs === null ? null : nowMs - lastTrainedMs;
  return {
    kind: 'time',
    fired: ageMs === null || ageMs >= everyMs,
    value: ageMs,
    threshold: everyMs,
    detail: ageMs === null ? 'no trained version yet' : `last training ${Math.round(ageMs / 60_000)} min ago, every ${Math.round(everyMs / 60_000)} min`,
  };
}

export function volumeSignal(newRows: number, lastTrainingRows: number, rule: { percentNew?: number; everyRows?: number }): TriggerSignal {
  const thresholds: number[] = [];
  if (rule.everyRows !== undefined) thresholds.push(rule.everyRows);
  if (rule.percentNew !== undefined) thresholds.push(Math.max(1, Math.ceil((rule.percentNew / 100) * lastTrainingRows)));
  // Either rule firing is enough, so the smaller row count is the effective threshold.
  const threshold = Math.min(...thresholds);
  return {
    kind: 'volume',
    fired: newRows >= threshold,
    value: newRows,
    threshold,
    detail: `${newRows} new labelled rows since the last training (threshold ${threshold}${rule.percentNew !== undefined ? `; ${rule.percentNew}% of ${lastTrainingRows}` : ''})`,
  };
}

/** Error metrics fire when above the bound; every other metric (auc, accuracy) when below it. */
const LOWER_IS_BETTER = new Set(['log_loss', 'mae', 'rmse']);

export function performanceSignal(metric: string, value: number | null, bound: number, rows: number): TriggerSignal {
  if (value === null || Number.isNaN(value)) {
    return { kind: 'performance', fired: false, value: null, threshold: bound, detail: `not enough labelled rows to score the champion (${rows})` };
  }
  const worse = LOWER_IS_BETTER.has(metric) ? value > bound : value < bound;
  return {
    kind: 'performance',
    fired: worse,
    value,
    threshold: bound,
    detail: `champion ${metric} ${value.toFixed(4)} on the latest ${rows} labelled rows (${LOWER_IS_BETTER.has(metric) ? 'max' : 'min'} ${bound})`,
  };
}

export interface AdmissionState {
  lastTriggeredMs: number | null;
  /** UTC day (YYYY-MM-DD) → retrains started by triggers that day. */
  startedPerDay: Record<string, number>;
}

export interface Admission {
  admit: boolean;
  reason: string;
}

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function admitRetrain(state: AdmissionState, nowMs: number, cooldownMs: number, dailyBudget: number, retrainRunning: boolean): Admission {
  if (retrainRunning) return { admit: false, reason: 'a retrain of this model is already running' };
  if (state.lastTriggeredMs !== null && nowMs - state.lastTriggeredMs < cooldownMs) {
    return { admit: false, reason: `cooldown: ${Math.ceil((cooldownMs - (nowMs - state.lastTriggeredMs)) / 1000)} s left` };
  }
  const today = state.startedPerDay[utcDay(nowMs)] ?? 0;
  if (today >= dailyBudget) return { admit: false, reason: `daily budget of ${dailyBudget} retrains used` };
  return { admit: true, reason: 'admitted' };
}

/** The TriggerReason of a run: every fired kind, in a stable order. */
export function triggerReason(signals: TriggerSignal[]): string | null {
  const order: TriggerKind[] = ['manual', 'upstream', 'performance', 'drift', 'volume', 'time'];
  const fired = order.filter((kind) => signals.some((s) => s.kind === kind && s.fired));
  return fired.length ? fired.join('+') : null;
}
