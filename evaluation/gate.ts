// The champion/challenger gate: judges a candidate's predictions (and its behavioural and
// operational results) against the evaluation spec and returns the report card with a pass / fail /
// needs_approval decision, every failed rule named in its reasons. Pure and synchronous: the
// behavioural tests and budget measurements, which need the model, are run beforehand.
import {
  calibrationBins,
  computeMetrics,
  METRIC_DIRECTIONS,
  metricsForTask,
  type MetricDirection,
  type MetricName,
  type MetricOptions,
  type Task,
} from '../ml/metrics';
import type { BehaviouralResult } from './behavioural';
import { bootstrapMetrics, pairedBootstrap, type ConfidenceInterval } from './bootstrap';
import { checkBudgets, hasBudgetLimits, type OperationalMeasurements } from './budgets';
import { REPORT_CARD_SCHEMA_VERSION, type MetricRow, type ReportCard, type ReportCheck, type SliceRow } from './report-card';
import { evaluateSlices, type SliceColumns } from './slices';
import {
  evaluationSpecProblems,
  InvalidEvaluationSpecError,
  parseEvaluationSpec,
  resolvePrimaryMetric,
  type EvaluationSpec,
  type EvaluationSpecInput,
  type RegressionBound,
} from './spec';

export interface JudgeInput {
  /** The model spec's `evaluation` field, raw or parsed (it is validated and defaulted here). */
  spec: EvaluationSpecInput | EvaluationSpec;
  task: Task;
  /** Labels of the evaluation rows (0/1, or targets for regression). */
  labels: ArrayLike<number>;
  /** The candidate's predictions on those rows. */
  candidate: ArrayLike<number>;
  /** The champion's predictions on the SAME rows, in the same order; absent for a first model. */
  champion?: ArrayLike<number>;
  /**
   * A champion exists but its artifact could not be loaded (missing from the store, or corrupt:
   * onnxruntime cannot load it), so it could not be scored. This is not "no champion": every
   * comparison the spec asks for (each max_regression rule, the default one on the primary metric
   * included) cannot be shown to hold and fails, naming the champion, its artifact and the error.
   * Give it instead of `champion`, never with it.
   */
  unloadableChampion?: UnloadableChampion;
  /** Columns to slice by (spec.slices.features and the cohorts' features), one value per row. */
  sliceColumns?: SliceColumns;
  /** Results of the spec's behavioural tests (runBehaviouralTests). */
  behavioural?: readonly BehaviouralResult[];
  /** Operational measurements of the candidate (measureOperationalMetrics). */
  budgets?: OperationalMeasurements;
  candidateId?: string;
  championId?: string;
  /** Which rows these are; default { name: 'validation', kind: 'backtest' }. */
  evaluationSet?: { name: string; kind: 'static' | 'backtest' };
  /** Timestamp of the card (tests pass a fixed one). */
  now?: Date;
}

export interface UnloadableChampion {
  /** The champion's version id, e.g. "ctr@v3". */
  id: string;
  /** Its artifact's URI as lineage records it. */
  artifactUri: string;
  /** Why it could not be loaded: the store's or onnxruntime's message. */
  error: string;
}

export function judgeCandidate(input: JudgeInput): ReportCard {
  const spec = parseEvaluationSpec(input.spec);
  const problems = evaluationSpecProblems(spec, input.task);
  if (problems.length > 0) throw new InvalidEvaluationSpecError(problems);
  const { task, labels, candidate, champion, unloadableChampion } = input;
  if (champion && unloadableChampion) {
    throw new Error(`judgeCandidate: champion predictions were given, but unloadableChampion says champion ${unloadableChampion.id} could not be loaded; give one or the other`);
  }
  if (champion && champion.length !== labels.length) {
    throw new Error(`judgeCandidate: ${labels.length} labels but ${champion.length} champion predictions; score the champion on the same rows`);
  }
  // Validates lengths, labels and probability ranges up front, naming the row at fault.
  computeMetrics(task, labels, candidate);
  if (champion) computeMetrics(task, labels, champion);

  const metricOptions: MetricOptions = { threshold: spec.metricOptions.threshold, eceBins: spec.metricOptions.eceBins };
  const primary = resolvePrimaryMetric(spec, task);
  const confidence = spec.bootstrap.confidence;
  const notes: string[] = [];
  const checks: ReportCheck[] = [];
  const metrics = metricRows(task, labels, candidate, champion, { ...spec.bootstrap, metricOptions });
  const byName = new Map(metrics.map((row) => [row.name, row]));

  checks.push(...floorChecks(spec, byName));
  checks.push(...regressionChecks(spec, primary.name, byName, champion !== undefined, unloadableChampion, confidence, notes));
  const slices = sliceChecks(input, spec, metricOptions, checks, notes);
  checks.push(...behaviouralChecks(spec, input.behavioural ?? [], notes));
  const budgetChecks = budgetSection(spec, input.budgets, checks, notes);

  const evaluationSet = { name: input.evaluationSet?.name ?? 'validation', kind: input.evaluationSet?.kind ?? 'backtest', rows: labels.length };
  if (evaluationSet.kind === 'backtest') {
    notes.push(`evaluated on "${evaluationSet.name}", a backtest on recent data: it does not replace a trusted static test set (a corrupted recent window would go unnoticed)`);
  }

  const { decision, reasons } = decide(spec, checks);
  return {
    schemaVersion: REPORT_CARD_SCHEMA_VERSION,
    decision,
    reasons,
    notes,
    generatedAt: (input.now ?? new Date()).toISOString(),
    task,
    candidateId: input.candidateId ?? null,
    championId: champion ? (input.championId ?? null) : null,
    hasChampion: champion !== undefined,
    evaluationSet,
    primaryMetric: primary,
    metrics,
    checks,
    slices,
    calibration:
      task === 'binary_classification'
        ? {
            bins: spec.metricOptions.eceBins,
            candidate: calibrationBins(labels, candidate, spec.metricOptions.eceBins),
            champion: champion ? calibrationBins(labels, champion, spec.metricOptions.eceBins) : null,
          }
        : null,
    behavioural: [...(input.behavioural ?? [])].map((r) => ({ ...r, measurements: { ...r.measurements } })),
    budgets: input.budgets ? { measurements: input.budgets, checks: budgetChecks } : null,
    approval: { required: spec.requireApproval, timeout: spec.approval.timeout, onTimeout: spec.approval.onTimeout },
    bootstrap: { method: 'percentile', paired: champion !== undefined, ...spec.bootstrap },
    spec,
  };
}

function metricRows(
  task: Task,
  labels: ArrayLike<number>,
  candidate: ArrayLike<number>,
  champion: ArrayLike<number> | undefined,
  options: { resamples: number; confidence: number; seed: number; metricOptions: MetricOptions },
): MetricRow[] {
  const names = metricsForTask(task);
  if (champion) {
    const paired = pairedBootstrap(labels, candidate, champion, names, options);
    return names.map((name) => ({
      name,
      direction: METRIC_DIRECTIONS[name],
      candidate: paired[name].candidate,
      champion: paired[name].champion,
      difference: paired[name].difference,
    }));
  }
  const single = bootstrapMetrics(labels, candidate, names, options);
  return names.map((name) => ({ name, direction: METRIC_DIRECTIONS[name], candidate: single[name], champion: null, difference: null }));
}

/** Floors are judged on the point estimate over all rows; an undefined metric fails (fail closed). */
function floorChecks(spec: EvaluationSpec, byName: Map<MetricName, MetricRow>): ReportCheck[] {
  return entries(spec.floors).map(([metric, floor]) => {
    const rule = `floor.${metric}`;
    const value = byName.get(metric)?.candidate.estimate ?? null;
    const higher = METRIC_DIRECTIONS[metric] === 'higher_is_better';
    const comparator = higher ? '>=' : '<=';
    if (value === null) return { rule, category: 'floor', status: 'fail', detail: `${metric} could not be computed on the evaluation rows (labels of one class?); the floor ${floor} cannot be shown to hold` };
    const ok = higher ? value >= floor : value <= floor;
    return {
      rule,
      category: 'floor',
      status: ok ? 'pass' : 'fail',
      detail: ok ? `${fmt(value)} ${comparator} floor ${floor}` : `${fmt(value)} ${higher ? 'below' : 'above'} the floor ${floor} (must be ${comparator} ${floor})`,
    };
  });
}

function regressionChecks(
  spec: EvaluationSpec,
  primary: MetricName,
  byName: Map<MetricName, MetricRow>,
  hasChampion: boolean,
  unloadable: UnloadableChampion | undefined,
  confidence: number,
  notes: string[],
): ReportCheck[] {
  const bounds = entries(spec.maxRegression);
  if (!hasChampion && unloadable) {
    // A champion serves, but it could not be scored: not a first model. Fail closed, like an
    // interval that cannot be computed, on every rule a champion would be judged by.
    const rules: Array<[MetricName, string]> = bounds.map(([metric]) => [metric, '']);
    if (!spec.maxRegression[primary]) rules.unshift([primary, ' [default rule]']);
    const what = `champion ${unloadable.id} exists but its artifact ${unloadable.artifactUri} could not be loaded (${unloadable.error})`;
    notes.push(
      `${what}: the candidate cannot be compared with it, so ${rules.map(([metric]) => `max_regression.${metric}`).join(', ')} fail (the gate fails closed); ` +
        'restore the artifact, or replace the champion by one whose artifact loads, then retrain',
    );
    return rules.map(([metric, suffix]) => ({
      rule: `max_regression.${metric}`,
      category: 'max_regression',
      status: 'fail',
      detail: `${what}: the candidate cannot be compared with it, so the bound cannot be shown to hold${suffix}`,
    }));
  }
  if (!hasChampion) {
    const skipped = bounds.map(([metric]) => `max_regression.${metric}`);
    notes.push(
      'no champion: there is nothing to compare with, so the gate judged floors, behavioural tests and budgets only' +
        (skipped.length > 0 ? `; skipped ${skipped.join(', ')}` : ''),
    );
    return bounds.map(([metric]) => ({ rule: `max_regression.${metric}`, category: 'max_regression', status: 'skipped', detail: 'no champion to compare with' }));
  }
  const all: Array<[MetricName, RegressionBound, boolean]> = bounds.map(([m, b]) => [m, b, false]);
  if (!spec.maxRegression[primary]) {
    all.unshift([primary, { absolute: 0 }, true]);
    notes.push(
      `max_regression.${primary} not set: defaulted to "not significantly worse than the champion" on the primary metric ` +
        `(allowed regression 0, ${pct(confidence)} paired bootstrap, significant_regression test)`,
    );
  }
  return all.map(([metric, bound, isDefault]) => {
    const row = byName.get(metric) as MetricRow;
    return judgeRegression({
      rule: `max_regression.${metric}`,
      category: 'max_regression',
      metric,
      direction: METRIC_DIRECTIONS[metric],
      difference: row.difference as ConfidenceInterval,
      championValue: row.champion?.estimate ?? null,
      bound,
      test: isDefault ? 'significant_regression' : spec.regressionTest,
      suffix: isDefault ? ' [default rule]' : '',
    });
  });
}

interface RegressionJudgement {
  rule: string;
  category: 'max_regression' | 'slice_bound';
  metric: MetricName;
  direction: MetricDirection;
  difference: ConfidenceInterval;
  championValue: number | null;
  bound: RegressionBound;
  test: 'significant_regression' | 'non_inferiority';
  suffix: string;
}

/**
 * d = candidate - champion with paired interval [lo, hi]; allowed regression m (see spec.ts).
 * Higher is better: significant_regression fails when hi < -m, non_inferiority when lo < -m.
 * Lower is better: significant_regression fails when lo > +m, non_inferiority when hi > +m.
 */
function judgeRegression(j: RegressionJudgement): ReportCheck {
  const { lower, upper, estimate, confidence } = j.difference;
  const base = { rule: j.rule, category: j.category };
  if (lower === null || upper === null || estimate === null) {
    return { ...base, status: 'fail', detail: `candidate - champion ${j.metric} could not be estimated (undefined on the rows or on too many resamples); the bound cannot be shown to hold${j.suffix}` };
  }
  const allowance = allowedRegression(j.bound, j.championValue);
  if (allowance === null) {
    return { ...base, status: 'fail', detail: `the relative bound needs the champion's ${j.metric}, which could not be computed${j.suffix}` };
  }
  const higher = j.direction === 'higher_is_better';
  const limit = higher ? -allowance.m : allowance.m;
  const interval = `candidate - champion = ${signed(estimate)} [${signed(lower)}, ${signed(upper)}] (${pct(confidence)} paired bootstrap)`;
  const side = higher ? 'below' : 'above';
  let failed: boolean;
  let why: string;
  if (j.test === 'significant_regression') {
    failed = higher ? upper < limit : lower > limit;
    why = `is ${failed ? 'entirely' : 'not significantly'} ${side} ${signed(limit)} (allowed regression ${allowance.text})`;
  } else {
    failed = higher ? lower < limit : upper > limit;
    why = failed
      ? `reaches ${side} ${signed(limit)}: a regression beyond the allowed ${allowance.text} cannot be ruled out (non-inferiority test)`
      : `lies within ${signed(limit)} (allowed regression ${allowance.text}, non-inferiority test)`;
  }
  return { ...base, status: failed ? 'fail' : 'pass', detail: `${interval} ${why}${j.suffix}` };
}

function allowedRegression(bound: RegressionBound, championValue: number | null): { m: number; text: string } | null {
  const options: Array<{ m: number; text: string }> = [];
  if (bound.absolute !== undefined) options.push({ m: bound.absolute, text: `${bound.absolute} absolute` });
  if (bound.relative !== undefined) {
    if (championValue === null) return null;
    const m = bound.relative * Math.abs(championValue);
    options.push({ m, text: `${pct(bound.relative)} of champion ${fmt(championValue)} = ${fmt(m)}` });
  }
  // Both given: the candidate must satisfy both, so the smaller allowance binds.
  return options.reduce((a, b) => (b.m < a.m ? b : a));
}

function sliceChecks(input: JudgeInput, spec: EvaluationSpec, metricOptions: MetricOptions, checks: ReportCheck[], notes: string[]): SliceRow[] {
  const { features, cohorts, minRows, maxDistinctValues } = spec.slices;
  const bounds = entries(spec.slices.maxRegression);
  if (features.length === 0 && cohorts.length === 0) {
    if (bounds.length > 0) notes.push('slices.maxRegression is set but no slice features or cohorts are declared: no slice was evaluated');
    return [];
  }
  if (!input.sliceColumns) {
    throw new Error(
      `judgeCandidate: the spec slices by ${[...features, ...cohorts.map((c) => `cohort ${c.name}`)].join(', ')} but no sliceColumns were given; ` +
        'pass the evaluation rows\' columns (columnsFromMatrix)',
    );
  }
  const hasChampion = input.champion !== undefined;
  const results = evaluateSlices({
    task: input.task,
    labels: input.labels,
    candidate: input.candidate,
    champion: input.champion,
    columns: input.sliceColumns,
    features,
    cohorts,
    minRows,
    maxDistinctValues,
    comparedMetrics: hasChampion ? bounds.map(([m]) => m) : [],
    metricOptions,
    bootstrap: spec.bootstrap,
  });
  const small = results.filter((s) => !s.gated).map((s) => `${s.key} (${s.rows} rows)`);
  if (small.length > 0) notes.push(`slices below minRows ${minRows}, reported but not gated: ${small.join(', ')}`);
  if (bounds.length === 0) notes.push(`${results.length} slices reported; no slices.maxRegression bounds set, so slices are not gated`);
  else if (!hasChampion && input.unloadableChampion) notes.push(`champion ${input.unloadableChampion.id} could not be loaded: slice bounds (slices.maxRegression) not judged`);
  else if (!hasChampion) notes.push('no champion: slice bounds (slices.maxRegression) skipped');
  for (const slice of results) {
    if (slice.note && slice.gated && slice.note.includes('undefined')) notes.push(`slice ${slice.key}: ${slice.note}`);
    if (!hasChampion || !slice.gated || !slice.differences) continue;
    for (const [metric, bound] of bounds) {
      const difference = slice.differences[metric];
      if (!difference) continue;
      checks.push(
        judgeRegression({
          rule: `slice_bound.${metric}[${slice.key}]`,
          category: 'slice_bound',
          metric,
          direction: METRIC_DIRECTIONS[metric],
          difference,
          championValue: slice.champion?.[metric] ?? null,
          bound,
          test: spec.regressionTest,
          suffix: ` [slice of ${slice.rows} rows]`,
        }),
      );
    }
  }
  return results.map((s) => ({ ...s }));
}

function behaviouralChecks(spec: EvaluationSpec, results: readonly BehaviouralResult[], notes: string[]): ReportCheck[] {
  const declared = new Set(spec.behavioural.map((t) => t.name));
  const undeclared = results.filter((r) => !declared.has(r.name)).map((r) => r.name);
  if (undeclared.length > 0) notes.push(`behavioural results not declared in the spec, reported but not gated: ${undeclared.join(', ')}`);
  return spec.behavioural.map((test) => {
    const rule = `behavioural.${test.name}`;
    const result = results.find((r) => r.name === test.name);
    if (!result) return { rule, category: 'behavioural', status: 'fail', detail: `${test.kind} test declared in the spec but no result was supplied (run runBehaviouralTests)` };
    if (result.kind !== test.kind) return { rule, category: 'behavioural', status: 'fail', detail: `result is a ${result.kind} test but the spec declares ${test.kind}` };
    return { rule, category: 'behavioural', status: result.passed ? 'pass' : 'fail', detail: `${test.kind}: ${result.detail}` };
  });
}

function budgetSection(
  spec: EvaluationSpec,
  measurements: OperationalMeasurements | undefined,
  checks: ReportCheck[],
  notes: string[],
): ReturnType<typeof checkBudgets> {
  if (!hasBudgetLimits(spec.budgets)) {
    if (measurements) notes.push('operational metrics measured but no budgets set: reported, not gated');
    return [];
  }
  if (!measurements) {
    checks.push({ rule: 'budget', category: 'budget', status: 'fail', detail: 'budgets are declared but no measurements were supplied (run measureOperationalMetrics)' });
    return [];
  }
  const budgetChecks = checkBudgets(measurements, spec.budgets!);
  for (const c of budgetChecks) checks.push({ rule: c.rule, category: 'budget', status: c.passed ? 'pass' : 'fail', detail: c.detail });
  return budgetChecks;
}

function decide(spec: EvaluationSpec, checks: ReportCheck[]): { decision: ReportCard['decision']; reasons: string[] } {
  const failed = checks.filter((c) => c.status === 'fail');
  const judged = checks.filter((c) => c.status !== 'skipped');
  if (failed.length > 0) return { decision: 'fail', reasons: failed.map((c) => `${c.rule}: ${c.detail}`) };
  const reasons: string[] = [];
  if (judged.length === 0) {
    const warning = 'no thresholds set: no floors, no champion to compare with, no behavioural tests and no budgets, so nothing was checked; set evaluation.floors to gate a first model';
    reasons.push(warning);
  } else {
    reasons.push(`all ${judged.length} checks passed: ${judged.map((c) => c.rule).join(', ')}`);
  }
  if (spec.requireApproval) {
    reasons.push(`approval required: a person must approve within ${spec.approval.timeout} (on timeout: ${spec.approval.onTimeout})`);
    return { decision: 'needs_approval', reasons };
  }
  return { decision: 'pass', reasons };
}

function entries<V>(record: Partial<Record<MetricName, V>>): Array<[MetricName, V]> {
  return (Object.entries(record) as Array<[MetricName, V | undefined]>).filter((e): e is [MetricName, V] => e[1] !== undefined);
}

function fmt(value: number): string {
  return value !== 0 && Math.abs(value) < 1e-3 ? value.toExponential(2) : value.toFixed(4);
}

function signed(value: number): string {
  return value > 0 ? `+${fmt(value)}` : fmt(value);
}

function pct(share: number): string {
  return `${Number((share * 100).toPrecision(4))}%`;
}
