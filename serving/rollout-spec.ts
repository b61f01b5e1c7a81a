// The `rollout` section of the model spec (how a candidate goes from registered to champion: shadow,
// canary, A/B, interleaving phases, their durations, sample sizes and guardrails), and the plan a
// rollout runs: the same settings with durations in ms and the A/B sample size worked out. zod +
// pure functions only, so workflow code may import its types.
import { z } from 'zod';
import { isProportionMetric, ONLINE_METRICS, type OnlineMetric } from '../experiments/online-metrics';
import { sampleSizeTwoMeans, sampleSizeTwoProportions } from '../experiments/sample-size';
import type { GuardrailSettings } from '../experiments/guardrails';
import type { AbSettings } from '../experiments/ab-decision';
import { durationSchema, parseDurationMs } from '../spec/data-spec';
import { formatIssuePath } from '../spec/issue-path';

const metric = z.enum(ONLINE_METRICS);
const percent = z.number().gt(0).max(100);
const probability = z.number().gt(0).lt(1);
const ifInconclusive = z.enum(['keep_champion', 'promote']);

export const guardrailsSchema = z
  .object({
    /** Online metric compared with the champion's over the same period. */
    metric: metric.default('log_loss'),
    /** Labelled predictions each side needs before the metric is judged. */
    minLabelled: z.number().int().min(2).default(200),
    /** Worse than the champion by more than this (metric units) and significantly so → roll back. */
    maxDegradation: z.number().min(0).default(0.02),
    /** Significance of the always-valid (mSPRT) test of "worse by more than maxDegradation". */
    alpha: probability.default(0.05),
    /** mSPRT mixing scale; default max(maxDegradation, a quarter of the metric's standard deviation). */
    msprtTau: z.number().positive().optional(),
    /** Candidate error rate above the champion's by more than this → roll back. */
    maxErrorRateIncrease: z.number().min(0).max(1).default(0.01),
    minRequests: z.number().int().min(1).default(100),
    /** Candidate p99 above champion p99 × ratio + slack → roll back. */
    latencyP99Ratio: z.number().min(1).default(2),
    latencySlackMs: z.number().min(0).default(5),
    latencyP99MaxMs: z.number().positive().optional(),
    /** PSI of the candidate's predictions against the champion's above this → roll back. */
    maxPredictionPsi: z.number().positive().default(0.25),
    minPredictions: z.number().int().min(10).default(200),
  })
  .strict();

export const shadowPhaseSchema = z
  .object({
    kind: z.literal('shadow'),
    /** Share of requests mirrored to the candidate. */
    trafficPercent: percent.default(100),
    minDuration: durationSchema.default('10m'),
    /** Not enough labelled shadow predictions by then → the candidate does not go on. */
    maxDuration: durationSchema.default('24h'),
    /** Labelled requests both models scored before the comparison counts. */
    minLabelled: z.number().int().min(2).default(500),
    metric: metric.default('log_loss'),
    maxDegradation: z.number().min(0).default(0.02),
    alpha: probability.default(0.05),
    /** Share of shadow scorings allowed to fail. */
    maxErrorRate: z.number().min(0).max(1).default(0.01),
    maxPredictionPsi: z.number().positive().default(0.25),
  })
  .strict();

export const canaryPhaseSchema = z
  .object({
    kind: z.literal('canary'),
    /** Candidate traffic share at each step; the last step should be 100 (promotion follows it). */
    steps: z.array(percent).min(1).default([5, 25, 50, 100]),
    /** Each step lasts at least this long ... */
    stepDuration: durationSchema.default('15m'),
    /** ... and has this many labelled candidate predictions before the next step. */
    minLabelledPerStep: z.number().int().min(0).default(200),
    /** A step that cannot gather its labels by then ends the rollout (rolled back as inconclusive). */
    maxStepDuration: durationSchema.default('6h'),
    guardrails: guardrailsSchema.default(guardrailsSchema.parse({})),
  })
  .strict();

export const abPhaseSchema = z
  .object({
    kind: z.literal('ab'),
    /** Candidate (treatment) share; the champion (control) gets the same share, the rest stays on the champion outside the test. */
    treatmentPercent: z.number().gt(0).max(50).default(50),
    metric: metric.default('accuracy'),
    /** Minimum detectable effect, absolute, in the metric's units. */
    mde: z.number().positive().default(0.02),
    /** Baseline rate (proportion metrics) or standard deviation (losses); default: measured on the champion's recent traffic. */
    baseline: z.number().positive().optional(),
    alpha: probability.default(0.05),
    power: probability.default(0.8),
    /** Always-valid (mSPRT) looks that may stop early, instead of one test at the planned sample size. */
    sequential: z.boolean().default(false),
    /** mSPRT mixing scale; default the mde. */
    tau: z.number().positive().optional(),
    minDuration: durationSchema.default('1h'),
    maxDuration: durationSchema.default('14d'),
    ifInconclusive: ifInconclusive.default('keep_champion'),
    guardrails: guardrailsSchema.default(guardrailsSchema.parse({})),
  })
  .strict();

export const interleavingPhaseSchema = z
  .object({
    kind: z.literal('interleaving'),
    /** Share of units whose ranking requests are interleaved. */
    trafficPercent: percent.default(100),
    /** Impressions with at least one click before the preference test. */
    minImpressions: z.number().int().min(10).default(1000),
    alpha: probability.default(0.05),
    minDuration: durationSchema.default('1h'),
    maxDuration: durationSchema.default('7d'),
    ifInconclusive: ifInconclusive.default('keep_champion'),
  })
  .strict();

export const rolloutPhaseSchema = z.discriminatedUnion('kind', [shadowPhaseSchema, canaryPhaseSchema, abPhaseSchema, interleavingPhaseSchema], {
  error: 'each phase needs "kind": "shadow", "canary", "ab" or "interleaving"',
});

export const rolloutSpecSchema = z
  .object({
    /** Run in order; the candidate becomes champion after the last one passes. [] promotes at once. */
    phases: z.array(rolloutPhaseSchema).prefault([{ kind: 'shadow' }, { kind: 'canary' }]),
    /** How often guardrails and tests are evaluated. */
    checkInterval: durationSchema.default('30s'),
    /** Natural label for online metrics: this outcome event on the request within the window is a positive. */
    labelEvent: z.string().min(1).optional(),
    labelWindow: durationSchema.optional(),
    /** manual: wait for an operator's approve before the final promotion. */
    approval: z.enum(['auto', 'manual']).default('auto'),
    approvalTimeout: durationSchema.default('7d'),
  })
  .strict()
  .superRefine((spec, ctx) => {
    spec.phases.forEach((phase, i) => {
      if (phase.kind === 'canary') {
        phase.steps.forEach((step, k) => {
          if (k > 0 && step <= phase.steps[k - 1]) ctx.addIssue({ code: 'custom', path: ['phases', i, 'steps', k], message: `canary steps must increase: ${step} follows ${phase.steps[k - 1]}` });
        });
      }
      if ('minDuration' in phase && 'maxDuration' in phase && parseDurationMs(phase.minDuration)! > parseDurationMs(phase.maxDuration)!) {
        ctx.addIssue({ code: 'custom', path: ['phases', i, 'maxDuration'], message: `maxDuration ${phase.maxDuration} is shorter than minDuration ${phase.minDuration}` });
      }
      if (phase.kind === 'canary' && parseDurationMs(phase.stepDuration)! > parseDurationMs(phase.maxStepDuration)!) {
        ctx.addIssue({ code: 'custom', path: ['phases', i, 'maxStepDuration'], message: `maxStepDuration ${phase.maxStepDuration} is shorter than stepDuration ${phase.stepDuration}` });
      }
      if (phase.kind === 'ab' && isProportionMetric(phase.metric) && phase.baseline !== undefined && phase.baseline >= 1) {
        ctx.addIssue({ code: 'custom', path: ['phases', i, 'baseline'], message: `${phase.metric} is a rate: baseline must be in (0, 1)` });
      }
    });
    if (spec.phases.filter((p) => p.kind === 'interleaving').length > 1) ctx.addIssue({ code: 'custom', path: ['phases'], message: 'at most one interleaving phase' });
  });

export type RolloutSpec = z.output<typeof rolloutSpecSchema>;
export type RolloutSpecInput = z.input<typeof rolloutSpecSchema>;
export type RolloutPhaseSpec = z.output<typeof rolloutPhaseSchema>;

export class InvalidRolloutSpecError extends Error {
  override name = 'InvalidRolloutSpecError';
  constructor(readonly problems: string[]) {
    super(`invalid rollout spec: ${problems.join('; ')}`);
  }
}


/** Validates the section; throws InvalidRolloutSpecError listing every problem as "rollout.field: what is wrong". */
export function parseRolloutSpec(input: unknown): RolloutSpec {
  const result = rolloutSpecSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw new InvalidRolloutSpecError(result.error.issues.map((issue) => `${formatIssuePath(['rollout', ...issue.path], 'rollout')}: ${issue.message}`));
}

// ---- The plan a rollout runs --------------------------------------------------------------

export interface PlannedShadow {
  kind: 'shadow';
  trafficPercent: number;
  minDurationMs: number;
  maxDurationMs: number;
  minLabelled: number;
  metric: OnlineMetric;
  maxDegradation: number;
  alpha: number;
  maxErrorRate: number;
  maxPredictionPsi: number;
}

export interface PlannedCanary {
  kind: 'canary';
  steps: number[];
  stepDurationMs: number;
  maxStepDurationMs: number;
  minLabelledPerStep: number;
  guardrails: GuardrailSettings;
}

export interface PlannedAb {
  kind: 'ab';
  treatmentPercent: number;
  settings: AbSettings;
  mde: number;
  power: number;
  baseline: number;
  /** Where the baseline came from: the spec, or the champion's recent traffic (and how many labels). */
  baselineSource: string;
  minDurationMs: number;
  maxDurationMs: number;
  ifInconclusive: 'keep_champion' | 'promote';
  guardrails: GuardrailSettings;
}

export interface PlannedInterleaving {
  kind: 'interleaving';
  trafficPercent: number;
  minImpressions: number;
  alpha: number;
  minDurationMs: number;
  maxDurationMs: number;
  ifInconclusive: 'keep_champion' | 'promote';
}

export type PlannedPhase = PlannedShadow | PlannedCanary | PlannedAb | PlannedInterleaving;

export interface RolloutPlan {
  /** Unique per rollout attempt: "<workflow id>#<first run id>"; keys routing changes and rows. */
  rolloutId: string;
  model: string;
  candidate: string;
  /** The champion when the rollout started; null for a model's first version (promoted at once). */
  champion: string | null;
  /** Sticky-assignment salt of this rollout's splits. */
  salt: string;
  label: { eventType: string; windowMs: number };
  checkIntervalMs: number;
  approval: 'auto' | 'manual';
  approvalTimeoutMs: number;
  phases: PlannedPhase[];
}

const ms = (d: string): number => parseDurationMs(d)!;

/** The baseline an A/B phase sizes itself with: from the spec, or measured on the champion. */
export interface MeasuredBaseline {
  /** Mean of the metric over the champion's recent labelled predictions. */
  mean: number;
  standardDeviation: number;
  labelled: number;
}

function planAb(phase: z.output<typeof abPhaseSchema>, index: number, measured: MeasuredBaseline | null): PlannedAb {
  const proportion = isProportionMetric(phase.metric);
  let baseline: number;
  let source: string;
  if (phase.baseline !== undefined) {
    baseline = phase.baseline;
    source = 'spec';
  } else if (measured && measured.labelled >= 100) {
    baseline = proportion ? Math.min(0.99, Math.max(0.01, measured.mean)) : measured.standardDeviation;
    source = `champion's last ${measured.labelled} labelled predictions`;
  } else if (proportion) {
    // 0.5 maximises p(1 - p): the most conservative (largest) sample size when nothing is known.
    baseline = 0.5;
    source = 'no champion traffic yet: 0.5, the most conservative rate';
  } else {
    throw new InvalidRolloutSpecError([`rollout.phases[${index}].baseline: ${phase.metric} needs a standard deviation to size the test and the champion has no labelled traffic to measure it on; set baseline`]);
  }
  const power = { alpha: phase.alpha, power: phase.power };
  let samplesPerArm: number;
  if (proportion) {
    // Size for the harder direction: the one whose rates are closer to 0.5.
    const up = baseline + phase.mde < 1 ? sampleSizeTwoProportions(baseline, phase.mde, power) : 0;
    const down = baseline - phase.mde > 0 ? sampleSizeTwoProportions(baseline, -phase.mde, power) : 0;
    if (!up && !down) throw new InvalidRolloutSpecError([`rollout.phases[${index}].mde: ${phase.mde} is too large for a baseline rate of ${baseline}`]);
    samplesPerArm = Math.max(up, down);
  } else {
    samplesPerArm = sampleSizeTwoMeans(baseline, phase.mde, power);
  }
  return {
    kind: 'ab',
    treatmentPercent: phase.treatmentPercent,
    settings: { metric: phase.metric, alpha: phase.alpha, samplesPerArm, sequential: phase.sequential, tau: phase.tau ?? phase.mde, minSamplesPerLook: 100, maxSampleFactor: 2 },
    mde: phase.mde,
    power: phase.power,
    baseline,
    baselineSource: source,
    minDurationMs: ms(phase.minDuration),
    maxDurationMs: ms(phase.maxDuration),
    ifInconclusive: phase.ifInconclusive,
    guardrails: { ...phase.guardrails, metric: phase.metric },
  };
}

export interface PlanContext {
  rolloutId: string;
  model: string;
  candidate: string;
  champion: string | null;
  /** The model spec's natural-label rule, used when the rollout section names none. */
  modelLabel?: { eventType: string; window: string } | null;
  /** The champion's recent metric per A/B phase metric (null when it has no labelled traffic). */
  baselines: Partial<Record<OnlineMetric, MeasuredBaseline | null>>;
}

export function planRollout(spec: RolloutSpec, context: PlanContext): RolloutPlan {
  const phases = spec.phases.map((phase, i): PlannedPhase => {
    switch (phase.kind) {
      case 'shadow':
        return {
          kind: 'shadow',
          trafficPercent: phase.trafficPercent,
          minDurationMs: ms(phase.minDuration),
          maxDurationMs: ms(phase.maxDuration),
          minLabelled: phase.minLabelled,
          metric: phase.metric,
          maxDegradation: phase.maxDegradation,
          alpha: phase.alpha,
          maxErrorRate: phase.maxErrorRate,
          maxPredictionPsi: phase.maxPredictionPsi,
        };
      case 'canary':
        return { kind: 'canary', steps: phase.steps, stepDurationMs: ms(phase.stepDuration), maxStepDurationMs: ms(phase.maxStepDuration), minLabelledPerStep: phase.minLabelledPerStep, guardrails: phase.guardrails };
      case 'ab':
        return planAb(phase, i, context.baselines[phase.metric] ?? null);
      case 'interleaving':
        return {
          kind: 'interleaving',
          trafficPercent: phase.trafficPercent,
          minImpressions: phase.minImpressions,
          alpha: phase.alpha,
          minDurationMs: ms(phase.minDuration),
          maxDurationMs: ms(phase.maxDuration),
          ifInconclusive: phase.ifInconclusive,
        };
    }
  });
  return {
    rolloutId: context.rolloutId,
    model: context.model,
    candidate: context.candidate,
    champion: context.champion,
    salt: context.rolloutId,
    label: {
      eventType: spec.labelEvent ?? context.modelLabel?.eventType ?? 'click',
      windowMs: ms(spec.labelWindow ?? context.modelLabel?.window ?? '1h'),
    },
    checkIntervalMs: ms(spec.checkInterval),
    approval: spec.approval,
    approvalTimeoutMs: ms(spec.approvalTimeout),
    phases,
  };
}
