// The `data` and `labels` sections of the model spec: where training rows come from, how they are
// curated (time window, sampling, rebalancing, dedupe), the validation gate's thresholds, and the
// natural-label rule. Pure zod + a duration parser, so workflow code may import it.
import { z } from 'zod';

const DURATION = /^(\d+(?:\.\d+)?)(s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30m" → 1_800_000; null when the text is not a positive number followed by s, m, h or d. */
export function parseDurationMs(text: string): number | null {
  const match = DURATION.exec(text.trim());
  if (!match) return null;
  const ms = Number(match[1]) * UNIT_MS[match[2]];
  return ms > 0 && Number.isFinite(ms) ? Math.round(ms) : null;
}

export const durationSchema = z
  .string()
  .refine((value) => parseDurationMs(value) !== null, { message: 'use a positive number and a unit s, m, h or d, e.g. "30m", "2h", "7d"' });

const sqlIdentifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'use a plain SQL identifier (letters, digits, "_"; not starting with a digit)');

/** Any Postgres table or view with a timestamp column: the warehouse-export source kind. */
export const tableSourceSchema = z
  .object({
    kind: z.literal('table'),
    /** "table" or "schema.table". */
    table: z.string().regex(/^([A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'use "table" or "schema.table" with plain SQL identifiers'),
    timestampColumn: sqlIdentifier,
    labelColumn: sqlIdentifier,
    /** Entity id column; without one, dedupe is skipped (rows cannot be matched up). */
    entityColumn: sqlIdentifier.optional(),
    /** Feature name → column name, for features whose column is named differently. */
    columns: z.record(z.string(), sqlIdentifier).default({}),
  })
  .strict();

export type TableSource = z.output<typeof tableSourceSchema>;

const SOURCE_HINT = 'use "labelled_examples" or { "kind": "table", "table": …, "timestampColumn": …, "labelColumn": … }';

/**
 * "labelled_examples" (the built-in table natural labels and imports write to) or a table source.
 * Parsed as a discriminated union so a table source missing a field gets that field's own error.
 */
export const dataSourceSchema = z
  .preprocess(
    (value) => (value === 'labelled_examples' ? { kind: 'labelled_examples' } : value),
    z.discriminatedUnion('kind', [z.object({ kind: z.literal('labelled_examples') }).strict(), tableSourceSchema], { error: SOURCE_HINT }),
  )
  .transform((source) => (source.kind === 'labelled_examples' ? ('labelled_examples' as const) : source));

export type DataSource = z.output<typeof dataSourceSchema>;

/**
 * Curation sampling. uniform and stratified take either `fraction` (of the window) or `rows`;
 * stratified keeps every stratum's share of `column` (the label or a feature); reservoir keeps
 * `rows` rows uniformly; importance draws `rows` rows with probability proportional to the
 * non-negative numbers in `weightColumn` (a feature or any other numeric key of the source row),
 * without replacement. Every kind but `none` streams the window part by part and holds only the
 * sample (datasets/streaming-curation.ts); `none` keeps the whole window, so it is the sample.
 */
export const samplingSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }).strict(),
  z.object({ kind: z.literal('uniform'), fraction: z.number().gt(0).max(1).optional(), rows: z.number().int().min(1).optional() }).strict(),
  z.object({ kind: z.literal('stratified'), column: z.string().min(1), fraction: z.number().gt(0).max(1).optional(), rows: z.number().int().min(1).optional() }).strict(),
  z.object({ kind: z.literal('reservoir'), rows: z.number().int().min(1) }).strict(),
  z.object({ kind: z.literal('importance'), weightColumn: z.string().min(1), rows: z.number().int().min(1) }).strict(),
]);

export type SamplingSpec = z.output<typeof samplingSchema>;

/** Class rebalancing of the training split only: validation keeps the natural label rate so metrics stay honest. */
export const rebalanceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }).strict(),
  z.object({ kind: z.literal('downsample'), targetPositiveRate: z.number().gt(0).lt(1) }).strict(),
  z.object({ kind: z.literal('upsample'), targetPositiveRate: z.number().gt(0).lt(1) }).strict(),
]);

export type RebalanceSpec = z.output<typeof rebalanceSchema>;

export const dedupeSchema = z
  .object({
    /**
     * entity_time: rows with the same entity id and event time are one event ingested twice; the
     * last written wins. entity: keep only each entity's latest row. none: keep everything.
     */
    key: z.enum(['none', 'entity_time', 'entity']).default('entity_time'),
  })
  .strict();

export const validationSpecSchema = z
  .object({
    /** Off skips the gate (the report still records that it was skipped). */
    enabled: z.boolean().default(true),
    /** Share of missing values allowed per feature. */
    maxNullRate: z.number().min(0).max(1).default(0.05),
    /** Share of a numeric feature's values allowed outside the reference snapshot's [min, max]. */
    maxOutOfRangeShare: z.number().min(0).max(1).default(0.05),
    /** Largest move of the 5th/50th/95th percentile, in units of the reference IQR (units bugs move it by orders of magnitude). */
    maxQuantileShift: z.number().positive().default(2),
    /** Share of a categorical feature's rows allowed to carry values the reference never saw (cold start is normal in small doses). */
    maxUnseenCategoryShare: z.number().min(0).max(1).default(0.1),
    /** Row count per day of window is compared with the median of this many earlier datasets of the model. */
    rowCountHistory: z.number().int().min(1).max(100).default(5),
    minRowCountRatio: z.number().min(0).default(0.5),
    maxRowCountRatio: z.number().gt(0).default(3),
    /** Positive-label share bounds (binary tasks). */
    minLabelRate: z.number().min(0).max(1).default(0.001),
    maxLabelRate: z.number().min(0).max(1).default(0.999),
  })
  .strict();

export type ValidationSpec = z.output<typeof validationSpecSchema>;

export const dataSpecSchema = z
  .object({
    source: dataSourceSchema.default('labelled_examples'),
    /** Training window: the last N days before the run's reference time. */
    windowDays: z.number().positive().max(3650).default(30),
    /** Share of the window, latest rows, held out for validation (time-ordered: no leakage). */
    validationFraction: z.number().gt(0).lt(0.9).default(0.2),
    /** A window with fewer labelled rows stops the run before training. */
    minRows: z.number().int().min(10).default(50),
    sampling: samplingSchema.default({ kind: 'none' }),
    rebalance: rebalanceSchema.default({ kind: 'none' }),
    dedupe: dedupeSchema.default({ key: 'entity_time' }),
    validation: validationSpecSchema.default(validationSpecSchema.parse({})),
    /** Seed of every random curation step: the same window always yields the same snapshot. */
    seed: z.number().int().default(42),
  })
  .strict();

export type DataSpec = z.output<typeof dataSpecSchema>;

const labelRuleBase = {
  /** outcome_events.event_type that counts. */
  eventType: z.string().min(1),
  /** Label window after each prediction: [predicted_at, predicted_at + window). */
  window: durationSchema,
  /** request_id: the outcome names the request; unit_id: any outcome of the same unit inside the window. */
  joinOn: z.enum(['request_id', 'unit_id']).default('request_id'),
  /** How far back predictions are (re)labelled on each run; default data.windowDays. */
  lookbackDays: z.number().positive().max(3650).optional(),
};

/**
 * Natural-label rule. event_within: 1 if an event arrives inside the window, 0 once the window has
 * closed without one. event_value: the first or last event's value inside the window (regression);
 * no label when none arrived.
 */
export const labelsSpecSchema = z.preprocess(
  // "valueOf" is also Object.prototype.valueOf, so zod would see a function instead of "missing"
  // and never apply the default: fill it in when the object has no own property of that name.
  (value) =>
    value && typeof value === 'object' && (value as { kind?: unknown }).kind === 'event_value' && !Object.hasOwn(value, 'valueOf')
      ? { ...value, valueOf: 'first' }
      : value,
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('event_within'), ...labelRuleBase }).strict(),
    z.object({ kind: z.literal('event_value'), valueOf: z.enum(['first', 'last']).default('first'), ...labelRuleBase }).strict(),
  ]),
);

export type LabelRule = z.output<typeof labelsSpecSchema>;

/** What the cross-field checks need to know about the rest of the spec. */
interface SpecForDataChecks {
  task: string;
  features: ReadonlyArray<{ name: string }>;
  data: DataSpec;
  labels?: LabelRule;
}

interface IssueSink {
  addIssue(issue: { code: 'custom'; path: (string | number)[]; message: string }): void;
}

/** Checks that span the data/labels sections and the rest of the spec; each issue names the field and the fix. */
export function checkDataSections(spec: SpecForDataChecks, ctx: IssueSink): void {
  const features = new Set(spec.features.map((f) => f.name));
  const binary = spec.task === 'binary_classification';
  const { sampling, rebalance, source, validation } = spec.data;
  if (sampling.kind === 'uniform' || sampling.kind === 'stratified') {
    if ((sampling.fraction === undefined) === (sampling.rows === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['data', 'sampling'], message: `${sampling.kind} sampling takes exactly one of "fraction" (0-1] or "rows"` });
    }
  }
  if (sampling.kind === 'stratified' && sampling.column !== 'label' && !features.has(sampling.column)) {
    ctx.addIssue({ code: 'custom', path: ['data', 'sampling', 'column'], message: `no feature named "${sampling.column}": stratify by "label" or a declared feature` });
  }
  if (rebalance.kind !== 'none' && !binary) {
    ctx.addIssue({ code: 'custom', path: ['data', 'rebalance'], message: `rebalancing to a positive rate needs a binary_classification task; remove data.rebalance` });
  }
  if (typeof source === 'object') {
    for (const name of Object.keys(source.columns)) {
      if (!features.has(name)) ctx.addIssue({ code: 'custom', path: ['data', 'source', 'columns', name], message: `no feature named "${name}": map declared features to columns` });
    }
  }
  if (validation.minLabelRate > validation.maxLabelRate) {
    ctx.addIssue({ code: 'custom', path: ['data', 'validation', 'minLabelRate'], message: `minLabelRate ${validation.minLabelRate} is above maxLabelRate ${validation.maxLabelRate}` });
  }
  if (validation.minRowCountRatio >= validation.maxRowCountRatio) {
    ctx.addIssue({ code: 'custom', path: ['data', 'validation', 'minRowCountRatio'], message: `minRowCountRatio must be below maxRowCountRatio (${validation.maxRowCountRatio})` });
  }
  if (spec.labels) {
    if (spec.labels.kind === 'event_within' && !binary) {
      ctx.addIssue({ code: 'custom', path: ['labels', 'kind'], message: `event_within gives 0/1 labels; a ${spec.task} model needs event_value` });
    }
    if (spec.labels.kind === 'event_value' && binary) {
      ctx.addIssue({ code: 'custom', path: ['labels', 'kind'], message: 'event_value gives numeric labels; a binary_classification model needs event_within' });
    }
    if (source !== 'labelled_examples') {
      ctx.addIssue({ code: 'custom', path: ['labels'], message: 'natural labels are written to labelled_examples: set data.source to "labelled_examples" or remove labels' });
    }
  }
}
