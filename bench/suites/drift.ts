// Benchmark: drift computation throughput. One numeric and one categorical feature, 1,000,000
// current rows against 100,000 reference rows (quick mode: 100,000 vs 10,000), every statistic
// computed under the default policy; the figure counts values read (reference + current, both
// features) per second of evaluateFeatureDrift.
import { performance } from 'node:perf_hooks';
import { createRng } from '../../ml/random';
import { evaluateFeatureDrift, resolveDriftPolicy } from '../../monitoring/thresholds';
import { summarize, type BenchSuite, type Figure } from '../figure';

export const ids = ['drift_values_per_s'];

const PLANS = ['free', 'basic', 'pro', 'team', 'enterprise', 'edu', 'trial', 'legacy'];

function numericWindow(seed: number, rows: number, shift: number): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: rows }, () => 50 + 10 * (rng.normal() + shift));
}

function categoricalWindow(seed: number, rows: number, skew: number): string[] {
  const rng = createRng(seed);
  return Array.from({ length: rows }, () => PLANS[Math.min(PLANS.length - 1, Math.floor(rng.next() ** (1 + skew) * PLANS.length))]);
}

export async function run(options: { quick: boolean; log: (line: string) => void }): Promise<Figure[]> {
  const currentRows = options.quick ? 100_000 : 1_000_000;
  const referenceRows = currentRows / 10;
  const runs = options.quick ? 3 : 5;
  const policy = resolveDriftPolicy();
  const refNumeric = numericWindow(1, referenceRows, 0);
  const curNumeric = numericWindow(2, currentRows, 0.05);
  const refCategorical = categoricalWindow(3, referenceRows, 0);
  const curCategorical = categoricalWindow(4, currentRows, 0.05);
  const values = 2 * (referenceRows + currentRows);
  options.log(`drift: ${currentRows} current vs ${referenceRows} reference rows, 1 numeric + 1 categorical feature, ${runs} runs`);

  // One untimed pass so JIT warm-up does not count against the first run.
  evaluateFeatureDrift('numeric', refNumeric, curNumeric, policy, 'amount');
  evaluateFeatureDrift('categorical', refCategorical, curCategorical, policy, 'plan');

  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    const numeric = evaluateFeatureDrift('numeric', refNumeric, curNumeric, policy, 'amount');
    const categorical = evaluateFeatureDrift('categorical', refCategorical, curCategorical, policy, 'plan');
    const seconds = (performance.now() - start) / 1000;
    samples.push(values / seconds);
    options.log(
      `  run ${r + 1}: ${(seconds * 1000).toFixed(0)} ms (W1/std ${numeric.value.toFixed(4)}, KS p ${numeric.statistics.ks.pValue.toExponential(2)}, JS ${categorical.value.toFixed(4)})`,
    );
  }
  return [
    summarize(
      'drift_values_per_s',
      'values/s',
      samples,
      `evaluateFeatureDrift (KS + asymptotic p, W1, PSI; JS, L-inf, chi2, PSI) on ${currentRows} current vs ${referenceRows} reference rows, numeric + categorical`,
    ),
  ];
}

export const suite: BenchSuite = { ids, run };
