// The rollout statistics against scipy on the same inputs: normal CDF/quantile, Student's t tail,
// the incomplete beta, Welch and paired t-tests, the two-proportion z-test (as Pearson's
// chi-square without continuity correction), the exact binomial test and the sample-size
// formulas. scipy runs in test/reference/experiments_reference.py with the project's Python venv.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { binomialTest } from '../../experiments/binomial';
import { normalCdf, normalQuantile, normalSf } from '../../experiments/normal';
import { sampleSizeTwoMeans, sampleSizeTwoProportions } from '../../experiments/sample-size';
import { regularizedBeta, studentTSf } from '../../experiments/special';
import { pairedTTest, summarize, twoProportionZTest, welchTTest } from '../../experiments/two-sample';
import { createRng } from '../../ml/random';

const ROOT = path.resolve(__dirname, '..', '..');
const PYTHON = path.join(ROOT, '.tools', 'venv', 'bin', 'python');
const SCRIPT = path.join(ROOT, 'test', 'reference', 'experiments_reference.py');

function relClose(actual: number, expected: number, rel: number, abs = 1e-300): void {
  const tol = Math.max(abs, rel * Math.abs(expected));
  expect(Math.abs(actual - expected), `actual ${actual} vs scipy ${expected}`).toBeLessThanOrEqual(tol);
}

function draws(seed: number, n: number, f: (rng: ReturnType<typeof createRng>) => number): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => f(rng));
}

const normX = [-38, -30, -12, -8.3, -5, -3.1, -1.96, -1, -0.5, -1e-3, 0, 1e-3, 0.3, 1, 1.6448536, 2.5, 4, 7.07, 7.2, 9, 20];
const normP = [1e-300, 1e-100, 1e-20, 1e-9, 1e-4, 0.001, 0.02, 0.02425, 0.025, 0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.975, 0.99, 0.999, 1 - 1e-9];
const tCases: [number, number][] = [
  [0, 5], [0.5, 1], [1.2, 2.5], [2, 3], [-2, 3], [2.1, 10], [3.5, 29.7], [1.96, 100], [4, 1000], [2.5, 1e5], [6, 40], [12, 7], [-0.3, 250],
];
const betaCases: [number, number, number][] = [[0.1, 2, 3], [0.5, 0.5, 0.5], [0.9, 10, 2], [0.3, 50, 60], [0.999, 400, 0.5], [1e-4, 0.2, 9], [0.62, 1000, 700]];
const welchCases = [
  { control: draws(1, 40, (r) => r.normal()), treatment: draws(2, 55, (r) => 0.4 + 2 * r.normal()) },
  { control: draws(3, 1000, (r) => (r.next() < 0.3 ? 1 : 0)), treatment: draws(4, 1200, (r) => (r.next() < 0.33 ? 1 : 0)) },
  { control: draws(5, 500, (r) => -Math.log(r.next() + 1e-12)), treatment: draws(6, 300, (r) => -Math.log(r.next() + 1e-12) * 1.1) },
  { control: draws(7, 8, (r) => r.normal()), treatment: draws(8, 5, (r) => r.normal() - 1) },
];
const pairedCases = welchCases.slice(0, 1).concat([{ control: draws(9, 300, (r) => r.normal()), treatment: [] }]).map((c, i) => {
  if (i === 1) return { control: c.control, treatment: c.control.map((x, k) => x + 0.05 + 0.3 * Math.sin(k)) };
  return { control: c.control.slice(0, 40), treatment: c.treatment.slice(0, 40) };
});
const proportionCases = [
  { n1: 1000, s1: 120, n2: 1000, s2: 150 },
  { n1: 5000, s1: 251, n2: 4800, s2: 250 },
  { n1: 40, s1: 3, n2: 60, s2: 12 },
  { n1: 20000, s1: 2000, n2: 20000, s2: 2150 },
];
const binomCases: [number, number, number, 'two-sided' | 'greater' | 'less'][] = [
  [7, 20, 0.5, 'two-sided'], [60, 100, 0.5, 'two-sided'], [0, 10, 0.5, 'two-sided'], [10, 10, 0.5, 'two-sided'], [530, 1000, 0.5, 'two-sided'],
  [3, 25, 0.3, 'two-sided'], [12, 25, 0.3, 'two-sided'], [60, 100, 0.5, 'greater'], [40, 100, 0.5, 'less'], [2, 7, 0.5, 'two-sided'],
];
const sizeProps = [
  { p1: 0.1, mde: 0.02, alpha: 0.05, power: 0.8 },
  { p1: 0.5, mde: -0.05, alpha: 0.05, power: 0.9 },
  { p1: 0.02, mde: 0.005, alpha: 0.01, power: 0.8 },
  { p1: 0.75, mde: 0.05, alpha: 0.05, power: 0.8 },
];
const sizeMeans = [
  { sd: 1, mde: 0.1, alpha: 0.05, power: 0.8 },
  { sd: 0.35, mde: 0.02, alpha: 0.05, power: 0.9 },
  { sd: 12, mde: 3, alpha: 0.1, power: 0.8 },
];

interface Reference {
  scipy_version: string;
  norm_cdf: [number, number][];
  norm_ppf: number[];
  t_sf: number[];
  betainc: number[];
  welch: { statistic: number; pvalue: number; df: number }[];
  paired: { statistic: number; pvalue: number }[];
  proportions: { chi2: number; pvalue: number }[];
  binom: number[];
  size_props: number[];
  size_means: number[];
}

// No skip when the venv is missing: setup installs it for every `npm test`, so its absence is a
// broken checkout and must fail loudly rather than pass with the scipy checks silently gone.
describe('experiments vs scipy', () => {
  let ref: Reference;

  beforeAll(() => {
    if (!existsSync(PYTHON)) throw new Error(`scipy reference needs ${PYTHON}: run \`npm run setup\` to create the Python tools venv`);
    const input = JSON.stringify({
      norm_cdf: normX, norm_ppf: normP, t_sf: tCases, betainc: betaCases, welch: welchCases, paired: pairedCases,
      proportions: proportionCases, binom: binomCases, size_props: sizeProps, size_means: sizeMeans,
    });
    ref = JSON.parse(execFileSync(PYTHON, [SCRIPT], { input, encoding: 'utf8', maxBuffer: 16 << 20 })) as Reference;
  });

  it('normal CDF, survival function and quantile', () => {
    normX.forEach((x, i) => {
      relClose(normalCdf(x), ref.norm_cdf[i][0], 1e-13);
      relClose(normalSf(x), ref.norm_cdf[i][1], 1e-13);
    });
    normP.forEach((p, i) => relClose(normalQuantile(p), ref.norm_ppf[i], 1e-12, 1e-15));
  });

  it("Student's t tail and the regularized incomplete beta", () => {
    tCases.forEach(([t, df], i) => relClose(studentTSf(t, df), ref.t_sf[i], 1e-10));
    betaCases.forEach(([x, a, b], i) => relClose(regularizedBeta(x, a, b), ref.betainc[i], 1e-10));
  });

  it("Welch's and the paired t-test", () => {
    welchCases.forEach((c, i) => {
      const r = welchTTest(summarize(c.control), summarize(c.treatment));
      relClose(r.statistic, ref.welch[i].statistic, 1e-10);
      relClose(r.df!, ref.welch[i].df, 1e-10);
      relClose(r.pValue, ref.welch[i].pvalue, 1e-9);
    });
    pairedCases.forEach((c, i) => {
      const r = pairedTTest(summarize(c.treatment.map((t, k) => t - c.control[k])));
      relClose(r.statistic, ref.paired[i].statistic, 1e-10);
      relClose(r.pValue, ref.paired[i].pvalue, 1e-9);
    });
  });

  it('the two-proportion z-test equals chi-square without continuity correction', () => {
    proportionCases.forEach((c, i) => {
      const r = twoProportionZTest({ n: c.n1, successes: c.s1 }, { n: c.n2, successes: c.s2 });
      relClose(r.statistic * r.statistic, ref.proportions[i].chi2, 1e-10);
      relClose(r.pValue, ref.proportions[i].pvalue, 1e-10);
    });
  });

  it('the exact binomial test', () => {
    binomCases.forEach(([k, n, p, alt], i) => relClose(binomialTest(k, n, p, alt), ref.binom[i], 1e-9));
  });

  it('sample sizes from the minimum detectable effect', () => {
    expect(sizeProps.map((c) => sampleSizeTwoProportions(c.p1, c.mde, c))).toEqual(ref.size_props);
    expect(sizeMeans.map((c) => sampleSizeTwoMeans(c.sd, c.mde, c))).toEqual(ref.size_means);
  });
});
