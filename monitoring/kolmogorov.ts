// The distribution of the one-sample, two-sided Kolmogorov-Smirnov statistic D_n (scipy's
// stats.kstwo) and of the one-sided D_n+ (scipy.special.smirnov): the asymptotic two-sample KS
// p-value is kstwo.sf(D, round(n1*n2/(n1+n2))), so reproducing scipy means reproducing these.
//
// The branch structure (which algorithm for which n and x, and the cut-offs) follows Simard &
// L'Ecuyer (2011) exactly as scipy 1.17 implements it in scipy/stats/_ksstats.py, because several
// branches are approximations (Pelz-Good, 2*smirnov ignoring the two-sided overlap term) and the
// p-values only agree to 1e-9 when the same approximation is used on the same side of each
// cut-off. The exact pieces (Durbin matrix, Pomeranz recursion, the Smirnov-Birnbaum-Tingey sum)
// are re-derived here in plain double precision, and checked against scipy on a grid in
// test/integration/monitoring-scipy.test.ts.

import { CompensatedSum, ldexp, productResidual } from './special-functions';

const SCALE_UP = 2 ** 128;
const SCALE_DOWN = 2 ** -128;
const LOG_2PI = Math.log(2 * Math.PI);
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const SQRT3 = Math.sqrt(3);
const PI2 = Math.PI ** 2;
const PI4 = Math.PI ** 4;
const PI6 = Math.PI ** 6;
const MIN_LOG = -708;
/** Cephes' MINLOG: exp() of anything below this underflows to zero. */
const CEPHES_MIN_LOG = -7.451332191019412076235e2;
/** Above this n, scipy.special.smirnov switches to an approximation instead of the exact sum. */
const SMIRNOV_MAX_COMPUTE_N = 1_000_000;

function clip01(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}

// Stirling coefficients B_{2j}/(2j)/(2j-1) for j = 8..1 (highest power first, as np.polyval wants).
const STIRLING_DESC = [
  -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4,
  -5.952380952380952381e-4, 7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2,
];

/** log(n! / n^n) by Stirling's series with n*log(n) removed up front (no cancellation). */
function logFactorialOverPower(n: number): number {
  const rn = 1 / n;
  const y = rn / n;
  let poly = 0;
  for (const c of STIRLING_DESC) poly = poly * y + c;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

function matMul(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k];
      if (aik === 0) continue;
      for (let j = 0; j < m; j++) out[i * m + j] += aik * b[k * m + j];
    }
  }
  return out;
}

/**
 * P(D_n <= d) by Durbin's matrix method in the Marsaglia-Tsang-Wang form: the k-th diagonal
 * element of (n!/n^n) H^n for an m x m matrix H, m = 2k - 1, k = ceil(n d). All entries of H are
 * non-negative, so the matrix power has no cancellation; powers are rescaled by 2^128 as needed.
 */
function durbinCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - h ** j) * fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;
  let H: Float64Array = new Float64Array(m * m);
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - (i - 1)];
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r];
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c];

  let power: Float64Array = new Float64Array(m * m);
  for (let i = 0; i < m; i++) power[i * m + i] = 1;
  let remaining = n;
  let exponent = 0; // scaling of `power`
  let hExponent = 0; // scaling of H
  while (remaining > 0) {
    if (remaining % 2) {
      power = matMul(power, H, m);
      exponent += hExponent;
    }
    H = matMul(H, H, m);
    hExponent *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)]) > SCALE_UP) {
      for (let i = 0; i < H.length; i++) H[i] /= SCALE_UP;
      hExponent += 128;
    }
    remaining = Math.floor(remaining / 2);
  }
  let p = power[(k - 1) * m + (k - 1)];
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < SCALE_DOWN) {
      p *= SCALE_UP;
      exponent -= 128;
    }
  }
  if (exponent !== 0) p = ldexp(p, exponent);
  return clip01(p);
}

function pomeranzBounds(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const half = Math.floor((i + 1) / 2);
    const odd = (i + 1) % 2; // 0 when i is odd
    if (odd === 0) {
      if (half === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = half - 1 - ll - roundf - 1;
        j2 = half + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = half - 1 - ll - 1;
      j2 = half + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Full discrete convolution (numpy's np.convolve, mode 'full'). */
function convolve(a: Float64Array, b: Float64Array): Float64Array {
  if (a.length === 0 || b.length === 0) return new Float64Array(0);
  const out = new Float64Array(a.length + b.length - 1);
  for (let i = 0; i < a.length; i++) {
    const ai = a[i];
    if (ai === 0) continue;
    for (let j = 0; j < b.length; j++) out[i + j] += ai * b[j];
  }
  return out;
}

/**
 * P(D_n <= x) by Pomeranz's recursion (1974): 2n+1 convolutions of a short row with Poisson-like
 * weights; non-negative throughout, with 2^-128 rescaling against underflow. Used for n <= 140.
 */
function pomeranzCdf(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = 1;
  twogpower[0] = 1;
  onem2gpower[0] = 1;
  let expnt = 0;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = (gpower[m - 1] * gOverN) / m;
    twogpower[m] = (twogpower[m - 1] * twoGOverN) / m;
    onem2gpower[m] = (onem2gpower[m - 1] * oneMinusTwoGOverN) / m;
  }
  let v0 = new Float64Array(npwrs);
  let v1 = new Float64Array(npwrs);
  v1[0] = 1;
  let v0s = 0;
  let v1s = 0;
  let [j1, j2] = pomeranzBounds(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [v0, v1] = [v1, v0];
    [v0s, v1s] = [v1s, v0s];
    v1.fill(0);
    [j1, j2] = pomeranzBounds(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      // Slices clamp at the array end, as numpy slicing does.
      const start = Math.max(0, Math.min(npwrs, k1 - v0s));
      const stop = Math.max(start, Math.min(npwrs, k1 - v0s + ln2));
      const conv = convolve(v0.subarray(start, stop), pwrs.subarray(0, Math.min(npwrs, ln2)));
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      for (let c = 0; c < convLen; c++) v1[c] = conv[convStart + c] ?? 0;
      let max = -Infinity;
      for (let c = 0; c < npwrs; c++) if (v1[c] > max) max = v1[c];
      if (max > 0 && max < SCALE_DOWN) {
        for (let c = 0; c < npwrs; c++) v1[c] *= SCALE_UP;
        expnt -= 128;
      }
      v1s = v0s + j1 - k1;
    }
  }
  let ans = v1[n - v1s];
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > SCALE_UP) {
      ans *= SCALE_DOWN;
      expnt += 128;
    }
    ans *= m;
  }
  if (expnt !== 0) ans = ldexp(ans, expnt);
  return clip01(ans);
}

/**
 * Pelz-Good (1976) approximation of P(D_n <= x): the Li-Chien/Korolyuk expansion
 * K0 + K1/sqrt(n) + K2/n + K3/n^1.5 rewritten with Jacobi theta identities for small z = x sqrt(n).
 */
function pelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z3 = z ** 3;
  const z4 = z ** 4;
  const z6 = z ** 6;
  const qlog = -PI2 / 8 / z2;
  if (qlog < MIN_LOG) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64;
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m ** 2;
    const m4 = m ** 4;
    const m6 = m ** 6;
    const qpower = q ** (8 * k);
    const coeffs = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let i = 0; i < 4; i++) K[i] = K[i] * qpower + coeffs[i];
  }
  const divisors = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (K[i] * q * SQRT_2PI) / divisors[i];
  q = Math.exp(-PI2 / 2 / z2);
  let k2extra = 0;
  let k3extra = 0;
  const sqrt3z = SQRT3 * z;
  for (let k = maxk; k > 0; k--) {
    const k2 = k * k;
    const qp = q ** k2;
    k2extra += k2 * qp;
    const kpi = Math.PI * k;
    k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qp;
  }
  K[2] += k2extra * ((PI2 * SQRT_2PI) / (-36 * z3));
  K[3] += k3extra * ((PI2 * SQRT_2PI) / (216 * z6));
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += K[i] / n ** (i / 2);
  return sum;
}

/**
 * One-sided Smirnov survival function P(D_n+ >= x) (scipy.special.smirnov), by the
 * Smirnov-Birnbaum-Tingey sum x * sum_{v=0}^{floor(n(1-x))} C(n,v) (1-x-v/n)^(n-v) (x+v/n)^(v-1).
 * All terms are positive; each is evaluated in logs with the bases formed from an exact n*x, so a
 * term's relative error is about eps * n (1e-10 at n = 1e6).
 */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0 && Number.isInteger(n) && x >= 0 && x <= 1)) return Number.NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  // floor(n x) and its fraction, exactly.
  const nxHi = n * x;
  const nxLo = productResidual(n, x, nxHi);
  let nxFloor = Math.floor(nxHi);
  if (nxHi === nxFloor && nxLo < 0) nxFloor -= 1;
  let alpha = nxHi - nxFloor + nxLo;
  if (alpha >= 1) {
    nxFloor += 1;
    alpha = 0;
  }
  if (nxFloor === 0 || (nxFloor === 1 && alpha === 0)) {
    // x <= 1/n: P(D+ < x) = x (1 + x)^(n-1).
    return clip01(1 - x * (1 + x) ** (n - 1));
  }
  if (-2 * n * x * x < CEPHES_MIN_LOG) return 0;
  if (nxFloor >= n - 1) return clip01((1 - x) ** n);
  if (n > SMIRNOV_MAX_COMPUTE_N) {
    // scipy's approximation for very large n: p ~ exp(-(6nx+1)^2 / (18n)).
    const logp = -((6 * n * x + 1) ** 2) / 18 / n;
    // Like scipy: exp() directly for small p, else 1 - cdf with the cdf from expm1.
    return clip01(logp < -Math.LN2 ? Math.exp(logp) : 1 + Math.expm1(logp));
  }
  const lastV = n - nxFloor - 1; // the v with 1 - x - v/n = 0 (alpha = 0) is excluded: its term is 0
  const nTerms = lastV + 1;
  const sum = new CompensatedSum();
  const logBinomial = new CompensatedSum(); // log C(n, v), built up term by term
  for (let v = 0; v < nTerms; v++) {
    // s = x + v/n, and 1 - s formed from integers where it is small.
    const s = (v + nxHi + nxLo) / n;
    const oneMinusS = s > 0.5 ? (n - v - nxHi - nxLo) / n : 1 - s;
    const logOneMinusS = s > 0.5 ? Math.log(oneMinusS) : Math.log1p(-s);
    const logTerm = logBinomial.value + (n - v) * logOneMinusS + (v - 1) * Math.log(s);
    const term = Math.exp(logTerm);
    sum.add(term);
    // Stop once the remaining terms (each no larger, past the mode) cannot change the sum.
    if (term !== 0 && v !== nTerms - 1 && 4 * (nTerms - v) * term < Number.EPSILON * sum.value) break;
    if (term === 0 && v > n / 2) break;
    logBinomial.add(Math.log((n - v) / (v + 1)));
  }
  return clip01(x * sum.value);
}

/**
 * Survival function of D_n for a continuous null, P(D_n >= x): scipy.stats.kstwo.sf(x, n).
 * Cut-offs and algorithms follow scipy's `_kolmogn` so the approximations line up.
 */
export function kolmogorovSf(n: number, x: number): number {
  if (!(n >= 1) || !Number.isInteger(n)) return Number.NaN;
  if (Number.isNaN(x)) return Number.NaN;
  // kstwo's support is [0.5/n, 1]: at or below its start the survival is 1, at 1 and beyond 0.
  if (x <= 0.5 / n) return 1;
  if (x >= 1) return 0;
  const t = n * x;
  if (t <= 1) {
    // Ruben-Gambino: P(D_n <= x) = n!/n^n (2t - 1)^n for 1/(2n) <= x <= 1/n.
    if (t <= 0.5) return 1;
    let prob: number;
    if (n <= 140) {
      prob = 1;
      const base = 2 * t - 1;
      for (let i = 1; i <= n; i++) prob *= i * (1 / n) * base;
    } else {
      prob = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1 - prob);
  }
  if (t >= n - 1) return clip01(2 * (1 - x) ** n);
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));
  const nxSquared = t * x;
  if (n <= 140) {
    if (nxSquared <= 0.754693) return clip01(1 - durbinCdf(n, x));
    if (nxSquared <= 4) return clip01(1 - pomeranzCdf(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nxSquared >= 370) return 0;
  if (nxSquared >= 2.2) return clip01(2 * smirnovSf(n, x));
  let cdf: number;
  if (nxSquared >= 18) cdf = 1;
  else if (n <= 100000 && n * x ** 1.5 <= 1.4) cdf = durbinCdf(n, x);
  else cdf = pelzGoodCdf(n, x);
  return clip01(1 - cdf);
}
