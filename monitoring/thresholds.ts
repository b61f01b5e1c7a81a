// The drift decision policy: which statistic decides for a feature, at which threshold, and the
// function that applies it (evaluateFeatureDrift -> DriftSignal). The defaults follow the seed
// lecture's advice: on large windows a p-value fires on shifts too small to matter, so above
// 1000 rows per window the decision is a distance with a fixed bound (normalised Wasserstein > 0.1,
// Jensen-Shannon > 0.1); only small windows use a test (KS / chi-square p < 0.05), where a
// distance is mostly sampling noise. Every threshold can be overridden per feature.

import { z } from 'zod';
import { categoricalDriftStatistics, type CategoricalDriftStatistics, type CategoricalSample } from './categorical-drift';
import { DEFAULT_PSI_BINS, DEFAULT_PSI_EPSILON, numericDriftStatistics, type KsMethod, type NumericDriftStatistics } from './numeric-drift';

export const DRIFT_METHODS = ['wasserstein', 'ks', 'psi', 'js', 'chi2', 'linf'] as const;
export type DriftMethod = (typeof DRIFT_METHODS)[number];
export type FeatureKind = 'numeric' | 'categorical';

/** Which methods apply to which kind of feature. */
export const METHODS_BY_KIND: Record<FeatureKind, readonly DriftMethod[]> = {
  numeric: ['wasserstein', 'ks', 'psi'],
  categorical: ['js', 'chi2', 'linf', 'psi'],
};

/** p-value methods fire when p < threshold; every other method fires when value > threshold. */
export const P_VALUE_METHODS: ReadonlySet<DriftMethod> = new Set<DriftMethod>(['ks', 'chi2']);

export const DEFAULT_THRESHOLDS: Readonly<Record<DriftMethod, number>> = {
  wasserstein: 0.1, // normalised by the reference std: a tenth of a standard deviation of mass moved
  ks: 0.05,
  psi: 0.25, // the conventional "significant" band
  js: 0.1,
  chi2: 0.05,
  linf: 0.1, // ten percentage points on the most-changed category
};

export const DEFAULT_MIN_ROWS_FOR_DISTANCE = 1000;
export const DEFAULT_PSI_BANDS = { moderate: 0.1, significant: 0.25 } as const;

function validateThreshold(method: DriftMethod, value: number): string | undefined {
  if (!Number.isFinite(value) || value <= 0) return `threshold for ${method} must be a finite number > 0`;
  if (P_VALUE_METHODS.has(method) && value >= 1) return `threshold for ${method} is a significance level: use a number in (0, 1), e.g. 0.05`;
  if ((method === 'js' || method === 'linf') && value > 1) return `threshold for ${method} must be at most 1 (the statistic lies in [0, 1])`;
  return undefined;
}

const methodSchema = z.enum(DRIFT_METHODS);

const thresholdsSchema = z
  .object({
    wasserstein: z.number().optional(),
    ks: z.number().optional(),
    psi: z.number().optional(),
    js: z.number().optional(),
    chi2: z.number().optional(),
    linf: z.number().optional(),
  })
  .strict()
  .superRefine((thresholds, ctx) => {
    for (const method of DRIFT_METHODS) {
      const value = thresholds[method];
      if (value === undefined) continue;
      const problem = validateThreshold(method, value);
      if (problem) ctx.addIssue({ code: 'custom', path: [method], message: problem });
    }
  });

const minRowsSchema = z.number().int('use a whole number of rows').min(0);
const binsSchema = z.number().int().min(2).max(1000);

const featureRuleSchema = z
  .object({
    /** Always decide with this method, whatever the window sizes. */
    method: methodSchema.optional(),
    /** Threshold for `method`; requires `method`, because the automatic choice mixes p-values and distances. */
    threshold: z.number().optional(),
    /** Per-method thresholds for this feature; keeps the automatic distance/test switch. */
    thresholds: thresholdsSchema.optional(),
    /** Both windows need more rows than this for the distance (instead of the test) to decide. */
    minRowsForDistance: minRowsSchema.optional(),
    psiBins: binsSchema.optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.threshold === undefined) return;
    if (rule.method === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['threshold'],
        message:
          'a threshold needs a method: add method (e.g. "wasserstein"), or use thresholds: { wasserstein: 0.2 } to keep the automatic distance/test switch',
      });
      return;
    }
    const problem = validateThreshold(rule.method, rule.threshold);
    if (problem) ctx.addIssue({ code: 'custom', path: ['threshold'], message: problem });
  });

const defaultsSchema = z
  .object({
    minRowsForDistance: minRowsSchema.optional(),
    /** Distance used for numeric features above minRowsForDistance. */
    numericDistance: z.enum(['wasserstein', 'psi']).optional(),
    /** Distance used for categorical features above minRowsForDistance. */
    categoricalDistance: z.enum(['js', 'linf', 'psi']).optional(),
    thresholds: thresholdsSchema.optional(),
    psiBins: binsSchema.optional(),
    psiEpsilon: z.number().gt(0).lt(0.01).optional(),
    psiBands: z
      .object({ moderate: z.number().positive(), significant: z.number().positive() })
      .strict()
      .refine((b) => b.moderate < b.significant, { message: 'psiBands.moderate must be below psiBands.significant' })
      .optional(),
    /** KS p-value method; 'auto' = exact up to 10,000 rows per window, asymptotic above (scipy's default). */
    ksMethod: z.enum(['auto', 'exact', 'asymp']).optional(),
    /**
     * In a drift report with m p-value decisions, 'bonferroni' (default) tests each at alpha / m so
     * that checking many features does not make a false alarm near-certain.
     */
    multipleTesting: z.enum(['bonferroni', 'none']).optional(),
    /** A report fires when at least this share of its features fired (default: any one feature). */
    minShareDrifted: z.number().min(0).max(1).optional(),
  })
  .strict();

/**
 * Drift policy, as it will appear in the model spec. Everything is optional; unset fields take
 * the defaults above. Example:
 *   { defaults: { thresholds: { wasserstein: 0.15 } },
 *     features: { age: { method: 'psi', threshold: 0.2 }, country: { thresholds: { js: 0.05 } } } }
 */
export const driftPolicySchema = z
  .object({
    defaults: defaultsSchema.optional(),
    features: z.record(z.string().min(1), featureRuleSchema).optional(),
  })
  .strict();

export type DriftPolicy = z.infer<typeof driftPolicySchema>;
export type FeatureRule = z.infer<typeof featureRuleSchema>;

/** Parses an untrusted policy; the error lists every problem with its path (e.g. features.age.threshold). */
export function parseDriftPolicy(input: unknown): DriftPolicy {
  const result = driftPolicySchema.safeParse(input);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  drift.${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`);
  throw new Error(`invalid drift policy:\n${lines.join('\n')}`);
}

export interface ResolvedDriftPolicy {
  minRowsForDistance: number;
  numericDistance: 'wasserstein' | 'psi';
  categoricalDistance: 'js' | 'linf' | 'psi';
  thresholds: Record<DriftMethod, number>;
  psiBins: number;
  psiEpsilon: number;
  psiBands: { moderate: number; significant: number };
  ksMethod: KsMethod;
  multipleTesting: 'bonferroni' | 'none';
  minShareDrifted: number;
  features: Record<string, FeatureRule>;
}

/** Validates a policy (or takes undefined) and fills in every default. */
export function resolveDriftPolicy(policy?: DriftPolicy | ResolvedDriftPolicy): ResolvedDriftPolicy {
  if (policy && isResolved(policy)) return policy;
  const parsed = parseDriftPolicy(policy ?? {});
  const d = parsed.defaults ?? {};
  return {
    minRowsForDistance: d.minRowsForDistance ?? DEFAULT_MIN_ROWS_FOR_DISTANCE,
    numericDistance: d.numericDistance ?? 'wasserstein',
    categoricalDistance: d.categoricalDistance ?? 'js',
    thresholds: { ...DEFAULT_THRESHOLDS, ...definedOnly(d.thresholds ?? {}) },
    psiBins: d.psiBins ?? DEFAULT_PSI_BINS,
    psiEpsilon: d.psiEpsilon ?? DEFAULT_PSI_EPSILON,
    psiBands: d.psiBands ?? { ...DEFAULT_PSI_BANDS },
    ksMethod: d.ksMethod ?? 'auto',
    multipleTesting: d.multipleTesting ?? 'bonferroni',
    minShareDrifted: d.minShareDrifted ?? 0,
    features: parsed.features ?? {},
  };
}

function isResolved(policy: DriftPolicy | ResolvedDriftPolicy): policy is ResolvedDriftPolicy {
  return 'thresholds' in policy && 'psiBands' in policy && 'ksMethod' in policy;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export interface FeatureDecision {
  method: DriftMethod;
  threshold: number;
  /** Why this method decides, for the report. */
  reason: string;
}

/** Chooses the deciding method and threshold for one feature at the given window sizes. */
export function decideMethod(policy: ResolvedDriftPolicy, feature: string, kind: FeatureKind, nRef: number, nCur: number): FeatureDecision {
  const rule = policy.features[feature] ?? {};
  const thresholdFor = (method: DriftMethod): number => rule.thresholds?.[method] ?? policy.thresholds[method];
  if (rule.method) {
    if (!METHODS_BY_KIND[kind].includes(rule.method)) {
      throw new Error(
        `drift policy: feature '${feature}' is ${kind} but its method is '${rule.method}'; use one of ${METHODS_BY_KIND[kind].join(', ')}`,
      );
    }
    return { method: rule.method, threshold: rule.threshold ?? thresholdFor(rule.method), reason: 'method set for this feature' };
  }
  const minRows = rule.minRowsForDistance ?? policy.minRowsForDistance;
  if (nRef > minRows && nCur > minRows) {
    const method = kind === 'numeric' ? policy.numericDistance : policy.categoricalDistance;
    return { method, threshold: thresholdFor(method), reason: `both windows > ${minRows} rows: distance` };
  }
  const method = kind === 'numeric' ? 'ks' : 'chi2';
  return { method, threshold: thresholdFor(method), reason: `a window has <= ${minRows} rows: test` };
}

export type PsiBand = 'none' | 'moderate' | 'significant';

export function psiBand(value: number, bands: { moderate: number; significant: number } = DEFAULT_PSI_BANDS): PsiBand {
  return value >= bands.significant ? 'significant' : value >= bands.moderate ? 'moderate' : 'none';
}

/** Where a signal comes from: an input feature, a random projection of the inputs, or the model's output. */
export type SignalSource = 'feature' | 'projection' | 'prediction';

interface DriftSignalBase {
  feature: string;
  source: SignalSource;
  method: DriftMethod;
  /** The deciding statistic (a p-value for ks / chi2). */
  value: number;
  /** The bound it is compared with (after any multiple-testing adjustment). */
  threshold: number;
  /** 'below' for p-values (fires when value < threshold), 'above' for distances. */
  firesWhen: 'above' | 'below';
  fired: boolean;
  n_ref: number;
  n_cur: number;
  psi: number;
  psiBand: PsiBand;
  reason: string;
}

export interface NumericDriftSignal extends DriftSignalBase {
  kind: 'numeric';
  statistics: NumericDriftStatistics;
}

export interface CategoricalDriftSignal extends DriftSignalBase {
  kind: 'categorical';
  statistics: CategoricalDriftStatistics;
}

export type DriftSignal = NumericDriftSignal | CategoricalDriftSignal;

function numericValue(method: DriftMethod, s: NumericDriftStatistics): number {
  switch (method) {
    case 'wasserstein':
      return s.normalizedWasserstein;
    case 'ks':
      return s.ks.pValue;
    case 'psi':
      return s.psi.value;
    default:
      throw new Error(`internal: ${method} is not a numeric method`);
  }
}

function categoricalValue(method: DriftMethod, s: CategoricalDriftStatistics): number {
  switch (method) {
    case 'js':
      return s.jsDistance;
    case 'chi2':
      return s.chiSquare.pValue;
    case 'linf':
      return s.linf;
    case 'psi':
      return s.psi.value;
    default:
      throw new Error(`internal: ${method} is not a categorical method`);
  }
}

export interface EvaluateOptions {
  source?: SignalSource;
  /**
   * Number of p-value decisions made together (a report's Bonferroni m). When > 1 and the policy
   * says 'bonferroni', a p-value method's threshold is divided by it.
   */
  simultaneousTests?: number;
  /**
   * KS p-value method when a distance decides and the p-value is only reported (default: the
   * policy's). Monitoring passes 'asymp': the exact p-value of unequal windows costs up to seconds
   * per feature and would decide nothing.
   */
  informationalKsMethod?: KsMethod;
}

function sampleSize(sample: CategoricalSample): number {
  return Array.isArray(sample) ? sample.length : (sample as { total: number }).total;
}

/**
 * Computes every drift statistic for one feature and decides whether it drifted under the policy.
 * `feature` names the policy entry and appears in errors; all statistics are returned whichever
 * method decides, so a report can show KS next to Wasserstein.
 */
export function evaluateFeatureDrift(
  kind: 'numeric',
  reference: Float64Array,
  current: Float64Array,
  policy: DriftPolicy | ResolvedDriftPolicy | undefined,
  feature: string,
  options?: EvaluateOptions,
): NumericDriftSignal;
export function evaluateFeatureDrift(
  kind: 'categorical',
  reference: CategoricalSample,
  current: CategoricalSample,
  policy: DriftPolicy | ResolvedDriftPolicy | undefined,
  feature: string,
  options?: EvaluateOptions,
): CategoricalDriftSignal;
export function evaluateFeatureDrift(
  kind: FeatureKind,
  reference: Float64Array | CategoricalSample,
  current: Float64Array | CategoricalSample,
  policy: DriftPolicy | ResolvedDriftPolicy | undefined,
  feature: string,
  options: EvaluateOptions = {},
): DriftSignal {
  const resolved = resolveDriftPolicy(policy);
  const rule = resolved.features[feature] ?? {};
  const source = options.source ?? 'feature';
  const bonferroni = resolved.multipleTesting === 'bonferroni' ? Math.max(1, options.simultaneousTests ?? 1) : 1;
  if (kind === 'numeric') {
    if (!(reference instanceof Float64Array) || !(current instanceof Float64Array)) {
      throw new Error(`drift: numeric feature '${feature}' needs Float64Array samples`);
    }
    const decision = decideMethod(resolved, feature, kind, reference.length, current.length);
    const statistics = numericDriftStatistics(reference, current, {
      feature,
      ksMethod: decision.method === 'ks' ? resolved.ksMethod : (options.informationalKsMethod ?? resolved.ksMethod),
      psiBins: rule.psiBins ?? resolved.psiBins,
      psiEpsilon: resolved.psiEpsilon,
    });
    return {
      kind: 'numeric',
      statistics,
      ...decide(feature, source, decision, numericValue(decision.method, statistics), bonferroni, reference.length, current.length, statistics.psi.value, resolved),
    };
  }
  if (reference instanceof Float64Array || current instanceof Float64Array) {
    throw new Error(`drift: categorical feature '${feature}' needs string values or category counts, got numbers`);
  }
  const nRef = sampleSize(reference);
  const nCur = sampleSize(current);
  const decision = decideMethod(resolved, feature, kind, nRef, nCur);
  const statistics = categoricalDriftStatistics(reference, current, { feature, psiEpsilon: resolved.psiEpsilon });
  return {
    kind: 'categorical',
    statistics,
    ...decide(feature, source, decision, categoricalValue(decision.method, statistics), bonferroni, nRef, nCur, statistics.psi.value, resolved),
  };
}

function decide(
  feature: string,
  source: SignalSource,
  decision: FeatureDecision,
  value: number,
  bonferroni: number,
  nRef: number,
  nCur: number,
  psiValue: number,
  policy: ResolvedDriftPolicy,
): DriftSignalBase {
  const isPValue = P_VALUE_METHODS.has(decision.method);
  const threshold = isPValue ? decision.threshold / bonferroni : decision.threshold;
  const reason = isPValue && bonferroni > 1 ? `${decision.reason}; Bonferroni over ${bonferroni} tests` : decision.reason;
  return {
    feature,
    source,
    method: decision.method,
    value,
    threshold,
    firesWhen: isPValue ? 'below' : 'above',
    fired: isPValue ? value < threshold : value > threshold,
    n_ref: nRef,
    n_cur: nCur,
    psi: psiValue,
    psiBand: psiBand(psiValue, policy.psiBands),
    reason,
  };
}

/** Policy entries that are not input features: the model's output (scores), random projections of the numeric inputs. */
const NUMERIC_NON_FEATURE = /^(prediction|projection:\d+)$/;

/**
 * Checks a policy against the model it monitors: every entry of `features` names one of the
 * model's features (or prediction, label, projection:<i>), and a method set for an entry fits its
 * kind (the label is categorical for a classifier, numeric for a regressor). Returns
 * [path inside the policy, message] per problem, so a spec or a request can name the field.
 */
export function driftPolicyProblems(
  policy: DriftPolicy,
  features: ReadonlyArray<{ name: string; type: FeatureKind }>,
  task: 'binary_classification' | 'regression' | 'multiclass' = 'binary_classification',
): Array<[string[], string]> {
  const problems: Array<[string[], string]> = [];
  const kinds = new Map(features.map((f) => [f.name, f.type]));
  for (const [name, rule] of Object.entries(policy.features ?? {})) {
    const kind: FeatureKind | undefined =
      kinds.get(name) ?? (NUMERIC_NON_FEATURE.test(name) ? 'numeric' : name === 'label' ? (task === 'regression' ? 'numeric' : 'categorical') : undefined);
    if (kind === undefined) {
      problems.push([['features', name], `no feature "${name}" in the model (features: ${[...kinds.keys()].join(', ')}; also prediction, label, projection:<i>)`]);
      continue;
    }
    if (rule.method && !METHODS_BY_KIND[kind].includes(rule.method)) {
      problems.push([['features', name, 'method'], `"${name}" is ${kind}: use one of ${METHODS_BY_KIND[kind].join(', ')}`]);
    }
  }
  return problems;
}
