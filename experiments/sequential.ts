// Always-valid inference for A/B tests that are looked at continuously: the mixture sequential
// probability ratio test (mSPRT) with a normal mixing distribution (Johari, Pekelis & Walsh,
// "Always Valid Inference", 2017). Peeking at its p-value after every batch keeps the type I error
// at alpha, unlike re-running a fixed-horizon test on each look.
import type { ProportionSample, SampleSummary } from './two-sample';

export interface MsprtResult {
  /** treatment − control. */
  estimate: number;
  /** Variance of the estimate (the sum of both arms' squared standard errors). */
  variance: number;
  /** log of the mixture likelihood ratio Λ against H0: difference = theta0. */
  logLikelihoodRatio: number;
  /** Always-valid p-value: min(previous, 1 / Λ), never above 1 and never increasing over looks. */
  pValue: number;
  /** Always-valid (1 − alpha) confidence sequence for the difference at this look. */
  confidenceInterval: [number, number];
}

export interface MsprtOptions {
  /** Standard deviation of the normal mixing distribution over effects: the effect size the test is tuned to (e.g. the MDE). */
  tau: number;
  /** Null difference; default 0. */
  theta0?: number;
  /** The p-value from the previous look (1 at the first look). */
  previousPValue?: number;
  alpha?: number;
}

/**
 * Normal-mixture mSPRT for an estimate that is approximately N(theta, V):
 *   Λ = sqrt(V / (V + τ²)) · exp(τ² (Δ − θ0)² / (2 V (V + τ²))).
 * With n per arm and common variance σ², V = 2σ²/n and this is the paper's two-sample statistic.
 */
export function msprtNormal(estimate: number, variance: number, options: MsprtOptions): MsprtResult {
  const { tau } = options;
  const theta0 = options.theta0 ?? 0;
  const previous = options.previousPValue ?? 1;
  const alpha = options.alpha ?? 0.05;
  if (!(tau > 0 && Number.isFinite(tau))) throw new RangeError(`msprtNormal: tau must be finite and > 0, got ${tau}`);
  if (!(previous > 0 && previous <= 1)) throw new RangeError(`msprtNormal: previous p-value must be in (0, 1], got ${previous}`);
  if (!(variance >= 0) || !Number.isFinite(estimate)) throw new RangeError(`msprtNormal: need a finite estimate and a variance >= 0 (got ${estimate}, ${variance})`);
  const tau2 = tau * tau;
  if (variance === 0) {
    // No noise at all: the data either match H0 exactly or refute it outright.
    const refuted = estimate !== theta0;
    return { estimate, variance, logLikelihoodRatio: refuted ? Infinity : 0, pValue: refuted ? 0 : previous, confidenceInterval: [estimate, estimate] };
  }
  const d = estimate - theta0;
  const logLr = 0.5 * Math.log(variance / (variance + tau2)) + (tau2 * d * d) / (2 * variance * (variance + tau2));
  const pValue = Math.min(previous, Math.exp(-logLr), 1);
  const half = Math.sqrt(((variance * (variance + tau2)) / tau2) * (Math.log((variance + tau2) / variance) - 2 * Math.log(alpha)));
  return { estimate, variance, logLikelihoodRatio: logLr, pValue, confidenceInterval: [estimate - half, estimate + half] };
}

/** mSPRT on two conversion rates (plug-in Bernoulli variances). */
export function msprtTwoProportions(control: ProportionSample, treatment: ProportionSample, options: MsprtOptions): MsprtResult {
  if (!(control.n > 0 && treatment.n > 0)) throw new RangeError('msprtTwoProportions: both arms need n > 0');
  const p1 = control.successes / control.n;
  const p2 = treatment.successes / treatment.n;
  return msprtNormal(p2 - p1, (p1 * (1 - p1)) / control.n + (p2 * (1 - p2)) / treatment.n, options);
}

/** mSPRT on two means (plug-in sample variances). */
export function msprtTwoMeans(control: SampleSummary, treatment: SampleSummary, options: MsprtOptions): MsprtResult {
  if (!(control.n >= 2 && treatment.n >= 2)) throw new RangeError('msprtTwoMeans: both arms need at least 2 observations');
  return msprtNormal(treatment.mean - control.mean, control.variance / control.n + treatment.variance / treatment.n, options);
}
