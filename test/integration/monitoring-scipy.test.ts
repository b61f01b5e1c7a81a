// The drift statistics against scipy on the same data: KS statistic and p-values (asymptotic,
// exact and auto), Wasserstein-1, Jensen-Shannon (base 2), chi-square on the 2 x K table, and the
// Kolmogorov / Smirnov / chi-square distributions on grids that cross every algorithm cut-off.
// scipy runs in test/reference/drift_reference.py with the project's Python venv.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { alignCategories, categoricalDriftStatistics, categoryCounts } from '../../monitoring/categorical-drift';
import { kolmogorovSf, smirnovSf } from '../../monitoring/kolmogorov';
import { ksPValue, numericDriftStatistics } from '../../monitoring/numeric-drift';
import { chiSquareSf } from '../../monitoring/special-functions';
import { createRng } from '../../ml/random';

const ROOT = path.resolve(__dirname, '..', '..');
const PYTHON = path.join(ROOT, '.tools', 'venv', 'bin', 'python');
const SCRIPT = path.join(ROOT, 'test', 'reference', 'drift_reference.py');
const TOL = 1e-9;

interface KsOut {
  statistic: number;
  pvalue: number;
  fell_back: boolean;
}
interface ScipyResponse {
  scipy: string;
  numeric: Array<{ id: string; ks_asymp: KsOut; ks_auto: KsOut; ks_exact?: KsOut; wasserstein: number }>;
  categorical: Array<{ id: string; jensenshannon: number; chi2: { statistic: number; pvalue: number; dof: number } }>;
  kstwo: number[];
  smirnov: number[];
  chi2_sf: number[];
}

interface NumericCase {
  id: string;
  a: Float64Array;
  b: Float64Array;
}

function sample(seed: number, n: number, draw: (rng: ReturnType<typeof createRng>) => number): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: n }, () => draw(rng));
}

const normal = (shift = 0, scale = 1) => (rng: ReturnType<typeof createRng>) => shift + scale * rng.normal();
const rounded = (digits: number, shift = 0) => (rng: ReturnType<typeof createRng>) => Math.round((shift + rng.normal()) * 10 ** digits) / 10 ** digits;

/** Sample pairs across sizes (tiny to 120k rows), ties, identical and disjoint samples. */
function numericCases(): NumericCase[] {
  return [
    { id: 'tiny-equal-8', a: sample(1, 8, normal()), b: sample(2, 8, normal(0.5)) },
    { id: 'tiny-3-vs-4', a: sample(3, 3, normal()), b: sample(4, 4, normal()) },
    { id: 'one-vs-five', a: sample(5, 1, normal()), b: sample(6, 5, normal(1)) },
    { id: 'small-15-vs-23-shift', a: sample(7, 15, normal()), b: sample(8, 23, normal(0.8)) },
    { id: 'small-ties-50-vs-70', a: sample(9, 50, rounded(0)), b: sample(10, 70, rounded(0, 0.3)) },
    { id: 'neff-75-unshifted', a: sample(11, 100, normal()), b: sample(12, 300, normal()) },
    { id: 'neff-75-shift-0.3', a: sample(13, 100, normal()), b: sample(14, 300, normal(0.3)) },
    { id: 'neff-75-shift-0.7', a: sample(15, 100, normal()), b: sample(16, 300, normal(0.7)) },
    { id: 'neff-140-shift-0.2', a: sample(17, 280, normal()), b: sample(18, 280, normal(0.2)) },
    { id: 'medium-300-vs-450-shift', a: sample(19, 300, normal()), b: sample(20, 450, normal(0.3, 1.2)) },
    { id: 'square-1000-unshifted', a: sample(21, 1000, normal()), b: sample(22, 1000, normal()) },
    { id: 'ties-2000-vs-3000', a: sample(23, 2000, rounded(1)), b: sample(24, 3000, rounded(1, 0.05)) },
    { id: 'heavy-tails-1500-vs-900', a: sample(25, 1500, (r) => r.normal() / Math.max(1e-3, Math.abs(r.normal()))), b: sample(26, 900, (r) => r.normal() / Math.max(1e-3, Math.abs(r.normal()))) },
    { id: 'auto-asymp-12000-vs-15000', a: sample(27, 12000, normal()), b: sample(28, 15000, normal(0.04)) },
    { id: 'large-120000-vs-20000', a: sample(29, 120000, normal()), b: sample(30, 20000, normal(0.02)) },
    { id: 'identical-constant', a: new Float64Array(40).fill(3), b: new Float64Array(25).fill(3) },
    { id: 'disjoint', a: sample(31, 60, normal()), b: sample(32, 45, normal(100)) },
  ];
}

interface CategoricalCase {
  id: string;
  ref: string[];
  cur: string[];
}

function categories(seed: number, n: number, weights: number[], prefix = 'c'): string[] {
  const rng = createRng(seed);
  const total = weights.reduce((s, w) => s + w, 0);
  return Array.from({ length: n }, () => {
    let u = rng.next() * total;
    for (let k = 0; k < weights.length; k++) {
      u -= weights[k];
      if (u < 0) return `${prefix}${k}`;
    }
    return `${prefix}${weights.length - 1}`;
  });
}

function categoricalCases(): CategoricalCase[] {
  const many = Array.from({ length: 50 }, (_, k) => 1 / (k + 1));
  return [
    { id: 'three-small', ref: categories(1, 40, [5, 3, 2]), cur: categories(2, 30, [3, 3, 4]) },
    { id: 'two-categories', ref: categories(3, 200, [1, 1]), cur: categories(4, 150, [1.3, 1]) },
    { id: 'single-category', ref: categories(5, 20, [1]), cur: categories(6, 10, [1]) },
    // Current window has categories the reference never saw, and misses some of the reference's.
    { id: 'unseen-and-vanished', ref: categories(7, 500, [4, 3, 2, 1]), cur: [...categories(8, 300, [0, 3, 2, 1]), ...categories(9, 60, [1, 2], 'new')] },
    { id: 'fifty-zipf', ref: categories(10, 5000, many), cur: categories(11, 4000, many.map((w, k) => w * (1 + 0.02 * k))) },
    { id: 'large-counts', ref: categories(12, 200000, [5, 4, 3, 2, 1]), cur: categories(13, 300000, [5, 4, 3, 2, 1.05]) },
  ];
}

function kstwoGrid(): Array<[number, number]> {
  const points: Array<[number, number]> = [];
  for (const n of [1, 2, 3, 5, 10, 37, 100, 139, 140, 141, 500, 4000, 50000, 90909, 100000, 100001, 150000]) {
    const ds = [0.4 / n, 0.5 / n, 0.8 / n, 1 / n, 2 / n, 0.01, 0.05, 0.2, 0.45, 0.5, 0.7, (n - 1) / n, (n - 0.5) / n];
    for (const z of [0.3, 0.6, 0.85, 0.9, 1.2, 1.45, 1.5, 2, 2.5, 4, 4.5, 6]) ds.push(z / Math.sqrt(n));
    // Around the Durbin cut-off n x^1.5 = 1.4 for large n.
    ds.push((1.3 / n) ** (2 / 3), (1.5 / n) ** (2 / 3));
    for (const d of ds) if (d > 0 && d < 1.05) points.push([n, d]);
  }
  // n above scipy.special.smirnov's exact limit (1e6) and one just below it (each costs scipy ~1 s).
  points.push([1_000_000, 0.0016], [1_500_000, 0.0012], [2_000_000, 0.002], [3_000_000, 0.0004]);
  return points;
}

function chi2Grid(): Array<[number, number]> {
  const points: Array<[number, number]> = [];
  for (const dof of [1, 2, 3, 4, 7, 20, 49, 200, 3000]) {
    const xs = [0, 1e-3, 0.5, 1, 3, 0.5 * dof, dof, 1.3 * dof, 2 * dof, dof + 40];
    for (const x of xs) points.push([x, dof]);
  }
  return points;
}

function runScipy(request: unknown): ScipyResponse {
  const stdout = execFileSync(PYTHON, [SCRIPT], { input: JSON.stringify(request), maxBuffer: 1 << 28, cwd: ROOT });
  return JSON.parse(stdout.toString('utf8')) as ScipyResponse;
}

const maxDiff: Record<string, number> = {};
function track(key: string, ours: number, theirs: number): number {
  const d = Math.abs(ours - theirs);
  maxDiff[key] = Math.max(maxDiff[key] ?? 0, Number.isNaN(d) ? Infinity : d);
  return d;
}

describe('drift statistics agree with scipy', () => {
  const numeric = numericCases();
  const categorical = categoricalCases();
  const kstwo = kstwoGrid();
  // scipy's own smirnov is slow for large n (seconds per point); kstwo already covers those via 2 * smirnov.
  const smirnov = kstwo.filter(([n, d]) => d <= 1 && n <= 100_001);
  const chi2 = chi2Grid();
  let scipy: ScipyResponse;

  beforeAll(() => {
    // Fail rather than skip: without the reference these statistics would go unchecked.
    if (!existsSync(PYTHON)) throw new Error(`scipy reference needs ${PYTHON}: run \`npm run setup\` to create the Python tools venv`);
    scipy = runScipy({
      numeric: numeric.map((c) => ({ id: c.id, a: Array.from(c.a), b: Array.from(c.b) })),
      categorical: categorical.map((c) => {
        const { referenceCounts, currentCounts } = alignCategories(categoryCounts(c.ref), categoryCounts(c.cur, 'value', 'current'));
        return { id: c.id, ref: Array.from(referenceCounts), cur: Array.from(currentCounts) };
      }),
      kstwo,
      smirnov,
      chi2_sf: chi2,
    });
  });

  it('KS statistic, KS p-values (asymp, exact, auto) and Wasserstein-1 match within 1e-9', () => {
    numeric.forEach((c, k) => {
      const ref = scipy.numeric[k];
      expect(ref.id).toBe(c.id);
      const ours = numericDriftStatistics(c.a, c.b, { feature: c.id, ksMethod: 'asymp' });
      expect(track('ks statistic', ours.ks.statistic, ref.ks_asymp.statistic), `${c.id} D`).toBeLessThanOrEqual(TOL);
      expect(track('ks p (asymp)', ours.ks.pValue, ref.ks_asymp.pvalue), `${c.id} asymp p ${ours.ks.pValue} vs ${ref.ks_asymp.pvalue}`).toBeLessThanOrEqual(TOL);
      expect(track('wasserstein', ours.wasserstein, ref.wasserstein), `${c.id} W1`).toBeLessThanOrEqual(TOL * Math.max(1, ref.wasserstein));
      const n1 = c.a.length;
      const n2 = c.b.length;
      const auto = ksPValue(n1, n2, ours.ks.statistic, 'auto');
      expect(auto.method).toBe(Math.max(n1, n2) <= 10000 ? 'exact' : 'asymp');
      expect(track('ks p (auto)', auto.pValue, ref.ks_auto.pvalue), `${c.id} auto p`).toBeLessThanOrEqual(TOL);
      if (ref.ks_exact) {
        expect(ref.ks_exact.fell_back).toBe(false);
        const exact = ksPValue(n1, n2, ours.ks.statistic, 'exact');
        expect(exact.method).toBe('exact');
        expect(track('ks p (exact)', exact.pValue, ref.ks_exact.pvalue), `${c.id} exact p ${exact.pValue} vs ${ref.ks_exact.pvalue}`).toBeLessThanOrEqual(TOL);
      }
    });
  });

  it('Jensen-Shannon distance (base 2) and chi-square (2 x K, no correction) match within 1e-9', () => {
    categorical.forEach((c, k) => {
      const ref = scipy.categorical[k];
      expect(ref.id).toBe(c.id);
      const ours = categoricalDriftStatistics(c.ref, c.cur, { feature: c.id });
      expect(track('jensen-shannon', ours.jsDistance, ref.jensenshannon), `${c.id} JS`).toBeLessThanOrEqual(TOL);
      expect(ours.chiSquare.dof).toBe(ref.chi2.dof);
      expect(track('chi2 statistic (relative)', ours.chiSquare.statistic, ref.chi2.statistic) / Math.max(1, ref.chi2.statistic)).toBeLessThanOrEqual(TOL);
      expect(track('chi2 p', ours.chiSquare.pValue, ref.chi2.pvalue), `${c.id} chi2 p`).toBeLessThanOrEqual(TOL);
    });
  });

  it('kstwo.sf, smirnov and chi2.sf match on grids across every algorithm cut-off', () => {
    kstwo.forEach(([n, d], k) => {
      expect(track('kstwo.sf', kolmogorovSf(n, d), scipy.kstwo[k]), `kstwo.sf(${d}, ${n})`).toBeLessThanOrEqual(TOL);
    });
    smirnov.forEach(([n, d], k) => {
      expect(track('smirnov', smirnovSf(n, d), scipy.smirnov[k]), `smirnov(${n}, ${d})`).toBeLessThanOrEqual(TOL);
    });
    chi2.forEach(([x, dof], k) => {
      expect(track('chi2.sf', chiSquareSf(x, dof), scipy.chi2_sf[k]), `chi2.sf(${x}, ${dof})`).toBeLessThanOrEqual(TOL);
    });
    // The measured agreement, for the record (vitest prints console output on failure and with --reporter=verbose).
    console.log(`scipy ${scipy.scipy}: max |ours - scipy| ${JSON.stringify(maxDiff)}`);
  });
});
