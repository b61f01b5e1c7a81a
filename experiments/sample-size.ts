// How many observations per arm an A/B test needs to detect a minimum detectable effect (MDE)
// with the chosen significance and power: the fixed-horizon sample size the test runs to.
import { normalQuantile } from './normal';

export type Alternative = 'two-sided' | 'greater' | 'less';

export interface PowerSettings {
  /** Type I error rate, e.g. 0.05. */
  alpha: number;
  /** 1 - type II error rate, e.g. 0.8. */
  power: number;
  alternative?: Alternative;
}

function criticalZ(alpha: number, alternative: Alternative): number {
  return normalQuantile(1 - (alternative === 'two-sided' ? alpha / 2 : alpha));
}

function checkSettings({ alpha, power }: PowerSettings, context: string): void {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`${context}: alpha must be in (0, 1), got ${alpha}`);
  if (!(power > 0 && power < 1)) throw new RangeError(`${context}: power must be in (0, 1), got ${power}`);
}

/**
 * Per-arm n for a two-proportion z-test of baseline rate p1 against p1 + mde (absolute), equal
 * arms, no continuity correction (Fleiss):
 *   n = (z_a sqrt(2 p̄ q̄) + z_b sqrt(p1 q1 + p2 q2))^2 / mde^2,  p̄ = (p1 + p2) / 2.
 */
export function sampleSizeTwoProportions(baselineRate: number, mde: number, settings: PowerSettings): number {
  const context = 'sampleSizeTwoProportions';
  checkSettings(settings, context);
  const p1 = baselineRate;
  const p2 = baselineRate + mde;
  if (!(p1 > 0 && p1 < 1)) throw new RangeError(`${context}: baseline rate must be in (0, 1), got ${p1}`);
  if (!(mde !== 0 && p2 > 0 && p2 < 1)) throw new RangeError(`${context}: baseline + mde must be in (0, 1) and mde non-zero, got ${p2}`);
  const za = criticalZ(settings.alpha, settings.alternative ?? 'two-sided');
  const zb = normalQuantile(settings.power);
  const pBar = (p1 + p2) / 2;
  const root = za * Math.sqrt(2 * pBar * (1 - pBar)) + zb * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  return Math.ceil((root * root) / (mde * mde));
}

/** Per-arm n for a two-sample test of means with a common standard deviation: 2 sd^2 (z_a + z_b)^2 / mde^2. */
export function sampleSizeTwoMeans(standardDeviation: number, mde: number, settings: PowerSettings): number {
  const context = 'sampleSizeTwoMeans';
  checkSettings(settings, context);
  if (!(standardDeviation > 0 && Number.isFinite(standardDeviation))) throw new RangeError(`${context}: standard deviation must be finite and > 0, got ${standardDeviation}`);
  if (!(mde !== 0 && Number.isFinite(mde))) throw new RangeError(`${context}: mde must be finite and non-zero, got ${mde}`);
  const z = criticalZ(settings.alpha, settings.alternative ?? 'two-sided') + normalQuantile(settings.power);
  return Math.ceil((2 * standardDeviation * standardDeviation * z * z) / (mde * mde));
}
