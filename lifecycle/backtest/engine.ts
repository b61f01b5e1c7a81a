// The strategy backtest: replays a labelled, time-ordered history through retraining strategies
// in process, test-then-train (prequential). Every row is scored by the version serving at its
// event time, then becomes available for training. Retrain decisions use production's rules:
// the schedule period (stages 2-3), the trigger signals and admission (stage 4, lifecycle/triggers.ts),
// the training plan (lifecycle/training-plan.ts planTraining) and the DAG's curation and trainer
// (train-window.ts). The exact protocol is in README.md next to this file.
import { computeMetrics, isMetricForTask, METRIC_DIRECTIONS, type MetricName, type Task } from '../../ml/metrics';
import { predictTabular } from '../../ml/tabular/predict';
import { parseDurationMs } from '../../spec/data-spec';
import { architectureHash, type ModelSpec } from '../../spec/model-spec';
import { planTraining, type ChampionFacts, type TrainingPlan } from '../training-plan';
import { admitRetrain, triggerReason, utcDay, type AdmissionState } from '../triggers';
import { judgeBacktestCandidate } from './gate';
import { DAY_MS, firstAfter, firstAtOrAfter, frameOfRows, historyDays, historyRows, historyStartMs, type LabelledHistory } from './history';
import { meanDaysToRecover, recoveries, type DailyPoint, type Recovery } from './recovery';
import { measureSignals } from './signals';
import { stageOf, type RetrainStrategy } from './strategy';
import { trainOnWindow, WindowTrainingError, type TrainedModel, type WindowTraining } from './train-window';

export interface BacktestSettings {
  /** Days before the first scored day; the shared initial model trains on them. Default 7. */
  warmupDays: number;
  /** Prequential metric; default accuracy (binary) or mae (regression). */
  metric: MetricName;
  /** Drift onsets as day indices from day 0 (UTC midnight before the first row). */
  onsets: number[];
  /** Recovered = daily metric within ε of the pre-drift level. Default 0.02. */
  recoveryEpsilon: number;
  /** Days before an onset averaged into its pre-drift level. Default 7. */
  baselineDays: number;
  /** Replay the offline gate (judgeCandidate) before promoting a candidate. Default false. */
  gate: boolean;
}

export interface BacktestInput {
  history: LabelledHistory;
  spec: ModelSpec;
  strategies: RetrainStrategy[];
  settings?: Partial<BacktestSettings>;
  log?: (line: string) => void;
}

export interface RetrainEvent {
  at: string;
  mode: TrainingPlan['mode'];
  planReason: string;
  /** Stage 4: the fired triggers (triggerReason); stages 2-3: "schedule". */
  trigger: string;
  /** Stage 4: what each fired signal measured. */
  signals?: string;
  outcome: 'promoted' | 'rejected' | 'failed';
  detail?: string;
  rows: number;
  samplesSeen: number;
  cpuSeconds: number;
}

export interface StrategyResult {
  name: string;
  source: string;
  kind: RetrainStrategy['kind'];
  prequential: { metric: MetricName; value: number | null; rows: number; daily: DailyPoint[] };
  retrains: { total: number; stateless: number; stateful: number; rejected: number; failed: number };
  compute: { samplesProcessed: number; cpuSeconds: number; trainingRows: number };
  recovery: Recovery[];
  meanDaysToRecover: number | null;
  /** Stage 4: trigger checks run, checks where a trigger fired, and fired-but-not-admitted checks. */
  checks: { run: number; fired: number; notAdmitted: number } | null;
  events: RetrainEvent[];
}

export interface BacktestResult {
  startDate: string;
  days: number;
  rows: number;
  settings: BacktestSettings;
  /** The version every strategy starts from: a full retrain at the end of warm-up. */
  initial: { at: string; rows: number; samplesSeen: number; cpuSeconds: number };
  strategies: StrategyResult[];
}

export class BacktestError extends Error {
  override name = 'BacktestError';
}

export function resolveSettings(task: string, settings: Partial<BacktestSettings> = {}): BacktestSettings {
  const metric = settings.metric ?? (task === 'regression' ? 'mae' : 'accuracy');
  if (task !== 'binary_classification' && task !== 'regression') throw new BacktestError(`task ${task} cannot be backtested yet: use binary_classification or regression`);
  if (!isMetricForTask(metric, task)) throw new BacktestError(`--metric ${metric} does not apply to ${task}`);
  const resolved: BacktestSettings = {
    warmupDays: settings.warmupDays ?? 7,
    metric,
    onsets: settings.onsets ?? [],
    recoveryEpsilon: settings.recoveryEpsilon ?? 0.02,
    baselineDays: settings.baselineDays ?? 7,
    gate: settings.gate ?? false,
  };
  if (!Number.isInteger(resolved.warmupDays) || resolved.warmupDays < 1) throw new BacktestError(`--warmup must be a whole number of days >= 1, got ${resolved.warmupDays}`);
  if (!(resolved.recoveryEpsilon >= 0)) throw new BacktestError(`--epsilon must be >= 0, got ${resolved.recoveryEpsilon}`);
  if (!Number.isInteger(resolved.baselineDays) || resolved.baselineDays < 1) throw new BacktestError(`baselineDays must be a whole number >= 1, got ${resolved.baselineDays}`);
  return resolved;
}

/** Everything one replay shares across strategies. */
interface ReplayContext {
  history: LabelledHistory;
  spec: ModelSpec;
  settings: BacktestSettings;
  architecture: string;
  firstScoredMs: number;
  endMs: number;
}

interface ServingVersion {
  id: string;
  trained: TrainedModel;
  trainedAtMs: number;
  /** Stateful updates since the last full retrain (the plan's recalibration counter). */
  chain: number;
}

export function runBacktest(input: BacktestInput): BacktestResult {
  const { history, spec, strategies } = input;
  const log = input.log ?? (() => {});
  const settings = resolveSettings(spec.task, input.settings);
  const startMs = historyStartMs(history);
  const days = historyDays(history);
  if (settings.warmupDays >= days) throw new BacktestError(`the history covers ${days} day(s); warm-up takes ${settings.warmupDays}: give more days or a shorter --warmup`);
  const ctx: ReplayContext = {
    history,
    spec,
    settings,
    architecture: architectureHash(spec),
    firstScoredMs: startMs + settings.warmupDays * DAY_MS,
    endMs: startMs + days * DAY_MS,
  };

  // One initial version for everyone, so strategies differ only in what they do afterwards.
  const t0 = ctx.firstScoredMs;
  let initial: WindowTraining;
  try {
    initial = trainOnWindow({ history, spec, lo: firstAtOrAfter(history, t0 - spec.data.windowDays * DAY_MS), hi: firstAtOrAfter(history, t0), mode: 'stateless' });
  } catch (error) {
    throw new BacktestError(`the initial model (end of the ${settings.warmupDays}-day warm-up) could not be trained: ${(error as Error).message}`);
  }
  log(`initial model: ${initial.rows.train} training rows before ${new Date(t0).toISOString()}`);
  const results = strategies.map((strategy) => {
    const result = replayStrategy(ctx, strategy, { id: 'v1', trained: initial.trained, trainedAtMs: t0, chain: 0 });
    log(`${strategy.name}: ${settings.metric} ${formatValue(result.prequential.value)}, ${result.retrains.total} retrains (${result.retrains.failed} failed), ${result.compute.cpuSeconds.toFixed(2)} CPU s`);
    return result;
  });
  return {
    startDate: new Date(startMs).toISOString().slice(0, 10),
    days,
    rows: historyRows(history),
    settings,
    initial: { at: new Date(t0).toISOString(), rows: initial.rows.pulled, samplesSeen: initial.samplesSeen, cpuSeconds: initial.cpuSeconds },
    strategies: results,
  };
}

function formatValue(value: number | null): string {
  return value === null ? '-' : value.toFixed(4);
}

/** Decision instants of a strategy: every period (2-3) or check interval (4) after warm-up. */
function decisionStepMs(strategy: RetrainStrategy): number | null {
  switch (strategy.kind) {
    case 'stage1':
      return null;
    case 'stage2':
    case 'stage3':
      return strategy.periodMs;
    case 'stage4':
      return parseDurationMs(strategy.continual.checkEvery)!;
  }
}

function replayStrategy(ctx: ReplayContext, strategy: RetrainStrategy, initial: ServingVersion): StrategyResult {
  const { history, spec, settings } = ctx;
  const n = historyRows(history);
  const predictions = new Float64Array(n).fill(Number.NaN);
  let serving = initial;
  let versions = 1;
  let scoredUpTo = firstAtOrAfter(history, ctx.firstScoredMs);
  const firstScoredRow = scoredUpTo;
  // Test-then-train: rows before `t` are scored by the version that served them before anything trains at `t`.
  const scoreUntil = (t: number) => {
    const hi = firstAtOrAfter(history, t);
    if (hi > scoredUpTo) predictions.set(predictTabular(serving.trained.model, frameOfRows(history, scoredUpTo, hi)), scoredUpTo);
    scoredUpTo = Math.max(scoredUpTo, hi);
  };

  const events: RetrainEvent[] = [];
  const retrains = { total: 0, stateless: 0, stateful: 0, rejected: 0, failed: 0 };
  const compute = { samplesProcessed: 0, cpuSeconds: 0, trainingRows: 0 };
  const admission: AdmissionState = { lastTriggeredMs: null, startedPerDay: {} };
  const checks = strategy.kind === 'stage4' ? { run: 0, fired: 0, notAdmitted: 0 } : null;
  const windowDays = strategy.windowDays ?? spec.data.windowDays;
  const recalibrateEvery = strategy.kind === 'stage3' || strategy.kind === 'stage4' ? strategy.recalibrateEvery : 7;

  // Stateful updates tried since a full retrain that the gate rejected (null: none pending), as
  // activities/plan.ts reads it from lineage.
  let sinceFailedRecalibration: number | null = null;
  const retrain = (t: number, trigger: string, signals?: string): RetrainEvent['outcome'] => {
    scoreUntil(t);
    const facts: ChampionFacts = {
      versionId: serving.id,
      version: serving.id,
      architectureHash: ctx.architecture,
      artifactUri: `backtest://${serving.id}`,
      checkpointUri: `backtest://${serving.id}/checkpoint`,
      highWaterMark: new Date(serving.trained.highWaterMarkMs).toISOString(),
      samplesSeen: serving.trained.samplesSeenTotal,
      statefulChainLength: serving.chain,
      ...(sinceFailedRecalibration !== null ? { statefulUpdatesSinceFailedRecalibration: sinceFailedRecalibration } : {}),
    };
    const plan = planTraining({ stage: stageOf(strategy), architectureHash: ctx.architecture, recalibrateEvery, champion: facts, trainerSupportsWarmStart: true });
    // The pull: [t − window, t) for a full retrain, (high-water mark, t) for a stateful update.
    const lo = plan.mode === 'stateful' ? firstAfter(history, serving.trained.highWaterMarkMs) : firstAtOrAfter(history, t - windowDays * DAY_MS);
    const hi = firstAtOrAfter(history, t);
    const base = { at: new Date(t).toISOString(), mode: plan.mode, planReason: plan.reason, trigger, ...(signals ? { signals } : {}) };
    let candidate: WindowTraining;
    try {
      candidate = trainOnWindow({ history, spec, lo, hi, mode: plan.mode, parent: plan.mode === 'stateful' ? serving.trained : undefined });
    } catch (error) {
      if (!(error instanceof WindowTrainingError)) throw error;
      retrains.failed++;
      events.push({ ...base, outcome: 'failed', detail: `${error.failure}: ${error.message}`, rows: hi - lo, samplesSeen: 0, cpuSeconds: 0 });
      return 'failed';
    }
    compute.samplesProcessed += candidate.samplesSeen;
    compute.cpuSeconds += candidate.cpuSeconds;
    compute.trainingRows += candidate.rows.train;
    const verdict = settings.gate ? judgeBacktestCandidate(spec, candidate, serving.trained) : { promote: true, reason: 'promoted (no gate replayed)' };
    if (plan.mode === 'stateless') sinceFailedRecalibration = verdict.promote ? null : 0;
    else if (sinceFailedRecalibration !== null) sinceFailedRecalibration++;
    const event: RetrainEvent = { ...base, outcome: verdict.promote ? 'promoted' : 'rejected', rows: candidate.rows.pulled, samplesSeen: candidate.samplesSeen, cpuSeconds: candidate.cpuSeconds };
    if (settings.gate) event.detail = verdict.reason;
    events.push(event);
    if (!verdict.promote) {
      retrains.rejected++;
      return 'rejected';
    }
    retrains.total++;
    retrains[plan.mode]++;
    versions++;
    serving = { id: `v${versions}`, trained: candidate.trained, trainedAtMs: t, chain: plan.mode === 'stateful' ? serving.chain + 1 : 0 };
    return 'promoted';
  };

  const step = decisionStepMs(strategy);
  let lastVersionMs = initial.trainedAtMs;
  if (step !== null) {
    for (let t = ctx.firstScoredMs + step; t < ctx.endMs; t += step) {
      if (strategy.kind !== 'stage4') {
        retrain(t, 'schedule');
        continue;
      }
      const { continual } = strategy;
      checks!.run++;
      const signals = measureSignals({ history, nowMs: t, continual, champion: serving.trained, lastTrainedMs: lastVersionMs, driftPolicy: spec.monitoring?.drift });
      const reason = triggerReason(signals);
      if (!reason) continue;
      checks!.fired++;
      // A replayed retrain finishes before the next check, so "one retrain at a time" never blocks.
      const admitted = admitRetrain(admission, t, parseDurationMs(continual.cooldown)!, continual.dailyBudget, false);
      if (!admitted.admit) {
        checks!.notAdmitted++;
        continue;
      }
      // As the continual workflow records it: the last start and today's count only.
      admission.lastTriggeredMs = t;
      admission.startedPerDay = { [utcDay(t)]: (admission.startedPerDay[utcDay(t)] ?? 0) + 1 };
      // The time trigger counts from the newest registered version, rejected candidates included.
      const fired = signals.filter((s) => s.fired).map((s) => `${s.kind}: ${s.detail}`).join('; ');
      if (retrain(t, reason, fired) !== 'failed') lastVersionMs = t;
    }
  }
  scoreUntil(ctx.endMs);

  const daily = dailyMetric(ctx, predictions);
  const direction = METRIC_DIRECTIONS[settings.metric];
  const recovery = recoveries(daily, settings.onsets, { epsilon: settings.recoveryEpsilon, baselineDays: settings.baselineDays, direction });
  const scored = n - firstScoredRow;
  return {
    name: strategy.name,
    source: strategy.source,
    kind: strategy.kind,
    prequential: { metric: settings.metric, value: metricOn(spec.task as Task, settings.metric, history.labels.subarray(firstScoredRow), predictions.subarray(firstScoredRow)), rows: scored, daily },
    retrains,
    compute,
    recovery,
    meanDaysToRecover: meanDaysToRecover(recovery),
    checks,
    events,
  };
}

function metricOn(task: Task, metric: MetricName, labels: ArrayLike<number>, predictions: ArrayLike<number>): number | null {
  if (labels.length === 0) return null;
  return computeMetrics(task, labels, predictions, { metrics: [metric] })[metric] ?? null;
}

function dailyMetric(ctx: ReplayContext, predictions: Float64Array): DailyPoint[] {
  const { history, settings } = ctx;
  const startMs = historyStartMs(history);
  const out: DailyPoint[] = [];
  for (let dayStart = ctx.firstScoredMs; dayStart < ctx.endMs; dayStart += DAY_MS) {
    const lo = firstAtOrAfter(history, dayStart);
    const hi = firstAtOrAfter(history, dayStart + DAY_MS);
    out.push({
      day: Math.round((dayStart - startMs) / DAY_MS),
      date: new Date(dayStart).toISOString().slice(0, 10),
      rows: hi - lo,
      value: metricOn(ctx.spec.task as Task, settings.metric, history.labels.subarray(lo, hi), predictions.subarray(lo, hi)),
    });
  }
  return out;
}
