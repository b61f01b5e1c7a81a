// The report card: the offline tests' result and sign-off decision as versioned, validated JSON
// (stored with the model version in lineage, rendered to HTML by report-card-html.ts).
import { z } from 'zod';
import { METRIC_NAMES } from '../ml/metrics';
import { evaluationSpecSchema, metricDirectionSchema, metricNameSchema } from './spec';

/**
 * Bump on any change a v1 reader could misread (renamed or re-meaning fields). Readers reject a
 * card of another version instead of guessing; added optional fields do not need a bump.
 */
export const REPORT_CARD_SCHEMA_VERSION = 1;

const nullableNumber = z.number().nullable();

export const confidenceIntervalSchema = z.object({
  estimate: nullableNumber,
  lower: nullableNumber,
  upper: nullableNumber,
  confidence: z.number(),
  resamples: z.number().int(),
  validResamples: z.number().int(),
});

const metricValuesSchema = z.partialRecord(z.enum(METRIC_NAMES), nullableNumber);

export const metricRowSchema = z.object({
  name: metricNameSchema,
  direction: metricDirectionSchema,
  candidate: confidenceIntervalSchema,
  /** Null without a champion. */
  champion: confidenceIntervalSchema.nullable(),
  /** candidate - champion on the same resamples; null without a champion. */
  difference: confidenceIntervalSchema.nullable(),
});

export const checkSchema = z.object({
  /** The rule's name as reasons cite it: floor.auc, max_regression.log_loss, slice_bound.auc[region=2], behavioural.<name>, budget.latency_p50_ms. */
  rule: z.string(),
  category: z.enum(['floor', 'max_regression', 'slice_bound', 'behavioural', 'budget']),
  /** skipped: declared but not judgeable here (no champion); always explained in notes. */
  status: z.enum(['pass', 'fail', 'skipped']),
  detail: z.string(),
});

export const sliceRowSchema = z.object({
  key: z.string(),
  kind: z.enum(['feature_value', 'cohort']),
  feature: z.string().optional(),
  value: z.union([z.string(), z.number()]).optional(),
  cohort: z.string().optional(),
  rows: z.number().int(),
  positives: z.number().optional(),
  gated: z.boolean(),
  note: z.string().optional(),
  candidate: metricValuesSchema,
  champion: metricValuesSchema.optional(),
  differences: z.partialRecord(z.enum(METRIC_NAMES), confidenceIntervalSchema).optional(),
});

export const calibrationBinSchema = z.object({
  lower: z.number(),
  upper: z.number(),
  count: z.number(),
  meanPredicted: nullableNumber,
  fractionPositive: nullableNumber,
});

export const behaviouralResultSchema = z.object({
  name: z.string(),
  kind: z.enum(['invariance', 'perturbation', 'directional']),
  passed: z.boolean(),
  detail: z.string(),
  rowsTested: z.number().int(),
  measurements: z.record(z.string(), z.number()),
});

export const operationalMeasurementsSchema = z.object({
  modelBytes: z.number(),
  latencyMs: z.object({ p50: z.number(), p99: z.number(), mean: z.number(), runs: z.number().int(), warmupRuns: z.number().int() }),
  throughput: z.object({ rowsPerSecond: z.number(), batchSize: z.number().int(), runs: z.number().int() }),
  runtime: z.string(),
});

export const budgetCheckSchema = z.object({
  rule: z.string(),
  passed: z.boolean(),
  actual: z.number(),
  limit: z.number(),
  detail: z.string(),
});

export const reportCardSchema = z.object({
  schemaVersion: z.literal(REPORT_CARD_SCHEMA_VERSION),
  decision: z.enum(['pass', 'fail', 'needs_approval']),
  /** Why: on fail every failed rule ("max_regression.auc: ..."); on pass or needs_approval the summary and any warning. */
  reasons: z.array(z.string()),
  /** Defaults applied, rules skipped, slices not gated: everything the gate decided on its own. */
  notes: z.array(z.string()),
  generatedAt: z.string(),
  task: z.enum(['binary_classification', 'regression']),
  candidateId: z.string().nullable(),
  championId: z.string().nullable(),
  hasChampion: z.boolean(),
  /** static: a trusted fixed test set; backtest: the most recent labelled window (DMLS ch. 9). */
  evaluationSet: z.object({ name: z.string(), kind: z.enum(['static', 'backtest']), rows: z.number().int() }),
  primaryMetric: z.object({ name: metricNameSchema, direction: metricDirectionSchema }),
  metrics: z.array(metricRowSchema),
  checks: z.array(checkSchema),
  slices: z.array(sliceRowSchema),
  /** Reliability diagram data (binary classification only). */
  calibration: z
    .object({ bins: z.number().int(), candidate: z.array(calibrationBinSchema), champion: z.array(calibrationBinSchema).nullable() })
    .nullable(),
  behavioural: z.array(behaviouralResultSchema),
  budgets: z.object({ measurements: operationalMeasurementsSchema, checks: z.array(budgetCheckSchema) }).nullable(),
  approval: z.object({ required: z.boolean(), timeout: z.string(), onTimeout: z.enum(['reject', 'approve']) }),
  bootstrap: z.object({ method: z.literal('percentile'), paired: z.boolean(), resamples: z.number().int(), confidence: z.number(), seed: z.number().int() }),
  /** The evaluation spec as the gate read it, defaults filled in. */
  spec: evaluationSpecSchema,
});

export type ReportCard = z.output<typeof reportCardSchema>;
export type ReportCheck = z.output<typeof checkSchema>;
export type MetricRow = z.output<typeof metricRowSchema>;
export type SliceRow = z.output<typeof sliceRowSchema>;

export function reportCardToJson(card: ReportCard, indent = 2): string {
  return JSON.stringify(card, null, indent);
}

/** Parses and validates a stored card (string or already-parsed JSON); errors name the field. */
export function parseReportCard(json: string | unknown): ReportCard {
  const value: unknown = typeof json === 'string' ? JSON.parse(json) : json;
  const version = (value as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== REPORT_CARD_SCHEMA_VERSION) {
    throw new Error(`report card: schemaVersion is ${JSON.stringify(version)}, this reader understands ${REPORT_CARD_SCHEMA_VERSION}`);
  }
  const result = reportCardSchema.safeParse(value);
  if (!result.success) {
    throw new Error(`report card: ${result.error.issues.map((i) => `${i.path.join('.') || '(card)'}: ${i.message}`).join('; ')}`);
  }
  return result.data;
}
