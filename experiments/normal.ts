// The standard normal distribution: CDF, survival function and quantile, to double precision.
// Every z-test, sample-size formula and sequential test in experiments/ is built on these.

const SQRT_2PI = Math.sqrt(2 * Math.PI);

/**
 * Upper tail P(Z > x) for x >= 0, to ~1e-15 relative error everywhere (p-values far in the tail
 * included, where 1 - cdf(x) would cancel to 0):
 *  - x < 2: Marsaglia's series Phi(x) = 1/2 + phi(x) (x + x^3/3 + x^5/15 + ...), all terms positive;
 *  - x >= 2: the continued fraction of the Mills ratio, sf(x) = phi(x) / (x + 1/(x + 2/(x + 3/(x + ...)))),
 *    evaluated by the modified Lentz method.
 */
function upperTail(x: number): number {
  if (x > 38.5) return 0;
  const density = Math.exp((-x * x) / 2) / SQRT_2PI;
  if (x < 2) {
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let k = 3; Math.abs(term) > 1e-17 * Math.abs(sum); k += 2) {
      term *= x2 / k;
      sum += term;
    }
    return 0.5 - density * sum;
  }
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 5000; n++) {
    d = x + n * d;
    d = Math.abs(d) < tiny ? 1 / tiny : 1 / d;
    c = x + n / c;
    if (Math.abs(c) < tiny) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return density / f;
}

/** P(Z <= x). */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  return x >= 0 ? 1 - upperTail(x) : upperTail(-x);
}

/** P(Z > x), accurate in the upper tail (p-values). */
export function normalSf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  return x >= 0 ? upperTail(x) : 1 - upperTail(-x);
}

export function normalPdf(x: number): number {
  return Math.exp((-x * x) / 2) / SQRT_2PI;
}

// Acklam's rational approximation (relative error 1.15e-9), then one Halley step against the
// accurate CDF above, which brings it to full double precision.
const A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
const P_LOW = 0.02425;

function acklam(p: number): number {
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  }
  if (p > 1 - P_LOW) {
    const q = Math.sqrt(-2 * Math.log1p(-p));
    return -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return ((((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q) / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1);
}

/** The quantile z with P(Z <= z) = p, for p in (0, 1). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return -Infinity;
    if (p === 1) return Infinity;
    throw new RangeError(`normalQuantile: p must be in [0, 1], got ${p}`);
  }
  const x = acklam(p);
  // Halley refinement; in the upper half work with the survival function so 1 - p does not cancel.
  const e = p < 0.5 ? normalCdf(x) - p : (1 - p) - normalSf(x);
  const u = e * SQRT_2PI * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}
