// The model spec's `monitoring` section: the drift policy monitoring and the stage-4 drift trigger
// judge features with (per-feature methods and thresholds, monitoring/thresholds.ts), and the
// production window `flywheel monitor` uses when none is given. Every field is optional; unset,
// monitoring keeps its defaults. Pure zod (the spec is parsed everywhere, workflows' types included).
import { z } from 'zod';
import { durationSchema, parseDurationMs } from '../spec/data-spec';
import { driftPolicyProblems, driftPolicySchema, type FeatureKind } from './thresholds';

/** "2000" / "rows:2000" → { rows: 2000 }; "1d" / "duration:1d" → { duration: "1d" } (the CLI's --window forms). */
function windowFromText(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim().replace(/^(rows|duration):/, '');
  return /^\d+$/.test(text) ? { rows: Number(text) } : { duration: text };
}

/** The production window: the latest `rows` served predictions, or those of the last `duration`. */
export const monitoringWindowSchema = z.preprocess(
  windowFromText,
  z
    .object({
      rows: z.number().int('use a whole number of rows').min(1).optional(),
      duration: durationSchema.optional(),
    })
    .strict()
    .superRefine((window, ctx) => {
      if ((window.rows === undefined) === (window.duration === undefined)) {
        ctx.addIssue({ code: 'custom', message: 'set exactly one of rows (the latest N served rows, e.g. 2000) or duration (e.g. "1d"); text "2000" or "1d" also works' });
      }
    })
    .transform((window): { rows: number } | { duration: string } => (window.rows !== undefined ? { rows: window.rows } : { duration: window.duration! })),
);

export const monitoringSpecSchema = z
  .object({
    /**
     * Drift policy for `flywheel monitor` and the stage-4 drift trigger, e.g.
     * { "defaults": { "thresholds": { "wasserstein": 0.15 } }, "features": { "price": { "thresholds": { "wasserstein": 0.5 } } } }.
     * Unset: the defaults (distances above 1000 rows per window, tests below).
     */
    drift: driftPolicySchema.optional(),
    /** Default window of `flywheel monitor` (default "1d"). The drift trigger keeps its own windowRows. */
    window: monitoringWindowSchema.optional(),
    /**
     * Run monitoring on this interval at any stage (e.g. "1h"): a Temporal Schedule
     * `monitoring-schedule/<model>` starts monitoringWorkflow, which computes and stores the window's
     * signals (monitoring_signals) and refreshes the model's monitoring report. Unset: monitoring
     * runs from `flywheel monitor` and, at stage 4, from each trigger check.
     */
    every: durationSchema.optional(),
  })
  .strict()
  .superRefine((section, ctx) => {
    const every = section.every === undefined ? undefined : parseDurationMs(section.every);
    if (every !== undefined && every !== null && every < 60_000) {
      ctx.addIssue({ code: 'custom', path: ['every'], message: `monitoring.every "${section.every}" is under a minute: each run reads a whole production window; use "1m" or more, e.g. "1h"` });
    }
  });

export type MonitoringSpec = z.output<typeof monitoringSpecSchema>;

/** Cross-field rule: the policy's per-feature entries name the model's features, with methods that fit their kind. */
export function checkMonitoring(
  spec: { monitoring?: MonitoringSpec; features: ReadonlyArray<{ name: string; type: FeatureKind }>; task: 'binary_classification' | 'regression' | 'multiclass' },
  ctx: z.RefinementCtx,
): void {
  const policy = spec.monitoring?.drift;
  if (!policy) return;
  for (const [path, message] of driftPolicyProblems(policy, spec.features, spec.task)) ctx.addIssue({ code: 'custom', path: ['monitoring', 'drift', ...path], message });
}
