// Stage-4 trigger signals measured at one instant of a replay, with the same rules as the
// production check (activities/triggers.ts evaluateTriggers): time since the latest version,
// labelled rows since the champion's high-water mark, and the champion's metric on the latest
// rows after that mark, each through lifecycle/triggers.ts; drift as activities/monitoring.ts
// evaluateDriftTrigger measures it, through monitoring's drift report and trigger signal.
import { accuracy, auc, logLoss, meanAbsoluteError, rootMeanSquaredError } from '../../ml/metrics';
import { predictTabular } from '../../ml/tabular/predict';
import { computeDriftReport, type ColumnSet } from '../../monitoring/drift-report';
import type { DriftPolicy } from '../../monitoring/thresholds';
import { driftTriggerSignal } from '../../monitoring/signals';
import { PERFORMANCE_TRIGGER_METRICS, type ContinualSpec, type PerformanceTriggerMetric } from '../../spec/lifecycle-spec';
import { parseDurationMs } from '../../spec/data-spec';
import { performanceSignal, timeSignal, volumeSignal, type TriggerSignal } from '../triggers';
import { firstAfter, firstAtOrAfter, frameOfRows, type LabelledHistory } from './history';
import type { TrainedModel } from './train-window';

/** Production scores the champion only on at least this many labelled rows (activities/triggers.ts). */
export const MIN_PERFORMANCE_ROWS = 50;

const METRICS: Record<PerformanceTriggerMetric, (y: ArrayLike<number>, p: ArrayLike<number>) => number> = { auc, accuracy, log_loss: logLoss, mae: meanAbsoluteError, rmse: rootMeanSquaredError };

export interface SignalInputs {
  history: LabelledHistory;
  nowMs: number;
  continual: ContinualSpec;
  champion: TrainedModel;
  /** When the latest version was trained (production: the newest model_versions.created_at). */
  lastTrainedMs: number;
  /** The spec's monitoring.drift policy, as production's drift trigger uses it; unset: the defaults. */
  driftPolicy?: DriftPolicy;
}

/** Every trigger the strategy declares, measured on rows with event time before `nowMs`. */
export function measureSignals(inputs: SignalInputs): TriggerSignal[] {
  const { history, nowMs, champion } = inputs;
  const triggers = inputs.continual.triggers;
  // Rows after the champion's high-water mark that have happened by now (labels are known at event time).
  const sinceLo = firstAfter(history, champion.highWaterMarkMs);
  const nowHi = firstAtOrAfter(history, nowMs);
  const fresh = Math.max(0, nowHi - sinceLo);
  const signals: TriggerSignal[] = [];
  if (triggers.time) signals.push(timeSignal(nowMs, inputs.lastTrainedMs, parseDurationMs(triggers.time.every)!));
  if (triggers.volume) signals.push(volumeSignal(fresh, champion.datasetRows, triggers.volume));
  if (triggers.performance) {
    const { metric, bound, windowRows } = triggers.performance;
    const lo = Math.max(sinceLo, nowHi - windowRows);
    const rows = Math.max(0, nowHi - lo);
    const labels = history.labels.subarray(lo, Math.max(lo, nowHi));
    let value: number | null = null;
    if (rows >= MIN_PERFORMANCE_ROWS && (PERFORMANCE_TRIGGER_METRICS[metric].task === 'regression' || hasBothClasses(labels))) value = METRICS[metric](labels, predictTabular(champion.model, frameOfRows(history, lo, nowHi)));
    signals.push(performanceSignal(metric, value, bound, rows));
  }
  if (triggers.drift) signals.push(driftSignal(history, champion, nowHi, triggers.drift, inputs.driftPolicy));
  return signals;
}

function hasBothClasses(labels: ArrayLike<number>): boolean {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i];
  return positives > 0 && positives < labels.length;
}

/** Fewer current rows than this make a drift share meaningless (activities/monitoring.ts). */
export const MIN_DRIFT_ROWS = 50;

/**
 * The stage-4 drift trigger as production's evaluateDriftTrigger measures it: the latest
 * `windowRows` labelled rows before now against the champion's training snapshot (the rows its
 * pull returned), every feature under the spec's monitoring.drift policy (else the defaults), through monitoring's own
 * driftTriggerSignal. Like production, it compares whatever span those rows cover: with a
 * time-of-day feature, a window that is not a whole number of days of traffic differs from the
 * snapshot in that feature alone (README: choose drift-window accordingly).
 */
export function driftSignal(history: LabelledHistory, champion: TrainedModel, nowHi: number, rule: { shareDrifted: number; windowRows: number }, policy?: DriftPolicy): TriggerSignal {
  const lo = Math.max(0, nowHi - rule.windowRows);
  const rows = nowHi - lo;
  if (rows < MIN_DRIFT_ROWS) return { kind: 'drift', fired: false, value: null, threshold: rule.shareDrifted, detail: `only ${rows} labelled rows (a drift check needs ${MIN_DRIFT_ROWS})` };
  const { lo: refLo, hi: refHi } = champion.datasetRange;
  const report = computeDriftReport({
    reference: columnSet(history, refLo, refHi),
    current: columnSet(history, lo, nowHi),
    features: [...history.layout.numeric.map((name) => ({ name, kind: 'numeric' as const })), ...history.layout.categorical.map((name) => ({ name, kind: 'categorical' as const }))],
    ...(policy ? { policy } : {}),
  });
  return driftTriggerSignal(report, rule.shareDrifted, `the latest ${rows} labelled rows vs the champion's training snapshot (${refHi - refLo} rows)`);
}

function columnSet(history: LabelledHistory, lo: number, hi: number): ColumnSet {
  return {
    numeric: Object.fromEntries(history.layout.numeric.map((name) => [name, history.numeric[name].slice(lo, hi)])),
    // Missing categories become an explicit value, as monitoring asks (validate.ts).
    categorical: Object.fromEntries(history.layout.categorical.map((name) => [name, history.categorical[name].slice(lo, hi).map((v) => v ?? '__missing__')])),
  };
}
