// The model spec: what a team declares about a model (features, data window, trainer, promotion
// gate, maturity stage). Validated with zod; every error names the field and how to fix it.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { checkDataSections, dataSpecSchema, labelsSpecSchema } from './data-spec';
import { behaviouralTestFieldProblems, evaluationSpecProblems, evaluationSpecSchema } from '../evaluation/spec';
import { featureLayout } from './feature-layout';
import { rolloutSpecSchema } from '../serving/rollout-spec';
import { checkLifecycle, lifecycleFields } from './lifecycle-spec';
import { formatIssuePath } from './issue-path';
import { checkMonitoring, monitoringSpecSchema } from '../monitoring/monitoring-spec';

const identifier = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'use lowercase letters, digits, "-" or "_", starting with a letter (max 63 chars)');

const numericFeatureSchema = z.object({
  name: identifier,
  type: z.literal('numeric'),
});

const categoricalFeatureSchema = z.object({
  name: identifier,
  type: z.literal('categorical'),
  /** Known values; unset → learned from the training window (most frequent first, up to maxCategories). */
  vocabulary: z.array(z.string().min(1)).min(1).optional(),
  maxCategories: z.number().int().min(1).max(10_000).default(50),
});

/** A feature is numeric unless it says otherwise; categorical ones are one-hot encoded inside the model. */
export const featureSpecSchema = z.preprocess(
  (value) => (value && typeof value === 'object' && !('type' in value) ? { ...value, type: 'numeric' } : value),
  z.discriminatedUnion('type', [numericFeatureSchema, categoricalFeatureSchema]),
);

export type FeatureSpec = z.output<typeof featureSpecSchema>;
export { featureLayout, type FeatureLayout } from './feature-layout';


// The data section (source, window, curation, validation thresholds) and the labels section
// (natural-label rule) live in data-spec.ts; see there for every field and its default.
export { dataSpecSchema, labelsSpecSchema, parseDurationMs, type DataSpec, type LabelRule } from './data-spec';

// Settings every built-in (TypeScript) trainer shares.
const builtinTrainerFields = {
  optimizer: z.enum(['sgd', 'adam']).default('adam'),
  epochs: z.number().int().min(1).max(10_000).default(30),
  batchSize: z.number().int().min(1).max(1_000_000).default(64),
  learningRate: z.number().gt(0).max(10).default(0.05),
  l2: z.number().min(0).default(1e-4),
  /** Epochs without validation improvement before stopping; 0 turns early stopping off. */
  earlyStoppingPatience: z.number().int().min(0).default(5),
  seed: z.number().int().default(42),
  /** A resumable checkpoint goes to the artifact store every this many epochs (retries resume from it). */
  checkpointEveryEpochs: z.number().int().min(1).max(10_000).default(1),
};

const logisticTrainerSchema = z.object({ type: z.literal('logistic_regression'), ...builtinTrainerFields }).strict();
const softmaxTrainerSchema = z.object({ type: z.literal('softmax_regression'), ...builtinTrainerFields }).strict();
const mlpTrainerSchema = z
  .object({
    type: z.literal('mlp'),
    ...builtinTrainerFields,
    /** Hidden layer widths, input side first; [] is a linear model (e.g. linear regression). */
    hiddenLayers: z.array(z.number().int().min(1).max(4096)).max(16).default([32, 16]),
    activation: z.enum(['relu', 'tanh']).default('relu'),
    learningRate: z.number().gt(0).max(10).default(0.01),
  })
  .strict();

/** An external trainer (e.g. the PyTorch reference trainer) run as a command: training/COMMAND_TRAINER.md. */
const commandTrainerSchema = z
  .object({
    type: z.literal('command'),
    /** argv: the program and its arguments (no shell), e.g. ["python", "-m", "flywheel_torch_trainer"]. */
    command: z.array(z.string().min(1)).min(1, 'give the program to run, e.g. ["python", "-m", "flywheel_torch_trainer"]'),
    /** Extra environment variables; FLYWHEEL_* names are reserved for the contract. */
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment variable names are letters, digits and "_"'), z.string())
      .refine((env) => !Object.keys(env).some((k) => k.startsWith('FLYWHEEL_')), 'FLYWHEEL_* variables are set by Flywheel; rename yours')
      .default({}),
    /** Working directory (relative paths resolve against the worker's current directory). */
    cwd: z.string().min(1).optional(),
    /**
     * The command is killed (with its process group) after this long. The default stays under the
     * retrain workflow's 2 h startToClose so the trainer's own timeout, with its stderr, is what fails.
     */
    timeoutMinutes: z.number().gt(0).max(7 * 24 * 60).default(110),
    /** Passed to the command as FLYWHEEL_HPARAMS (JSON). */
    hyperparameters: z.record(z.string(), z.unknown()).default({}),
    /** Asked of the command through FLYWHEEL_CHECKPOINT_EVERY. */
    checkpointEveryEpochs: z.number().int().min(1).max(10_000).default(1),
  })
  .strict();

/** The trainer: a built-in one (logistic_regression is the default) or an external command. */
export const trainerSpecSchema = z.preprocess(
  (value) => (value && typeof value === 'object' && !('type' in value) ? { ...value, type: 'logistic_regression' } : value),
  z.discriminatedUnion('type', [logisticTrainerSchema, softmaxTrainerSchema, mlpTrainerSchema, commandTrainerSchema]),
);

export type TrainerSpec = z.output<typeof trainerSpecSchema>;
export type BuiltinTrainerSpec = Exclude<TrainerSpec, { type: 'command' }>;
export type CommandTrainerSpec = Extract<TrainerSpec, { type: 'command' }>;

export const modelSpecSchema = z
  .object({
    name: identifier,
    description: z.string().max(2000).optional(),
    task: z.enum(['binary_classification', 'regression', 'multiclass']).default('binary_classification'),
    stage: z
      .union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)], {
        error: 'stage must be 1, 2, 3 or 4 (1 manual, 2 scheduled, 3 scheduled and stateful, 4 continual), e.g. "stage": 2 with a schedule',
      })
      .default(1),
    features: z
      .array(featureSpecSchema)
      .min(1, 'declare at least one feature')
      // On the array rather than the whole spec, so it is reported alongside other fields' errors.
      .superRefine((features, ctx) => {
        const seen = new Set<string>();
        features.forEach((feature, index) => {
          if (seen.has(feature.name)) {
            ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate feature "${feature.name}": feature names must be unique` });
          }
          seen.add(feature.name);
        });
      }),
    data: dataSpecSchema.default(dataSpecSchema.parse({})),
    /** Natural-label rule: how logged predictions and outcome events become labelled rows. */
    labels: labelsSpecSchema.optional(),
    trainer: trainerSpecSchema.default(trainerSpecSchema.parse({})),
    /** Offline tests and sign-off rules (evaluation/spec.ts documents every rule and default). */
    evaluation: evaluationSpecSchema.default(evaluationSpecSchema.parse({})),
    /** Staged rollout after the offline gate: shadow, canary, A/B or interleaving (serving/rollout-spec.ts). Unset: promote directly. */
    rollout: rolloutSpecSchema.optional(),
    /** Monitoring: the drift policy (per-feature thresholds) and default window (monitoring/monitoring-spec.ts). Unset: defaults. */
    monitoring: monitoringSpecSchema.optional(),
    // Stage settings: schedule (2, 3), stateful recalibration (3, 4), continual triggers (4), dependsOn.
    ...lifecycleFields,
  })
  .strict()
  // Checks across the data/labels sections and task/features (data-spec.ts).
  .superRefine((spec, ctx) => checkDataSections(spec, ctx))
  .superRefine((spec, ctx) => checkLifecycle(spec, ctx))
  .superRefine((spec, ctx) => checkMonitoring(spec, ctx))
  .superRefine((spec, ctx) => {
    if (spec.task === 'multiclass') {
      ctx.addIssue({ code: 'custom', path: ['task'], message: 'multiclass: the trainers support it (softmax_regression, mlp) but the offline gate does not yet; use binary_classification or regression' });
    }
    if (spec.task === 'regression' && spec.trainer.type === 'logistic_regression') {
      ctx.addIssue({ code: 'custom', path: ['trainer', 'type'], message: 'logistic_regression is a binary classifier: use mlp (or a command trainer) for regression' });
    }
  })
  // The evaluation rules against the task and the features, so a mistake fails at apply rather
  // than after a whole pull and training (the evaluate step still checks the candidate's inputs).
  .superRefine((spec, ctx) => checkEvaluationAgainstModel(spec, ctx));

function checkEvaluationAgainstModel(spec: { task: 'binary_classification' | 'regression' | 'multiclass'; features: FeatureSpec[]; evaluation: z.output<typeof evaluationSpecSchema> }, ctx: z.RefinementCtx): void {
  if (spec.task === 'multiclass') return; // reported above; the gate has no metrics for it
  for (const problem of evaluationSpecProblems(spec.evaluation, spec.task)) {
    const [field, ...rest] = problem.split(': ');
    ctx.addIssue({ code: 'custom', path: ['evaluation', ...field.split('.')], message: rest.join(': ') });
  }
  const layout = featureLayout(spec.features);
  spec.evaluation.behavioural.forEach((test, i) => {
    for (const [field, message] of behaviouralTestFieldProblems(test, layout)) {
      ctx.addIssue({ code: 'custom', path: ['evaluation', 'behavioural', i, ...field.split('.')], message });
    }
  });
  const known = new Set(spec.features.map((f) => f.name));
  const names = `features: ${[...known].join(', ')}`;
  spec.evaluation.slices.features.forEach((feature, i) => {
    if (!known.has(feature)) ctx.addIssue({ code: 'custom', path: ['evaluation', 'slices', 'features', i], message: `no feature "${feature}" in the model (${names})` });
  });
  spec.evaluation.slices.cohorts.forEach((cohort, i) => {
    const conditions = Array.isArray(cohort.where) ? cohort.where : [cohort.where];
    conditions.forEach((condition, j) => {
      if (!known.has(condition.feature)) {
        const path = Array.isArray(cohort.where) ? ['evaluation', 'slices', 'cohorts', i, 'where', j, 'feature'] : ['evaluation', 'slices', 'cohorts', i, 'where', 'feature'];
        ctx.addIssue({ code: 'custom', path, message: `no feature "${condition.feature}" in the model (${names})` });
      }
    });
  });
}

export type ModelSpec = z.output<typeof modelSpecSchema>;
export type ModelSpecInput = z.input<typeof modelSpecSchema>;

export class InvalidSpecError extends Error {
  override name = 'InvalidSpecError';
  constructor(readonly problems: string[]) {
    super(`invalid model spec: ${problems.join('; ')}`);
  }
}


/** Validates a spec; throws InvalidSpecError listing every problem as "field: what is wrong". */
export function parseModelSpec(input: unknown): ModelSpec {
  const result = modelSpecSchema.safeParse(input);
  if (result.success) return result.data;
  throw new InvalidSpecError(result.error.issues.map((issue) => `${formatIssuePath(issue.path, '(spec)')}: ${issue.message}`));
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Hash of the normalised spec: equal specs (defaults filled, key order ignored) hash equal. */
export function specHash(spec: ModelSpec): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex');
}

/** Trainer settings that change how a model is fitted, not what model it is. */
const FITTING_ONLY_TRAINER_KEYS = new Set(['optimizer', 'epochs', 'batchSize', 'learningRate', 'l2', 'earlyStoppingPatience', 'seed', 'checkpointEveryEpochs', 'timeoutMinutes', 'env', 'cwd', 'hyperparameters']);

/**
 * Identity of the model's architecture: task, features (names, types, vocabularies) and the
 * trainer's structural settings. Two versions with equal hashes can warm-start one from the other;
 * a different hash is a model iteration and forces a stateless retrain.
 */
export function architectureHash(spec: ModelSpec): string {
  const structural = Object.fromEntries(Object.entries(spec.trainer).filter(([key]) => !FITTING_ONLY_TRAINER_KEYS.has(key)));
  return createHash('sha256').update(canonicalJson({ task: spec.task, features: spec.features, trainer: structural })).digest('hex');
}
