// The maturity-stage settings of the model spec: the schedule stages 2 and 3 run on, how stateful
// training recalibrates, stage 4's triggers, and upstream dependencies. Pure zod, safe in workflows.
import { z } from 'zod';
import { durationSchema } from './data-spec';

const modelName = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'name another model (lowercase letters, digits, "-" or "_")');

/** Stages 2 and 3: a Temporal Schedule per model. Exactly one of `every` or `cron`. */
export const scheduleSpecSchema = z
  .object({
    /** Interval, e.g. "1d", "6h". */
    every: durationSchema.optional(),
    /** Offset of the interval's phase, e.g. every "1d" at offset "3h" → 03:00 UTC. */
    offset: durationSchema.optional(),
    /** Standard 5-field cron expression (UTC), e.g. "0 3 * * *". */
    cron: z.string().min(9).optional(),
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
  });

/** Stages 3 and 4: warm-start from the champion on data since its high-water mark. */
export const statefulSpecSchema = z
  .object({
    /** Every N stateful updates, run one stateless retrain on the full window to recalibrate. */
    recalibrateEvery: z.number().int().min(1).max(10_000).default(7),
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

const performanceTriggerSchema = z
  .object({
    metric: z.enum(['auc', 'accuracy', 'log_loss']).default('auc'),
    /** Fire when the champion's metric on recent labelled rows falls below this (log_loss: rises above). */
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
  if (spec.dependsOn.includes(spec.name)) ctx.addIssue({ code: 'custom', path: ['dependsOn'], message: `a model cannot depend on itself ("${spec.name}")` });
}
