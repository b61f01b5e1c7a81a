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

/** Changing a protected feature must move no prediction by more than epsilon. */
export const invarianceTestSchema = z
  .object({
    kind: z.literal('invariance'),
    name: testName,
    feature: z.string().min(1),
    /** setTo: every row gets this value. swap: each row holding one of the values gets each of the others (categorical). */
    change: z.union([z.object({ setTo: z.number() }).strict(), z.object({ swap: z.array(z.number()).min(2) }).strict()]),
    epsilon: z.number().min(0).default(0.01),
  })
  .strict();

/** Small Gaussian noise (sigma x the feature's std) must change predictions little. */
export const perturbationTestSchema = z
  .object({
    kind: z.literal('perturbation'),
    name: testName,
    /** Features to perturb; default every feature of the matrix. List only numeric ones: noise on a category code changes the category. */
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

