// The sign-off rules of the offline tests (the model spec's `evaluation` field): what "good enough"
// means for a candidate, validated with zod so a mistyped rule is an error, never a silent no-op.
import { z } from 'zod';
import { isMetricForTask, METRIC_DIRECTIONS, METRIC_NAMES, metricsForTask, type MetricName, type Task } from '../ml/metrics';
import { formatIssuePath } from '../spec/issue-path';

/*
 * How the gate reads these rules (evaluation/gate.ts applies them; every case below adds a line to
 * the report card's reasons or notes, none is silent):
 *
 * Metrics. Every metric of the task is computed for the candidate (and the champion, when there
 * is one) on the evaluation rows, each with a percentile-bootstrap interval (`bootstrap`:
 * 1000 resamples, 95%, seed 0 by default). With a champion the bootstrap is PAIRED: both models
 * are scored on the same resampled rows, and the interval of d = candidate - champion is taken
 * replicate by replicate.
 *
 * primaryMetric: the headline metric; default auc for binary classification, rmse for
 *   regression. Its direction is the metric's own (auc higher is better, log_loss lower is
 *   better...); `direction` may be written out for readability but must agree.
 *
 * floors: the worst acceptable value of a metric, judged on the point estimate over all rows.
 *   For a higher-is-better metric the candidate fails when value < floor ("floor.auc: 0.612
 *   below the floor 0.7"); for a lower-is-better metric (log_loss, ece, brier, mae, rmse) the
 *   floor is a ceiling and it fails when value > floor. A metric that cannot be computed (AUC on
 *   labels of one class) fails its floor: the gate fails closed.
 *
 * maxRegression: how much worse than the champion a metric may get, judged on the paired
 *   interval [lo, hi] of d = candidate - champion (rule "max_regression.<metric>"). `absolute`
 *   allows m = absolute; `relative` allows m = relative x |champion value|; with both, the
 *   candidate must satisfy both, i.e. m is the smaller of the two.
 *   regressionTest 'significant_regression' (default; the gate must show harm): a
 *     higher-is-better metric fails when hi < -m (the whole interval lies below -m), a
 *     lower-is-better metric fails when lo > +m.
 *   regressionTest 'non_inferiority' (the candidate must show it is not worse by more than m):
 *     a higher-is-better metric fails when lo < -m, a lower-is-better one when hi > +m. Stricter:
 *     a candidate that is merely no better than the champion on a small set can fail it.
 *   An interval that cannot be computed (metric undefined on too many resamples) fails.
 *
 * slices: metrics per value of each feature in `features` (categorical, encoded as numbers or
 *   strings; at most maxDistinctValues values) and per cohort (a named predicate). Every slice is
 *   reported with its row count. A slice with fewer than minRows rows (default 50), or on which a
 *   bounded metric is undefined, is reported but not gated (noted). slices.maxRegression bounds
 *   are judged per slice exactly like maxRegression (paired bootstrap restricted to the slice's
 *   rows, same regressionTest). No slice bounds → slices are reported, not gated (noted).
 *   Many slices at 95% each raise the chance that one fails by luck; no multiplicity correction
 *   is applied, so prefer few, meaningful slices or a higher bootstrap.confidence.
 *
 * behavioural: named invariance, perturbation and directional tests (evaluation/behavioural.ts)
 *   run against the candidate; each declared test must have a result, and fails the gate when
 *   its result did not pass. A declared test without a result fails ("declared but not run").
 *   Invariance works on numeric and categorical features (setTo / swap values are numbers for a
 *   numeric feature, strings for a categorical one); perturbation and directional tests change
 *   numeric features only. A test naming a feature the model does not read, or values of the wrong
 *   type for it, is a spec error (behaviouralTestProblems), raised before anything is scored.
 *
 * budgets: model size, single-row latency p50/p99 and batch throughput limits, measured with
 *   onnxruntime-node (evaluation/budgets.ts). A declared limit without a measurement fails.
 *
 * requireApproval: when true a candidate that passes every check gets 'needs_approval' instead of
 *   'pass'; `approval.timeout` ('24h', '30m', '7d', ...) is how long the workflow waits for a person
 *   and `approval.onTimeout` what happens then (default 'reject'). A failing candidate fails:
 *   approval cannot override a failed check.
 *
 * Defaults for missing pieces:
 *   - No champion yet (first model): maxRegression and slice bounds cannot be judged and are
 *     skipped; the gate uses floors, behavioural tests and budgets only, and the report card says
 *     "no champion: ...".
 *   - A champion, but maxRegression does not name the primary metric: the gate adds
 *     max_regression.<primary> with m = 0 under 'significant_regression', i.e. the candidate must
 *     not be significantly worse than the champion on the primary metric (noted as a default).
 *   - Nothing to check at all (no champion, no floors, no behavioural tests, no budgets): the
 *     candidate passes with the reason "no thresholds set", so a newcomer's first model is not
 *     blocked, but the card says plainly that nothing was checked.
 */

export const metricNameSchema = z.enum(METRIC_NAMES);
export const metricDirectionSchema = z.enum(['higher_is_better', 'lower_is_better']);

/** Allowed regression of one metric; at least one of the two. */
export const regressionBoundSchema = z
  .object({
    /** In the metric's units: 0.01 AUC. */
    absolute: z.number().min(0).optional(),
    /** As a share of the champion's value: 0.02 = 2%. */
    relative: z.number().min(0).max(10).optional(),
  })
  .strict()
  .refine((b) => b.absolute !== undefined || b.relative !== undefined, { message: 'give absolute and/or relative' });

const sliceValueSchema = z.union([z.number(), z.string()]);

export const cohortConditionSchema = z
  .object({
    feature: z.string().min(1),
    op: z.enum(['<', '<=', '>', '>=', '==', 'in']),
    value: z.union([sliceValueSchema, z.array(sliceValueSchema).min(1)]),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.op === 'in' && !Array.isArray(c.value)) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: "op 'in' needs a list of values, e.g. [1, 2]" });
    }
    if (c.op !== 'in' && Array.isArray(c.value)) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `op '${c.op}' compares with one value; use op 'in' for a list` });
    }
    if ((c.op === '<' || c.op === '<=' || c.op === '>' || c.op === '>=') && typeof c.value !== 'number') {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `op '${c.op}' needs a number` });
    }
  });

/** A named subset of rows; `where` with several conditions means all of them (AND). */
export const cohortSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'use letters, digits, "_", ".", ":" or "-" (max 64 chars)'),
    where: z.union([cohortConditionSchema, z.array(cohortConditionSchema).min(1)]),
  })
  .strict();

export const sliceSpecSchema = z
  .object({
    /** Categorical features to slice by value. */
    features: z.array(z.string().min(1)).default([]),
    cohorts: z.array(cohortSchema).default([]),
    /** Smaller slices are reported, not gated: their intervals are too wide to mean much. */
    minRows: z.number().int().min(1).default(50),
    /** A feature with more distinct values is rejected: slice continuous features with cohorts. */
    maxDistinctValues: z.number().int().min(2).max(1000).default(50),
    maxRegression: z.partialRecord(metricNameSchema, regressionBoundSchema).default({}),
  })
  .strict();

const testName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use letters, digits, "_", "." or "-" (max 64 chars)');

/**
 * A value an invariance test writes into a feature: a number for a numeric feature (including a
 * category stored as a numeric code), a string for a categorical feature (its category, as the
 * snapshot and the ONNX `categorical` input hold it). Which one fits depends on the feature's type,
 * which only the model's feature layout knows: behaviouralTestProblems checks it.
 */
export const behaviouralValueSchema = z.union([
  z.number(),
  z.string().min(1, 'a category value cannot be empty ("" is how a missing value is sent); give the category, e.g. "female"'),
]);

/** Changing a protected feature must move no prediction by more than epsilon. */
export const invarianceTestSchema = z
  .object({
    kind: z.literal('invariance'),
    name: testName,
    feature: z.string().min(1),
    /**
     * setTo: every row gets this value. swap: each row holding one of the values gets each of the
     * others in turn. Strings for a categorical feature, numbers for a numeric one (numeric codes).
     */
    change: z.union([z.object({ setTo: behaviouralValueSchema }).strict(), z.object({ swap: z.array(behaviouralValueSchema).min(2) }).strict()], {
      error: 'give { "setTo": value } or { "swap": [value, value, ...] }: numbers for a numeric feature, strings for a categorical one',
    }),
    epsilon: z.number().min(0).default(0.01),
  })
  .strict()
  .superRefine((test, ctx) => {
    if (!('swap' in test.change)) return;
    const swap = test.change.swap;
    if (swap.some((v) => typeof v === 'string') && swap.some((v) => typeof v === 'number')) {
      ctx.addIssue({
        code: 'custom',
        path: ['change', 'swap'],
        message: `swap mixes numbers and strings (${swap.map(formatValue).join(', ')}); give every value as a string for a categorical feature, or as a number for a numeric one`,
      });
    }
    const seen = new Set<string | number>();
    for (const v of swap) {
      if (seen.has(v)) ctx.addIssue({ code: 'custom', path: ['change', 'swap'], message: `swap lists ${formatValue(v)} twice; list each value once` });
      seen.add(v);
    }
  });

/** Small Gaussian noise (sigma x the feature's std) must change predictions little. */
export const perturbationTestSchema = z
  .object({
    kind: z.literal('perturbation'),
    name: testName,
    /** Numeric features to perturb; default every numeric feature of the rows. Categorical ones are refused (test them with invariance); noise on a numeric category code changes the category. */
    features: z.array(z.string().min(1)).optional(),
    sigma: z.number().gt(0).max(10).default(0.05),
    maxMeanChange: z.number().min(0).optional(),
    maxP99Change: z.number().min(0).optional(),
    seed: z.number().int().default(0),
  })
  .strict()
  .refine((t) => t.maxMeanChange !== undefined || t.maxP99Change !== undefined, { message: 'give maxMeanChange and/or maxP99Change' });

/** Raising a feature by delta must not lower (or not raise) the prediction, for at least minFraction of rows. */
export const directionalTestSchema = z
  .object({
    kind: z.literal('directional'),
    name: testName,
    feature: z.string().min(1),
    delta: z.number().refine((d) => d !== 0 && Number.isFinite(d), 'delta must be a non-zero finite number'),
    expect: z.enum(['non_decreasing', 'non_increasing']),
    minFraction: z.number().gt(0).max(1).default(0.95),
    /** Changes smaller than this count as no change (float32 outputs jitter in the last bits). */
    tolerance: z.number().min(0).default(1e-6),
  })
  .strict();

export const behaviouralTestSchema = z.discriminatedUnion('kind', [invarianceTestSchema, perturbationTestSchema, directionalTestSchema]);

export const budgetMeasurementSchema = z
  .object({
    warmupRuns: z.number().int().min(0).default(20),
    /** Single-row runs timed for the latency percentiles. */
    runs: z.number().int().min(10).default(200),
    batchSize: z.number().int().min(1).default(1024),
    batchRuns: z.number().int().min(1).default(5),
  })
  .strict();

export const budgetSpecSchema = z
  .object({
    maxModelBytes: z.number().int().positive().optional(),
    maxLatencyP50Ms: z.number().positive().optional(),
    maxLatencyP99Ms: z.number().positive().optional(),
    minThroughputRowsPerSecond: z.number().positive().optional(),
    measurement: budgetMeasurementSchema.default(budgetMeasurementSchema.parse({})),
  })
  .strict();

/** '24h', '30m', '7d', '90s', '500ms': the forms Temporal's duration strings accept. */
export const durationSchema = z.string().regex(/^\d+(\.\d+)?(ms|s|m|h|d)$/, 'use a number and a unit: "500ms", "90s", "30m", "24h", "7d"');

export const approvalPolicySchema = z
  .object({
    timeout: durationSchema.default('24h'),
    onTimeout: z.enum(['reject', 'approve']).default('reject'),
  })
  .strict();

export const bootstrapSpecSchema = z
  .object({
    resamples: z.number().int().min(100).max(100_000).default(1000),
    confidence: z.number().min(0.5).max(0.999).default(0.95),
    seed: z.number().int().default(0),
  })
  .strict();

export const metricOptionsSpecSchema = z
  .object({
    /** Decision threshold for accuracy, precision, recall: class 1 when p >= threshold. */
    threshold: z.number().gt(0).lt(1).default(0.5),
    eceBins: z.number().int().min(2).max(100).default(10),
  })
  .strict();

/**
 * The static, trusted test set: on a model's first run a seeded sample of its window is frozen
 * (versioned in lineage) and never trained on; every later candidate is judged on it as well as on
 * the backtest (the most recent labelled rows, strictly later than training).
 */
export const staticTestSetSpecSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Share of the first window's rows to freeze. */
    fraction: z.number().gt(0).max(0.5).default(0.1),
    /** Freeze only when at least this many rows would be frozen. */
    minRows: z.number().int().min(10).default(100),
    seed: z.number().int().default(0),
  })
  .strict();

export const evaluationSpecSchema = z
  .object({
    primaryMetric: z
      .object({ name: metricNameSchema, direction: metricDirectionSchema.optional() })
      .strict()
      .optional(),
    metricOptions: metricOptionsSpecSchema.default(metricOptionsSpecSchema.parse({})),
    floors: z.partialRecord(metricNameSchema, z.number()).default({}),
    maxRegression: z.partialRecord(metricNameSchema, regressionBoundSchema).default({}),
    regressionTest: z.enum(['significant_regression', 'non_inferiority']).default('significant_regression'),
    slices: sliceSpecSchema.default(sliceSpecSchema.parse({})),
    behavioural: z.array(behaviouralTestSchema).default([]),
    budgets: budgetSpecSchema.optional(),
    requireApproval: z.boolean().default(false),
    approval: approvalPolicySchema.default(approvalPolicySchema.parse({})),
    bootstrap: bootstrapSpecSchema.default(bootstrapSpecSchema.parse({})),
    staticTestSet: staticTestSetSpecSchema.default(staticTestSetSpecSchema.parse({})),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const primary = spec.primaryMetric;
    if (primary?.direction && primary.direction !== METRIC_DIRECTIONS[primary.name]) {
      ctx.addIssue({
        code: 'custom',
        path: ['primaryMetric', 'direction'],
        message: `${primary.name} is ${METRIC_DIRECTIONS[primary.name]}; remove direction or set it to that`,
      });
    }
    unique(spec.behavioural.map((t) => t.name), ['behavioural'], 'behavioural test', ctx);
    unique(spec.slices.cohorts.map((c) => c.name), ['slices', 'cohorts'], 'cohort', ctx);
  });

export type EvaluationSpec = z.output<typeof evaluationSpecSchema>;
export type EvaluationSpecInput = z.input<typeof evaluationSpecSchema>;
export type RegressionBound = z.output<typeof regressionBoundSchema>;
export type CohortSpec = z.output<typeof cohortSchema>;
export type CohortCondition = z.output<typeof cohortConditionSchema>;
export type SliceSpec = z.output<typeof sliceSpecSchema>;
export type BehaviouralTestSpec = z.output<typeof behaviouralTestSchema>;
export type InvarianceTestSpec = z.output<typeof invarianceTestSchema>;
export type PerturbationTestSpec = z.output<typeof perturbationTestSchema>;
export type DirectionalTestSpec = z.output<typeof directionalTestSchema>;
export type BudgetSpec = z.output<typeof budgetSpecSchema>;
export type BudgetMeasurementSpec = z.output<typeof budgetMeasurementSchema>;
export type ApprovalPolicy = z.output<typeof approvalPolicySchema>;

export class InvalidEvaluationSpecError extends Error {
  override name = 'InvalidEvaluationSpecError';
  constructor(readonly problems: string[]) {
    super(`invalid evaluation spec:\n  - ${problems.join('\n  - ')}`);
  }
}

/** Validates and fills defaults; throws InvalidEvaluationSpecError listing every problem as "field: what is wrong". */
export function parseEvaluationSpec(input: unknown): EvaluationSpec {
  const result = evaluationSpecSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw new InvalidEvaluationSpecError(result.error.issues.map((issue) => `${formatIssuePath(issue.path, '(evaluation)')}: ${issue.message}${hint(issue)}`));
}

/** zod says "Unrecognized key"; say what would have been recognised. */
function hint(issue: z.core.$ZodIssue): string {
  if (issue.code !== 'unrecognized_keys') return '';
  const last = issue.path[issue.path.length - 1];
  if (last === 'floors' || last === 'maxRegression') return `; metrics are ${METRIC_NAMES.join(', ')}`;
  return '; check the spelling against the evaluation spec fields';
}

/** The model's inputs by type: what a behavioural test may change, and how. */
export interface BehaviouralFeatureLayout {
  numeric: readonly string[];
  categorical: readonly string[];
}

/**
 * Problems of one behavioural test against the features the model reads, as [field, problem and
 * fix] pairs (the field relative to the test, e.g. "change.setTo"); empty when the test fits. The
 * tests themselves (evaluation/behavioural.ts) throw on these before changing any row.
 */
export function behaviouralTestFieldProblems(test: BehaviouralTestSpec, layout: BehaviouralFeatureLayout): Array<[field: string, problem: string]> {
  const problems: Array<[string, string]> = [];
  const inputs = `numeric: ${layout.numeric.join(', ') || 'none'}; categorical: ${layout.categorical.join(', ') || 'none'}`;
  const kindOf = (feature: string): 'numeric' | 'categorical' | null =>
    layout.numeric.includes(feature) ? 'numeric' : layout.categorical.includes(feature) ? 'categorical' : null;
  const unknown = (field: string, feature: string): void => {
    problems.push([field, `no feature "${feature}" among the model's inputs (${inputs}); name one of them, or add the feature to the model`]);
  };
  const useInvariance = '(test a categorical feature with an invariance test: change.swap or change.setTo with string values)';
  if (test.kind === 'invariance') {
    const kind = kindOf(test.feature);
    if (kind === null) {
      unknown('feature', test.feature);
      return problems;
    }
    const key = 'setTo' in test.change ? 'setTo' : 'swap';
    const values = 'setTo' in test.change ? [test.change.setTo] : test.change.swap;
    const wrong = values.filter((v) => (kind === 'numeric' ? typeof v !== 'number' : typeof v !== 'string'));
    if (wrong.length === 0) return problems;
    const written = (vs: Array<string | number>): string => (key === 'setTo' ? formatValue(vs[0]) : `[${vs.map(formatValue).join(', ')}]`);
    if (kind === 'categorical') {
      problems.push([
        `change.${key}`,
        `feature "${test.feature}" is categorical (string values) but ${key} gives the number(s) ${wrong.map(formatValue).join(', ')}; ` +
          `give the categories as strings, e.g. ${key}: ${written(values.map((v) => String(v)))}`,
      ]);
    } else {
      const numbers = values.map((v) => (typeof v === 'number' ? v : Number(v.trim() === '' ? NaN : v)));
      const fix = numbers.every((v) => Number.isFinite(v))
        ? `give numbers, e.g. ${key}: ${written(numbers)}`
        : 'give numbers (values the feature holds), or declare the feature categorical in the model spec (features[].type: "categorical")';
      problems.push([`change.${key}`, `feature "${test.feature}" is numeric but ${key} gives the string(s) ${wrong.map(formatValue).join(', ')}; ${fix}`]);
    }
  } else if (test.kind === 'perturbation') {
    for (const feature of test.features ?? []) {
      const kind = kindOf(feature);
      if (kind === null) unknown('features', feature);
      else if (kind === 'categorical') {
        problems.push(['features', `"${feature}" is categorical: Gaussian noise applies to numeric features only; remove it from features ${useInvariance}`]);
      }
    }
  } else {
    const kind = kindOf(test.feature);
    if (kind === null) unknown('feature', test.feature);
    else if (kind === 'categorical') {
      problems.push(['feature', `"${test.feature}" is categorical: a directional test adds delta to a numeric feature; name a numeric feature ${useInvariance}`]);
    }
  }
  return problems;
}

/**
 * Problems of the spec's behavioural tests against the model's inputs, each as
 * "behavioural[i].<field>: what is wrong; the fix"; empty when every test fits. The evaluate step
 * checks this before scoring anything; a model spec validator can call it with featureLayout(features).
 */
export function behaviouralTestProblems(tests: readonly BehaviouralTestSpec[], layout: BehaviouralFeatureLayout): string[] {
  return tests.flatMap((test, i) => behaviouralTestFieldProblems(test, layout).map(([field, problem]) => `behavioural[${i}].${field}: ${problem}`));
}

/** A number as written, a string quoted: 2, "female". */
export function formatValue(value: string | number): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * Problems that depend on the model's task (the schema alone does not know it): metrics named in
 * the rules must exist for the task. Empty when the spec fits. The model spec's own validation
 * can call this once the two are merged.
 */
export function evaluationSpecProblems(spec: EvaluationSpec, task: Task): string[] {
  const problems: string[] = [];
  const allowed = metricsForTask(task).join(', ');
  const check = (metric: string, path: string): void => {
    if (!isMetricForTask(metric, task)) problems.push(`${path}: metric "${metric}" does not apply to ${task}; use one of ${allowed}`);
  };
  if (spec.primaryMetric) check(spec.primaryMetric.name, 'primaryMetric.name');
  for (const metric of Object.keys(spec.floors)) check(metric, `floors.${metric}`);
  for (const metric of Object.keys(spec.maxRegression)) check(metric, `maxRegression.${metric}`);
  for (const metric of Object.keys(spec.slices.maxRegression)) check(metric, `slices.maxRegression.${metric}`);
  return problems;
}

/** The primary metric with its direction; the task's default when the spec names none. */
export function resolvePrimaryMetric(spec: EvaluationSpec, task: Task): { name: MetricName; direction: 'higher_is_better' | 'lower_is_better' } {
  const name = spec.primaryMetric?.name ?? (task === 'regression' ? 'rmse' : 'auc');
  return { name, direction: METRIC_DIRECTIONS[name] };
}

/** Milliseconds in a duration string of durationSchema ('24h' -> 86400000). */
export function durationToMs(duration: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(duration);
  if (!match) throw new Error(`duration "${duration}": use a number and a unit: "500ms", "90s", "30m", "24h", "7d"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

function unique(names: string[], path: PropertyKey[], what: string, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  names.forEach((name, index) => {
    if (seen.has(name)) ctx.addIssue({ code: 'custom', path: [...path, index, 'name'], message: `duplicate ${what} name "${name}"; names must be unique` });
    seen.add(name);
  });
}

