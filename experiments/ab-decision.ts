// The A/B verdict at one look: keep collecting, or declare the treatment (candidate) or the control
// (champion) the winner, or stop inconclusive. Fixed-horizon mode tests once, when both arms have
// the planned sample size; sequential mode uses the mSPRT's always-valid p-value at every look.
import { higherIsBetter, isProportionMetric, type OnlineMetric } from './online-metrics';
import { msprtTwoMeans, msprtTwoProportions, type MsprtResult } from './sequential';
import { twoProportionZTest, welchTTest, type SampleSummary, type TestResult } from './two-sample';

export interface AbSettings {
  metric: OnlineMetric;
  alpha: number;
  /** Planned labelled observations per arm (from the MDE). */
  samplesPerArm: number;
  /** Sequential (mSPRT) looks instead of one fixed-horizon test. */
  sequential: boolean;
  /** mSPRT mixing scale: the effect the test is tuned to (use the MDE). */
  tau: number;
  /** Sequential mode: each arm needs this many labels before a look can stop (stable variances). */
  minSamplesPerLook: number;
  /** Sequential mode stops inconclusive at samplesPerArm × this. */
  maxSampleFactor: number;
}

export type AbDecision = 'continue' | 'treatment' | 'control' | 'inconclusive';

export interface AbVerdict {
  decision: AbDecision;
  /** Treatment − control, in the metric's units. */
  estimate: number | null;
  pValue: number | null;
  test: TestResult | null;
  sequential: MsprtResult | null;
  message: string;
}

function asProportion(s: SampleSummary): { n: number; successes: number } {
  return { n: s.n, successes: Math.round(s.mean * s.n) };
}

function winner(metric: OnlineMetric, estimate: number): 'treatment' | 'control' {
  const treatmentLarger = estimate > 0;
  return treatmentLarger === higherIsBetter(metric) ? 'treatment' : 'control';
}

export function decideAb(control: SampleSummary, treatment: SampleSummary, settings: AbSettings, previousPValue = 1): AbVerdict {
  const n = Math.min(control.n, treatment.n);
  const proportion = isProportionMetric(settings.metric);
  if (settings.sequential) {
    if (n < Math.max(2, settings.minSamplesPerLook)) {
      return { decision: 'continue', estimate: null, pValue: previousPValue, test: null, sequential: null, message: `${n} labelled per arm so far; sequential looks start at ${settings.minSamplesPerLook}` };
    }
    const options = { tau: settings.tau, previousPValue, alpha: settings.alpha };
    const seq = proportion ? msprtTwoProportions(asProportion(control), asProportion(treatment), options) : msprtTwoMeans(control, treatment, options);
    const text = `${settings.metric} treatment − control = ${seq.estimate.toFixed(5)}, always-valid p=${seq.pValue.toPrecision(4)} after ${n} per arm`;
    if (seq.pValue < settings.alpha) return { decision: winner(settings.metric, seq.estimate), estimate: seq.estimate, pValue: seq.pValue, test: null, sequential: seq, message: text };
    const cap = Math.ceil(settings.samplesPerArm * settings.maxSampleFactor);
    if (n >= cap) return { decision: 'inconclusive', estimate: seq.estimate, pValue: seq.pValue, test: null, sequential: seq, message: `${text}; reached the cap of ${cap} per arm` };
    return { decision: 'continue', estimate: seq.estimate, pValue: seq.pValue, test: null, sequential: seq, message: text };
  }
  if (n < settings.samplesPerArm) {
    return { decision: 'continue', estimate: null, pValue: null, test: null, sequential: null, message: `${control.n} control / ${treatment.n} treatment labelled; the test runs at ${settings.samplesPerArm} per arm` };
  }
  const test = proportion ? twoProportionZTest(asProportion(control), asProportion(treatment), 'two-sided', settings.alpha) : welchTTest(control, treatment, 'two-sided', settings.alpha);
  const text = `${settings.metric} treatment − control = ${test.estimate.toFixed(5)} (95% CI ${test.confidenceInterval.map((v) => v.toFixed(5)).join('..')}), ${test.test} p=${test.pValue.toPrecision(4)} at ${control.n}/${treatment.n}`;
  const decision = test.pValue < settings.alpha ? winner(settings.metric, test.estimate) : 'inconclusive';
  return { decision, estimate: test.estimate, pValue: test.pValue, test, sequential: null, message: text };
}
