// Monitoring step: computes one window's signals for a model — feature drift, prediction drift,
// label drift once labels arrive, performance on the labelled rows, each also per slice — against a
// fixed reference (the champion's training snapshot by default), stores them as a time series in
// monitoring_signals (a re-run of the same window replaces its rows), refreshes the model's
// monitoring report and returns a small summary. The window and drift policy default to the spec's
// monitoring section. Also the stage-4 drift and performance triggers' measurements, each of which
// stores its check's window signals in the same table (its own series), so continual checks build
// the time series without anyone running `flywheel monitor`.
import { Context } from '@temporalio/activity';
import type { TriggerSignal } from '../lifecycle/triggers';
import { hasServedPredictions, readSeries, storeWindowSignals, streamLatestLabelledRows, streamServedRows } from '../lineage/monitoring';
import { computeDriftReport, type DriftFeature } from '../monitoring/drift-report';
import { ingestRows } from '../monitoring/ingest';
import { defaultPerformanceRules, performanceSignals } from '../monitoring/performance';
import { loadReference, ReferenceError, type LoadedReference } from '../monitoring/reference';
import { renderMonitoringReport } from '../monitoring/report-html';
import type { SignalKind, SignalRow } from '../monitoring/signal-row';
import { slicesFromSpec } from '../monitoring/slice-keys';
import { computeWindowSignals, DEFAULT_DRIFT_SHARE, driftTriggerRows, driftTriggerSignal, firedLines, performanceTriggerSignal } from '../monitoring/signals';
import { driftPolicyProblems, parseDriftPolicy, type DriftPolicy } from '../monitoring/thresholds';
import {
  MonitoringAccumulator,
  parseReferenceSpec,
  parseWindowSpec,
  seriesName,
  WindowSpecError,
  windowLabel,
  type MonitoredTask,
  type ProductionWindowSpec,
  type ReferenceSpec,
} from '../monitoring/windows';
import { createMatrix } from '../ml/dataset-matrix';
import { OnnxModel } from '../ml/onnx-runtime';
import { parseDurationMs } from '../spec/data-spec';
import { PERFORMANCE_TRIGGER_METRICS, type PerformanceTriggerMetric } from '../spec/lifecycle-spec';
import { featureLayout, parseModelSpec, type ModelSpec } from '../spec/model-spec';
import { FailureType } from '../workflows/failure-types';
import { elapsedSince, type ActivityDeps } from './deps';
import { badInput } from './failures';

export interface MonitoringRequest {
  modelName: string;
  /** The end of the production window (the workflow's clock, so a re-run computes the same window). */
  nowIso: string;
  /**
   * { rows: 2000 } (the latest N served rows) or { duration: "1d" }; text "2000" / "1d" also works.
   * Unset: the spec's monitoring.window, else "1d".
   */
  window?: ProductionWindowSpec | string;
  /** "training" (default): the champion's training snapshot; "window": referenceWindow of the log. */
  referenceKind?: 'training' | 'window';
  referenceWindow?: { start: string; end: string };
  /**
   * Drift decision policy (monitoring/thresholds.ts); replaces the spec's monitoring.drift for this
   * window. Unset: the spec's monitoring.drift, else the defaults (distances above 1000 rows, tests below).
   */
  policy?: DriftPolicy;
  /** Random projections of the numeric features (default 4; 0 turns them off). */
  projections?: number;
  /** Refresh reports/<model>/monitoring.html (default true). */
  report?: boolean;
  /** Rows kept per window (default 100,000): memory is bounded by this, not by the window's size. */
  capacity?: number;
}

export interface FiredSignalSummary {
  kind: SignalKind;
  feature: string;
  slice: string;
  statistic: string;
  value: number | null;
  threshold: number | null;
}

export interface MonitoringSummary {
  modelName: string;
  series: string;
  window: { start: string; end: string; rows: number; labelledRows: number; versions: Record<string, number> };
  reference: { kind: ReferenceSpec['kind']; description: string; rows: number; labelledRows: number };
  shareDrifted: number;
  driftedFeatures: string[];
  /** Signal kinds with at least one fired signal over the whole window (slices excluded). */
  firedKinds: SignalKind[];
  /** Signal kinds with a fired signal in some slice. */
  firedInSlices: SignalKind[];
  /** Up to 20 fired signals, whole-window first, one line each. */
  fired: string[];
  /** The whole-window performance metrics on the labelled rows (null: no labels yet). */
  performance: Record<string, number | null> | null;
  /** Stage-4 view of the window: the drift share and the performance metric, each with value, threshold, fired. */
  triggerSignals: TriggerSignal[];
  /** Where the drift policy came from: the request (--policy), the spec's monitoring.drift, or the defaults. */
  policySource: 'request' | 'spec' | 'default';
  signalsStored: number;
  reportUri: string | null;
  notes: string[];
  elapsedMs: number;
}

/** Heartbeats with progress when running inside an activity; a no-op in scripts and tests. */
function heartbeater(): (details: Record<string, unknown>) => void {
  let context: Context | undefined;
  try {
    context = Context.current();
  } catch {
    return () => {};
  }
  return (details) => context!.heartbeat(details);
}

function monitoredTask(spec: ModelSpec): MonitoredTask {
  if (spec.task === 'binary_classification' || spec.task === 'regression') return spec.task;
  throw badInput(FailureType.InvalidSpec, `model "${spec.name}" is ${spec.task}: monitoring covers binary_classification and regression models`);
}

function driftFeatures(spec: ModelSpec): DriftFeature[] {
  return spec.features.map((f) => ({ name: f.name, kind: f.type }));
}

/** Model features first (their order is the alias order), then slice and cohort features not among them. */
function columnsToRead(spec: ModelSpec): string[] {
  const names = spec.features.map((f) => f.name);
  const slices = spec.evaluation.slices;
  const extra = [...slices.features, ...slices.cohorts.flatMap((c) => (Array.isArray(c.where) ? c.where : [c.where]).map((w) => w.feature))];
  for (const name of extra) if (!names.includes(name)) names.push(name);
  return names;
}

interface ParsedRequest {
  now: Date;
  nowIso: string;
  /** Undefined: the spec's monitoring.window decides (resolveSettings). */
  window: ProductionWindowSpec | undefined;
  reference: ReferenceSpec;
  policy: DriftPolicy | undefined;
}

/** Validates the request before anything is read; every problem is a non-retryable InvalidSpec naming the field. */
function parseRequest(request: MonitoringRequest): ParsedRequest {
  const now = new Date(request.nowIso);
  if (Number.isNaN(now.getTime())) throw badInput(FailureType.InvalidSpec, `nowIso ${JSON.stringify(request.nowIso)} is not a time: use ISO 8601`);
  let window: ProductionWindowSpec | undefined;
  let reference: ReferenceSpec;
  try {
    window = request.window === undefined ? undefined : parseWindowSpec(request.window);
    reference = parseReferenceSpec(request.referenceKind, request.referenceWindow);
  } catch (error) {
    if (error instanceof WindowSpecError) throw badInput(FailureType.InvalidSpec, `monitoring "${request.modelName}": ${error.message}`);
    throw error;
  }
  let policy: DriftPolicy | undefined;
  try {
    policy = request.policy === undefined ? undefined : parseDriftPolicy(request.policy);
  } catch (error) {
    // parseDriftPolicy lists every problem on its own line; one line reads better in a failure.
    throw badInput(FailureType.InvalidSpec, `monitoring "${request.modelName}": ${(error as Error).message.replace(/\n\s*/g, ' ')}`);
  }
  return { now, nowIso: now.toISOString(), window, reference, policy };
}

/** The summary's view of the signals: what drifted and fired, the metrics (small enough for a workflow history). */
function summarizeSignals(signals: readonly SignalRow[]): Pick<MonitoringSummary, 'shareDrifted' | 'driftedFeatures' | 'firedKinds' | 'firedInSlices' | 'fired' | 'performance'> {
  const overall = signals.filter((s) => s.slice === '');
  const performanceRows = overall.filter((s) => s.kind === 'performance');
  return {
    shareDrifted: overall.find((s) => s.kind === 'drift_share')?.value ?? 0,
    driftedFeatures: overall.filter((s) => s.kind === 'feature_drift' && s.fired).map((s) => s.feature),
    firedKinds: [...new Set(overall.filter((s) => s.fired).map((s) => s.kind))],
    firedInSlices: [...new Set(signals.filter((s) => s.fired && s.slice !== '').map((s) => s.kind))],
    fired: firedLines(signals),
    performance: performanceRows.length ? Object.fromEntries(performanceRows.map((s) => [s.statistic, s.value])) : null,
  };
}

/** The window `flywheel monitor` uses when neither the command nor the spec names one. */
export const DEFAULT_MONITORING_WINDOW = '1d';

/** The window and policy a computation uses: the request's, else the spec's monitoring section, else the defaults. */
function resolveSettings(request: MonitoringRequest, parsed: ParsedRequest, spec: ModelSpec): { window: ProductionWindowSpec; policy: DriftPolicy | undefined; policySource: MonitoringSummary['policySource'] } {
  let window = parsed.window;
  if (!window) {
    try {
      window = parseWindowSpec(spec.monitoring?.window ?? DEFAULT_MONITORING_WINDOW);
    } catch (error) {
      if (error instanceof WindowSpecError) throw badInput(FailureType.InvalidSpec, `model "${spec.name}" monitoring.${error.message}`);
      throw error;
    }
  }
  if (parsed.policy) {
    const problems = driftPolicyProblems(parsed.policy, spec.features, spec.task);
    if (problems.length) {
      throw badInput(FailureType.InvalidSpec, `monitoring "${request.modelName}": invalid drift policy: ${problems.map(([path, message]) => `${path.join('.')}: ${message}`).join('; ')}`);
    }
    return { window, policy: parsed.policy, policySource: 'request' };
  }
  const fromSpec = spec.monitoring?.drift;
  return { window, policy: fromSpec, policySource: fromSpec ? 'spec' : 'default' };
}


function referenceFailure(error: unknown): unknown {
  if (!(error instanceof ReferenceError)) return error;
  const type = error.reason === 'no_champion' ? FailureType.InsufficientData : error.reason === 'empty' ? FailureType.EmptyDataWindow : FailureType.CorruptArtifact;
  return badInput(type, error.message);
}

export function monitoringActivities(deps: ActivityDeps) {
  const { db, store } = deps;

  async function loadSpec(modelName: string): Promise<ModelSpec> {
    const model = await db.selectFrom('models').select('spec').where('name', '=', modelName).executeTakeFirst();
    if (!model) throw badInput(FailureType.UnknownModel, `unknown model "${modelName}": apply its spec first (flywheel models apply <spec.json>)`);
    return parseModelSpec(model.spec);
  }

  return {
    async computeMonitoring(request: MonitoringRequest): Promise<MonitoringSummary> {
      const started = performance.now();
      const beat = heartbeater();
      const parsed = parseRequest(request);
      const { now, nowIso, reference } = parsed;
      const spec = await loadSpec(request.modelName);
      const task = monitoredTask(spec);
      const { window, policy, policySource } = resolveSettings(request, parsed, spec);
      const layout = featureLayout(spec.features);
      const columns = columnsToRead(spec);
      const slices = slicesFromSpec(spec.evaluation.slices);
      const accumulator = (seed: number) => new MonitoringAccumulator({ numeric: layout.numeric, categorical: layout.categorical, task, slices, capacity: request.capacity, seed });

      let ref: LoadedReference;
      try {
        ref = await loadReference({
          db,
          store,
          modelName: request.modelName,
          layout,
          columns,
          accumulator: accumulator(1),
          nowIso,
          reference,
          onProgress: (rows) => beat({ step: 'reference', rows }),
          cacheKey: JSON.stringify({ layout, columns, task, slices, capacity: request.capacity ?? null, seed: 1 }),
        });
      } catch (error) {
        throw referenceFailure(error);
      }

      const durationMs = 'duration' in window ? parseDurationMs(window.duration)! : null;
      const current = accumulator(2);
      const ingested = await ingestRows(
        streamServedRows(db, {
          modelName: request.modelName,
          features: columns,
          end: nowIso,
          start: durationMs === null ? undefined : new Date(now.getTime() - durationMs).toISOString(),
          limit: 'rows' in window ? window.rows : undefined,
          labelsAsOf: nowIso,
        }),
        columns,
        current,
        (rows) => beat({ step: 'window', rows }),
      );
      if (ingested.rows === 0) {
        throw badInput(FailureType.EmptyDataWindow, `no served predictions of model "${request.modelName}" in the window ${windowLabel(window)} before ${nowIso}: is the service logging to prediction_log?`);
      }
      const windowStart = durationMs === null ? new Date(ingested.firstMs!).toISOString() : new Date(now.getTime() - durationMs).toISOString();
      const sample = current.toSample();

      const triggers = spec.continual?.triggers;
      const driftShareThreshold = triggers?.drift?.shareDrifted ?? DEFAULT_DRIFT_SHARE;
      const primaryMetric = triggers?.performance?.metric ?? spec.evaluation.primaryMetric?.name ?? (task === 'binary_classification' ? 'auc' : 'rmse');
      const computed = computeWindowSignals({
        reference: ref.sample,
        current: sample,
        features: driftFeatures(spec),
        task,
        policy,
        projections: (request.projections ?? 4) > 0 ? { count: request.projections ?? 4, seed: 7 } : null,
        driftShareThreshold,
        performance: defaultPerformanceRules(task, {
          primaryMetric,
          bound: triggers?.performance ? { metric: triggers.performance.metric, bound: triggers.performance.bound } : undefined,
          threshold: spec.evaluation.metricOptions.threshold,
        }),
        minSliceRows: slices.minRows,
      });

      const series = seriesName(reference, window);
      const signalsStored = await storeWindowSignals(db, { modelName: request.modelName, series, windowStart, windowEnd: nowIso }, computed.signals);
      const context = `window ${windowLabel(window)} ending ${nowIso} (${ingested.rows} rows) vs ${ref.description}`;
      const triggerSignals = [driftTriggerSignal(computed.report, driftShareThreshold, context), performanceTriggerSignal(computed.signals, primaryMetric, context)];
      const notes = [...ref.notes, ...computed.notes];
      const others = Object.keys(ingested.versions).filter((v) => v !== ref.versionId);
      if (ref.versionId && others.length) {
        // A canary or A/B arm shares the window: prediction drift and performance describe the mix.
        notes.push(`the window mixes versions (${Object.entries(ingested.versions).map(([v, n]) => `${v}: ${n} rows`).join(', ')}); the reference is ${ref.versionId}'s`);
      }

      let reportUri: string | null = null;
      if (request.report !== false) {
        const history = await readSeries(db, request.modelName, series);
        reportUri = await store.put(
          `reports/${request.modelName}/monitoring.html`,
          renderMonitoringReport({ modelName: request.modelName, series, referenceDescription: ref.description, rows: history, triggerSignals, notes, generatedAt: nowIso }),
          { contentType: 'text/html' },
        );
      }

      return {
        modelName: request.modelName,
        series,
        window: { start: windowStart, end: nowIso, rows: ingested.rows, labelledRows: current.labelledRows, versions: ingested.versions },
        reference: { kind: reference.kind, description: ref.description, rows: ref.rows, labelledRows: ref.labelledRows },
        ...summarizeSignals(computed.signals),
        triggerSignals,
        policySource,
        signalsStored,
        reportUri,
        notes,
        elapsedMs: elapsedSince(started),
      };
    },
  };
}

export interface DriftTriggerRequest {
  modelName: string;
  spec: ModelSpec;
  nowIso: string;
  rule: { shareDrifted: number; windowRows: number };
}

/** Fewer rows than this make a drift share meaningless. */
const MIN_DRIFT_ROWS = 50;

/**
 * The series a stage-4 trigger's windows are stored under in monitoring_signals: one per trigger
 * and window definition, apart from `flywheel monitor`'s series ("ref=...;window=..."), so a
 * check never replaces the rows of a monitoring window that ends at the same instant.
 */
export function triggerSeriesName(trigger: 'drift' | 'performance', window: string): string {
  return trigger === 'drift' ? `trigger=drift;ref=training;window=${window}` : `trigger=performance;window=${window}`;
}

/**
 * The stage-4 drift trigger's measurement: the share of the model's features that drifted on the
 * latest `windowRows` served rows (or, for a model that logs no predictions, its latest labelled
 * rows) against the champion's training snapshot, under the spec's monitoring.drift policy (the
 * defaults when unset). Stores the window's signals (per-feature drift and the share, with value,
 * threshold, fired) in monitoring_signals under triggerSeriesName('drift', ...), keyed by the
 * check's time, so a retried check replaces its rows. Never throws for missing data: a model with
 * no champion or too few rows gets a signal that did not fire and says why (nothing is stored).
 */
export async function evaluateDriftTrigger(deps: ActivityDeps, request: DriftTriggerRequest): Promise<TriggerSignal> {
  const { db, store } = deps;
  const { spec, rule } = request;
  const threshold = rule.shareDrifted;
  const layout = featureLayout(spec.features);
  const names = [...layout.numeric, ...layout.categorical];
  const task: MonitoredTask = spec.task === 'regression' ? 'regression' : 'binary_classification';
  const policy = spec.monitoring?.drift;
  const accumulator = (seed: number) => new MonitoringAccumulator({ numeric: layout.numeric, categorical: layout.categorical, task, seed });
  let ref: LoadedReference;
  try {
    ref = await loadReference({
      db,
      store,
      modelName: request.modelName,
      layout,
      columns: names,
      accumulator: accumulator(1),
      nowIso: request.nowIso,
      reference: { kind: 'training' },
      scorePredictions: false,
      cacheKey: JSON.stringify({ layout, task, trigger: true }),
    });
  } catch (error) {
    if (error instanceof ReferenceError) return { kind: 'drift', fired: false, value: null, threshold, detail: error.message };
    throw error;
  }
  const logged = await hasServedPredictions(db, request.modelName, request.nowIso);
  const query = { modelName: request.modelName, features: names, end: request.nowIso };
  const current = accumulator(2);
  const ingested = await ingestRows(
    logged ? streamServedRows(db, { ...query, limit: rule.windowRows, labelsAsOf: request.nowIso }) : streamLatestLabelledRows(db, { ...query, limit: rule.windowRows }),
    names,
    current,
  );
  const source = logged ? 'served rows of the prediction log' : 'labelled rows (the model logs no predictions)';
  if (ingested.rows < MIN_DRIFT_ROWS) {
    return { kind: 'drift', fired: false, value: null, threshold, detail: `only ${ingested.rows} ${source} before ${request.nowIso} (a drift check needs ${MIN_DRIFT_ROWS})` };
  }
  const sample = current.toSample();
  const sizeOf = (s: typeof sample, f: DriftFeature) =>
    f.kind === 'numeric' ? (s.features.columns.numeric[f.name]?.length ?? 0) : ((s.features.columns.categorical[f.name] as { total: number } | undefined)?.total ?? 0);
  const all = driftFeatures(spec);
  const features = all.filter((f) => sizeOf(ref.sample, f) > 0 && sizeOf(sample, f) > 0);
  const missing = all.filter((f) => !features.includes(f)).map((feature) => ({ feature, nRef: sizeOf(ref.sample, feature), nCur: sizeOf(sample, feature) }));
  const dropped = missing.map((m) => m.feature.name);
  const context =
    `the latest ${ingested.rows} ${source} vs ${ref.description}` +
    `${policy ? '; policy: the spec\'s monitoring.drift' : ''}${dropped.length ? `; not compared (no values in a window): ${dropped.join(', ')}` : ''}`;
  const report = features.length === 0 ? null : computeDriftReport({ reference: ref.sample.features.columns, current: sample.features.columns, features, policy, informationalKsMethod: 'asymp' });
  const signal = driftTriggerSignal(report, threshold, context);
  await storeWindowSignals(
    db,
    {
      modelName: request.modelName,
      series: triggerSeriesName('drift', `${logged ? 'rows' : 'labelled-rows'}:${rule.windowRows}`),
      windowStart: new Date(ingested.firstMs!).toISOString(),
      windowEnd: request.nowIso,
    },
    driftTriggerRows(report, signal, { nRef: ref.rows, nCur: ingested.rows }, missing),
  );
  return signal;
}

export interface PerformanceTriggerRequest {
  modelName: string;
  spec: ModelSpec;
  nowIso: string;
  /** The champion: its model scores the rows; rows after its high-water mark count. */
  champion: { id: string; artifactUri: string; highWaterMark: Date };
  rule: { metric: PerformanceTriggerMetric; bound: number; windowRows: number };
}

/** Production scores the champion only on at least this many labelled rows (lifecycle/backtest/signals.ts mirrors it). */
export const MIN_PERFORMANCE_ROWS = 50;

/** A jsonb feature value as the model's categorical input: strings as they are, numbers and booleans as text, anything else missing. */
function categoryOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

/**
 * The stage-4 performance trigger's measurement: the champion re-scored (OnnxModel.run, numeric
 * and categorical inputs, as the monitoring reference is scored) on the latest `windowRows`
 * labelled rows after its high-water mark and before now, judged by monitoring's performance
 * signal with the spec's bound: a higher-is-better metric (auc, accuracy) fires below it, an
 * error metric (log_loss, mae, rmse) above it. Stores every metric of the task for that window in
 * monitoring_signals under triggerSeriesName('performance', ...), keyed by the check's time (a
 * retry replaces its rows). Too few rows, or a metric that does not fit the task: a signal that
 * did not fire and says why (nothing stored).
 */
export async function evaluatePerformanceTrigger(deps: ActivityDeps, request: PerformanceTriggerRequest): Promise<TriggerSignal> {
  const { db, store } = deps;
  const { spec, rule, champion } = request;
  const notFired = (detail: string): TriggerSignal => ({ kind: 'performance', fired: false, value: null, threshold: rule.bound, detail });
  if (spec.task !== 'binary_classification' && spec.task !== 'regression') return notFired(`the performance trigger scores binary_classification and regression models, not ${spec.task}`);
  const task: MonitoredTask = spec.task;
  if (PERFORMANCE_TRIGGER_METRICS[rule.metric].task !== task) {
    return notFired(`${rule.metric} does not score ${task} models: set continual.triggers.performance.metric to ${task === 'regression' ? 'mae or rmse' : 'auc, accuracy or log_loss'}`);
  }
  const rows = await db
    .selectFrom('labelled_examples')
    .select(['features', 'label', 'event_time'])
    .where('model_name', '=', request.modelName)
    .where('event_time', '>', champion.highWaterMark)
    .where('event_time', '<', new Date(request.nowIso))
    .orderBy('event_time', 'desc')
    .orderBy('id', 'desc')
    .limit(rule.windowRows)
    .execute();
  if (rows.length < MIN_PERFORMANCE_ROWS) return notFired(`not enough labelled rows to score the champion (${rows.length}; the trigger needs ${MIN_PERFORMANCE_ROWS})`);

  const model = await OnnxModel.load(await store.get(champion.artifactUri));
  let scores: Float64Array;
  try {
    const numeric = [...(model.featureNames ?? featureLayout(spec.features).numeric)];
    const data = new Float64Array(rows.length * numeric.length);
    rows.forEach((row, i) => numeric.forEach((name, j) => (data[i * numeric.length + j] = Number((row.features as Record<string, unknown>)[name]))));
    const categorical = Object.fromEntries(model.categoricalFeatures.map((name) => [name, rows.map((row) => categoryOf((row.features as Record<string, unknown>)[name]))]));
    const output = await model.run({ numeric: createMatrix(numeric, rows.length, data), categorical });
    // The first output column: P(y = 1) for binary models, the prediction for regression.
    const width = output.dims[1] ?? 1;
    scores = Float64Array.from({ length: rows.length }, (_, i) => output.data[i * width]);
  } finally {
    await model.release();
  }
  const pairs = { labels: Float64Array.from(rows, (r) => Number(r.label)), predictions: scores };
  const rules = defaultPerformanceRules(task, { bound: { metric: rule.metric, bound: rule.bound }, threshold: spec.evaluation.metricOptions.threshold, minRows: MIN_PERFORMANCE_ROWS });
  const context = `the champion ${champion.id} on the latest ${rows.length} labelled rows after its high-water mark`;
  let signals: SignalRow[];
  try {
    signals = performanceSignals({ task, reference: null, current: pairs, rules });
  } catch (error) {
    // Scores that are not probabilities make log loss undefined: say so rather than fail every check.
    return notFired(`${rule.metric} cannot be computed on ${context}: ${(error as Error).message}`);
  }
  const signal = performanceTriggerSignal(signals, rule.metric, context);
  await storeWindowSignals(
    db,
    {
      modelName: request.modelName,
      series: triggerSeriesName('performance', `labelled-rows:${rule.windowRows}`),
      windowStart: new Date(rows[rows.length - 1].event_time).toISOString(),
      windowEnd: request.nowIso,
    },
    signals,
  );
  return signal;
}
