// Exact null distribution of the two-sample Kolmogorov-Smirnov statistic for small samples: the
// share of monotone lattice paths from (0,0) to (m,n) that leave the band |x/m - y/n| < d.
// Same quantity as scipy.stats.ks_2samp(method='exact', alternative='two-sided'); like scipy it
// assumes continuous data (no ties), so with ties the p-value is conservative.

/**
 * P(D_{n,n} >= h/n) for equal sample sizes: 2 (A_1 - A_2 + A_3 - ...) with
 * A_i = C(2n, n - i h) / C(2n, n). The alternating sum would cancel, so it is evaluated nested,
 * 2 B_1 (1 - B_2 (1 - B_3 (1 - ...))), where B_i = A_i / A_(i-1) = C(2n, n - i h) / C(2n, n - (i-1) h)
 * is a product of h ratios of integers, all below 1.
 */
function equalSizesTailProbability(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let ratio = 1; // B_(k+1) = prod_j (n - k h - j) / (n + k h + j + 1), j = 0..h-1
    for (let j = 0; j < h; j++) ratio = ((n - k * h - j) * ratio) / (n + k * h + j + 1);
    p = ratio * (1 - p);
  }
  return 2 * p;
}

/**
 * P(D_{m,n} >= h / lcm(m, n)) for unequal sizes, by the "inside" lattice recursion written for the
 * complementary probability directly (Viehmann 2021), which stays accurate when p is tiny.
 *
 * Let P(x, y) be the probability that a uniformly random monotone path from (0,0) to (x,y) has
 * left the band |ng*x - mg*y| < h (ng = n/g, mg = m/g, g = gcd). A path reaches (x,y) from (x-1,y)
 * with probability x/(x+y) and from (x,y-1) with probability y/(x+y), so inside the band
 * P(x,y) = (x P(x-1,y) + y P(x,y-1)) / (x+y), and P = 1 outside it. One column is kept and updated
 * in place (ascending y uses the already-updated P(x, y-1)); only the band's rows are touched.
 */
function unequalSizesTailProbability(mIn: number, nIn: number, g: number, h: number): number {
  const m = Math.max(mIn, nIn);
  const n = Math.min(mIn, nIn);
  const mg = m / g;
  const ng = n / g;
  const column = new Float64Array(n + 1).fill(1);
  // Column x = 0: points (0, y) are inside while mg*y < h; a path up that edge never leaves first.
  let lo = 0;
  let hi = Math.min(Math.ceil(h / mg), n + 1); // exclusive
  for (let y = lo; y < hi; y++) column[y] = 0;
  for (let x = 1; x <= m; x++) {
    const newLo = Math.min(Math.max(Math.floor((ng * x - h) / mg) + 1, 0), n);
    const newHi = Math.min(Math.ceil((ng * x + h) / mg), n + 1);
    if (newHi <= newLo) return 1; // the band closed: every path has left it
    // Rows that were inside in the previous column but are outside now become 1.
    for (let y = lo; y < Math.min(newLo, hi); y++) column[y] = 1;
    for (let y = Math.max(newHi, lo); y < hi; y++) column[y] = 1;
    let below = newLo === 0 ? 0 : 1; // P(x, y-1) for the first row of the band
    for (let y = newLo; y < newHi; y++) {
      const value = (column[y] * x + below * y) / (x + y);
      column[y] = value;
      below = value;
    }
    lo = newLo;
    hi = newHi;
  }
  return column[n];
}

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y) [x, y] = [y, x % y];
  return x;
}

export interface ExactKsResult {
  /** The statistic rounded to the lattice, h / lcm(n1, n2). */
  statistic: number;
  pValue: number;
}

/** Largest lcm(n1, n2) scipy attempts exactly (int32); beyond it, it falls back to 'asymp'. */
export function exactKsFeasible(n1: number, n2: number): boolean {
  const g = gcd(n1, n2);
  return n1 / g < 2147483647 / (n2 / g);
}

/** Two-sided exact p-value P(D >= d) for sample sizes n1, n2 under a continuous null. */
export function exactKsPValue(n1: number, n2: number, d: number): ExactKsResult {
  const g = gcd(n1, n2);
  const lcm = (n1 / g) * n2;
  // D is always a multiple of 1/lcm; snap to the lattice so float noise cannot shift the band.
  const h = Math.round(d * lcm);
  const statistic = h / lcm;
  if (h === 0) return { statistic, pValue: 1 };
  const p = n1 === n2 ? equalSizesTailProbability(n1, h) : unequalSizesTailProbability(n1, n2, g, h);
  return { statistic, pValue: Math.min(1, Math.max(0, p)) };
}
