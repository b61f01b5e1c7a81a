// The maturity-stage settings of the model spec: the schedule stages 2 and 3 run on, how stateful
// training recalibrates, stage 4's triggers, and upstream dependencies. Pure zod, safe in workflows.
import { z } from 'zod';
import { durationSchema, parseDurationMs } from './data-spec';

const modelName = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'name another model (lowercase letters, digits, "-" or "_")');

/** The @-names Temporal's schedule cron accepts for common periods (all UTC). */
export const CRON_NAMES = ['@hourly', '@daily', '@midnight', '@weekly', '@monthly', '@yearly', '@annually'] as const;

/** Each field's bounds; month and weekday also by (case-insensitive) name, the first name meaning `min`. */
const CRON_FIELDS: ReadonlyArray<{ name: string; min: number; max: number; names?: readonly string[] }> = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  // 0 and 7 are both Sunday, as in Temporal's parser.
  { name: 'day-of-week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

const CRON_FIX = 'use 5 fields "minute hour day-of-month month day-of-week" in UTC, e.g. "0 3 * * *" (03:00 every day) or "*/15 * * * *", or one of @hourly, @daily, @weekly, @monthly, @yearly';

/**
 * What is wrong with a schedule cron expression, or null. Accepts the subset of Temporal's cron
 * that means the same everywhere: 5 fields of numbers (month and weekday also by name), `*`,
 * ranges `a-b`, steps `/n` and lists `a,b`; or an @-name. Temporal's extras (seconds and year
 * fields, CRON_TZ=, @every, `#`) are refused: the spec's schedule is UTC, and `every` covers intervals.
 */
export function cronProblem(expression: string): string | null {
  const text = expression.trim();
  if (text.startsWith('@')) {
    if ((CRON_NAMES as readonly string[]).includes(text)) return null;
    if (/^@every\b/i.test(text)) return '@every is not a cron name: use schedule.every (e.g. "6h") instead of schedule.cron';
    // Temporal matches the names in lowercase only.
    return (CRON_NAMES as readonly string[]).includes(text.toLowerCase()) ? `write ${text.toLowerCase()} in lowercase` : `unknown name ${text}`;
  }
  const fields = text.split(/\s+/);
  if (fields.length !== 5) return `${fields.length} field${fields.length === 1 ? '' : 's'}, not 5`;
  const problems: string[] = [];
  fields.forEach((field, i) => {
    const rule = CRON_FIELDS[i];
    const value = (token: string): number | null => {
      if (/^\d{1,2}$/.test(token)) return Number(token);
      const index = rule.names?.indexOf(token.toUpperCase()) ?? -1;
      return index >= 0 ? index + rule.min : null;
    };
    for (const item of field.split(',')) {
      const match = /^([^/]+)(?:\/(\d{1,2}))?$/.exec(item);
      const [range, step] = match ? [match[1], match[2]] : [item, undefined];
      const bounds = range === '*' ? [rule.min, rule.max] : range.split('-').map(value);
      if (!match || bounds.length > 2 || bounds.some((b) => b === null) || (step !== undefined && Number(step) < 1)) {
        problems.push(`${rule.name} "${field}" is not a number, range, step or list`);
        return;
      }
      const [from, to = from] = bounds as number[];
      if (from < rule.min || to > rule.max) {
        problems.push(`${rule.name} "${field}" is outside ${rule.min}-${rule.max}`);
        return;
      }
      if (to < from) {
        problems.push(`${rule.name} range "${range}" ends before it starts`);
        return;
      }
    }
  });
  return problems.length ? problems.join(', ') : null;
}

/** Stages 2 and 3: a Temporal Schedule per model. Exactly one of `every` or `cron`. */
export const scheduleSpecSchema = z
  .object({
    /** Interval, e.g. "1d", "6h" (at least 1s). */
    every: durationSchema.optional(),
    /** Offset of the interval's phase, shorter than `every`, e.g. every "1d" at offset "3h" → 03:00 UTC. */
    offset: durationSchema.optional(),
    /** Standard 5-field cron expression (UTC), e.g. "0 3 * * *", or @hourly, @daily, @weekly, @monthly, @yearly. */
    cron: z
      .string()
      .optional()
      .superRefine((cron, ctx) => {
        const problem = cron === undefined ? null : cronProblem(cron);
        if (problem) ctx.addIssue({ code: 'custom', message: `"${cron}" is not a valid cron expression (${problem}): ${CRON_FIX}` });
      }),
    /** Random delay added to each run so many models do not start at the same second (e.g. "5m"); none by default. */
    jitter: durationSchema.optional(),
    /** How far back missed runs are caught up after an outage (older ones are skipped). */
    catchupWindow: durationSchema.default('1h'),
    /** What to do when the previous run is still going: skip (default) never runs two at once. */
    overlap: z.enum(['skip', 'buffer_one', 'cancel_other', 'allow_all']).default('skip'),
    /** Create the schedule paused. */
    paused: z.boolean().default(false),
  })
  .strict()
  .superRefine((schedule, ctx) => {
    if (!schedule.every === !schedule.cron) ctx.addIssue({ code: 'custom', message: 'set exactly one of schedule.every (e.g. "1d") or schedule.cron (e.g. "0 3 * * *")' });
    // Temporal refuses these at the schedule ("interval is too small", "phase cannot be greater than
    // Interval"); caught here so the error names the field and nothing is stored.
    const every = schedule.every === undefined ? null : parseDurationMs(schedule.every);
    if (every !== null && every < 1000) ctx.addIssue({ code: 'custom', path: ['every'], message: `"${schedule.every}" is shorter than Temporal's smallest interval: use at least "1s"` });
    if (schedule.offset !== undefined) {
      const offset = parseDurationMs(schedule.offset);
      if (schedule.cron) ctx.addIssue({ code: 'custom', path: ['offset'], message: 'offset shifts schedule.every; with schedule.cron put the time in the expression (e.g. "0 3 * * *") and remove offset' });
      else if (every !== null && offset !== null && offset >= every) {
        ctx.addIssue({ code: 'custom', path: ['offset'], message: `"${schedule.offset}" must be shorter than schedule.every ("${schedule.every}"), e.g. every "1d" at offset "3h"` });
      }
    }
  });

/** Stages 3 and 4: warm-start from the champion on data since its high-water mark. */
export const statefulSpecSchema = z
  .object({
    /** Every N stateful updates, run one stateless retrain on the full window to recalibrate. */
    recalibrateEvery: z.number().int().min(1).max(10_000).default(7),
    /**
     * Built-in trainers: a stateful update merges the new window's feature moments into the
     * parent's (Welford/Chan) and re-folds the standardisation into the weights, so the exported
     * graph standardises with statistics of all data seen, not only the first window's. Default
     * off: the parent's standardisation is kept. Needs the parent's checkpoint (built-in trainers
     * always write one); a parent with only an ONNX file keeps its standardisation.
     */
    restandardize: z.boolean().optional(),
  })
  .strict();

const volumeTriggerSchema = z
  .object({
    /** Fire when labelled rows since the last training grew by this percentage of that training's rows. */
    percentNew: z.number().gt(0).optional(),
    /** Fire every N new labelled rows (e.g. 512, a micro-batch). */
    everyRows: z.number().int().min(1).optional(),
  })
  .strict()
  .refine((v) => v.percentNew !== undefined || v.everyRows !== undefined, { message: 'set volume.percentNew or volume.everyRows' });

/**
 * Metrics the performance trigger can watch, with the task each fits and its direction: a
 * higher-is-better metric (auc, accuracy) fires when the champion's value falls below the bound,
 * an error metric (log_loss for classifiers; mae, rmse for regressors) when it rises above it.
 */
export const PERFORMANCE_TRIGGER_METRICS = {
  auc: { task: 'binary_classification', direction: 'higher_is_better' },
  accuracy: { task: 'binary_classification', direction: 'higher_is_better' },
  log_loss: { task: 'binary_classification', direction: 'lower_is_better' },
  mae: { task: 'regression', direction: 'lower_is_better' },
  rmse: { task: 'regression', direction: 'lower_is_better' },
} as const;

export type PerformanceTriggerMetric = keyof typeof PERFORMANCE_TRIGGER_METRICS;

type ModelTask = 'binary_classification' | 'regression' | 'multiclass';

// The metric enum is the table's keys; a metric whose task differs from the model's is refused
// (checkLifecycle), so a new metric is one entry in PERFORMANCE_TRIGGER_METRICS.
const PERFORMANCE_METRICS = Object.keys(PERFORMANCE_TRIGGER_METRICS) as [PerformanceTriggerMetric, ...PerformanceTriggerMetric[]];

const performanceTriggerSchema = z
  .object({
    metric: z.enum(PERFORMANCE_METRICS).default('auc'),
    /** Fire when the champion's metric on recent labelled rows falls below this (error metrics log_loss, mae, rmse: rises above). */
    bound: z.number(),
    /** How many of the most recent labelled rows to score. */
    windowRows: z.number().int().min(50).default(1000),
  })
  .strict();

const driftTriggerSchema = z
  .object({
    /** Fire when at least this share of features drifted (monitoring's default policy per feature). */
    shareDrifted: z.number().gt(0).max(1).default(0.25),
    windowRows: z.number().int().min(50).default(2000),
  })
  .strict();

/** Stage 4: a long-running workflow checks these every `checkEvery` and starts one retrain when any fires. */
export const continualSpecSchema = z
  .object({
    checkEvery: durationSchema.default('5m'),
    triggers: z
      .object({
        time: z.object({ every: durationSchema }).strict().optional(),
        volume: volumeTriggerSchema.optional(),
        performance: performanceTriggerSchema.optional(),
        drift: driftTriggerSchema.optional(),
        /** Retrain when a model in dependsOn gets a new champion. */
        upstream: z.boolean().default(true),
      })
      .strict(),
    /** Minimum time between two retrains started by triggers. */
    cooldown: durationSchema.default('30m'),
    /** At most this many triggered retrains per UTC day. */
    dailyBudget: z.number().int().min(1).max(10_000).default(24),
  })
  .strict();

export const lifecycleFields = {
  schedule: scheduleSpecSchema.optional(),
  stateful: statefulSpecSchema.default(statefulSpecSchema.parse({})),
  continual: continualSpecSchema.optional(),
  /** Upstream models (e.g. an embedding model) whose new champion retrains this one. */
  dependsOn: z.array(modelName).default([]),
};

export type ScheduleSpec = z.output<typeof scheduleSpecSchema>;
export type ContinualSpec = z.output<typeof continualSpecSchema>;

interface LifecycleView {
  name: string;
  task: ModelTask;
  stage: number;
  schedule?: ScheduleSpec;
  continual?: ContinualSpec;
  dependsOn: string[];
}

/** Cross-field rules: each stage has the settings it needs; a model cannot depend on itself. */
export function checkLifecycle(spec: LifecycleView, ctx: z.RefinementCtx): void {
  if ((spec.stage === 2 || spec.stage === 3) && !spec.schedule) {
    ctx.addIssue({ code: 'custom', path: ['schedule'], message: `stage ${spec.stage} runs on a schedule: add schedule.every (e.g. "1d") or schedule.cron` });
  }
  if (spec.stage === 4) {
    const t = spec.continual?.triggers;
    if (!spec.continual) ctx.addIssue({ code: 'custom', path: ['continual'], message: 'stage 4 is trigger-driven: add continual.triggers (time, volume, performance, drift or upstream)' });
    else if (!t?.time && !t?.volume && !t?.performance && !t?.drift && !(t?.upstream && spec.dependsOn.length)) {
      ctx.addIssue({ code: 'custom', path: ['continual', 'triggers'], message: 'declare at least one trigger: time, volume, performance, drift, or upstream with dependsOn' });
    }
  }
  const performance = spec.continual?.triggers.performance;
  if (performance) {
    const fitsTask = (metric: PerformanceTriggerMetric): boolean => (PERFORMANCE_TRIGGER_METRICS[metric].task as ModelTask) === spec.task;
    if (!fitsTask(performance.metric)) {
      const fitting = PERFORMANCE_METRICS.filter(fitsTask);
      const fix = fitting.length ? `use one of ${fitting.join(', ')}` : `no performance-trigger metric scores ${spec.task} models yet: use the time, volume or drift trigger`;
      ctx.addIssue({
        code: 'custom',
        path: ['continual', 'triggers', 'performance', 'metric'],
        message: `"${performance.metric}" scores ${PERFORMANCE_TRIGGER_METRICS[performance.metric].task} models, not ${spec.task}; ${fix}`,
      });
    }
  }
  if (spec.dependsOn.includes(spec.name)) ctx.addIssue({ code: 'custom', path: ['dependsOn'], message: `a model cannot depend on itself ("${spec.name}")` });
}
