// Numerical building blocks for the drift statistics: compensated summation, log-gamma, the
// regularised upper incomplete gamma function (chi-square survival) and an exact product residual.

/**
 * Neumaier's compensated sum. Drift statistics add up to millions of small terms (Wasserstein
 * areas, log binomials); plain left-to-right addition loses ~n*eps relative accuracy, this keeps
 * the error near one rounding, so results agree with scipy regardless of summation order.
 */
export class CompensatedSum {
  private sum = 0;
  private compensation = 0;

  add(value: number): void {
    const t = this.sum + value;
    if (Math.abs(this.sum) >= Math.abs(value)) this.compensation += this.sum - t + value;
    else this.compensation += value - t + this.sum;
    this.sum = t;
  }

  get value(): number {
    return this.sum + this.compensation;
  }
}

/** Sum of an array with Neumaier compensation. */
export function compensatedSum(values: ArrayLike<number>): number {
  const acc = new CompensatedSum();
  for (let i = 0; i < values.length; i++) acc.add(values[i]);
  return acc.value;
}

const SPLITTER = 134217729; // 2^27 + 1, Veltkamp's constant for splitting a double in halves

/**
 * The rounding error of a*b, so that a*b == product + residual exactly (Dekker's TwoProduct;
 * JavaScript has no fused multiply-add). Used where n*x must be floored exactly.
 */
export function productResidual(a: number, b: number, product: number): number {
  let c = SPLITTER * a;
  const aHi = c - (c - a);
  const aLo = a - aHi;
  c = SPLITTER * b;
  const bHi = c - (c - b);
  const bLo = b - bHi;
  return aHi * bHi - product + aHi * bLo + aLo * bHi + aLo * bLo;
}

// Stirling series coefficients B_{2k} / (2k (2k-1)) for k = 1..8.
const STIRLING = [
  1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400,
];
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * log(Gamma(x)) for x > 0. Stirling's series is accurate to a rounding for x >= 15; smaller
 * arguments are shifted up with the recurrence Gamma(x) = Gamma(x + k) / (x (x+1) ... (x+k-1)).
 */
export function logGamma(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw new Error(`logGamma: argument must be finite and > 0, got ${x}`);
  let shift = 0;
  let product = 1;
  while (x + shift < 15) {
    product *= x + shift;
    shift += 1;
  }
  const z = x + shift;
  const zInv = 1 / z;
  const zInv2 = zInv * zInv;
  let series = 0;
  for (let k = STIRLING.length - 1; k >= 0; k--) series = series * zInv2 + STIRLING[k];
  const stirling = (z - 0.5) * Math.log(z) - z + HALF_LOG_2PI + series * zInv;
  return shift === 0 ? stirling : stirling - Math.log(product);
}

const MACHINE_EPSILON = 2 ** -52;
const BIG = 4503599627370496; // 2^52, rescaling point of the continued fraction (as in Cephes)
const BIG_INV = 2.22044604925031308085e-16;

/** Regularised lower incomplete gamma P(a, x) by its power series (converges fast for x < a + 1). */
function lowerGammaSeries(a: number, x: number): number {
  const logPrefactor = a * Math.log(x) - x - logGamma(a);
  let r = a;
  let term = 1;
  let sum = 1;
  for (let i = 0; i < 100000; i++) {
    r += 1;
    term *= x / r;
    sum += term;
    if (term <= sum * MACHINE_EPSILON) break;
  }
  return (sum * Math.exp(logPrefactor)) / a;
}

/** Regularised upper incomplete gamma Q(a, x) by Legendre's continued fraction (x >= a + 1). */
function upperGammaContinuedFraction(a: number, x: number): number {
  const logPrefactor = a * Math.log(x) - x - logGamma(a);
  let y = 1 - a;
  let z = x + y + 1;
  let c = 0;
  let pkm2 = 1;
  let qkm2 = x;
  let pkm1 = x + 1;
  let qkm1 = z * x;
  let ans = pkm1 / qkm1;
  for (let i = 0; i < 100000; i++) {
    c += 1;
    y += 1;
    z += 2;
    const yc = y * c;
    const pk = pkm1 * z - pkm2 * yc;
    const qk = qkm1 * z - qkm2 * yc;
    let t = 1;
    if (qk !== 0) {
      const r = pk / qk;
      t = Math.abs((ans - r) / r);
      ans = r;
    }
    pkm2 = pkm1;
    pkm1 = pk;
    qkm2 = qkm1;
    qkm1 = qk;
    if (Math.abs(pk) > BIG) {
      pkm2 *= BIG_INV;
      pkm1 *= BIG_INV;
      qkm2 *= BIG_INV;
      qkm1 *= BIG_INV;
    }
    if (t <= MACHINE_EPSILON) break;
  }
  return ans * Math.exp(logPrefactor);
}

/** Regularised upper incomplete gamma Q(a, x) = Gamma(a, x) / Gamma(a). */
export function upperRegularizedGamma(a: number, x: number): number {
  if (!(a > 0)) throw new Error(`upperRegularizedGamma: a must be > 0, got ${a}`);
  if (Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 1;
  if (x === Infinity) return 0;
  if (x < 1 || x < a) return 1 - lowerGammaSeries(a, x);
  return upperGammaContinuedFraction(a, x);
}

/** Survival function of the chi-square distribution, P(X >= x) with `dof` degrees of freedom. */
export function chiSquareSf(x: number, dof: number): number {
  if (!(dof > 0)) throw new Error(`chiSquareSf: degrees of freedom must be > 0, got ${dof}`);
  return upperRegularizedGamma(dof / 2, x / 2);
}

/** Round half to even, as numpy's np.round does (scipy rounds the KS effective n with it). */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** x * 2^exponent without intermediate overflow or underflow of 2^exponent itself (C's ldexp). */
export function ldexp(x: number, exponent: number): number {
  let result = x;
  let e = exponent;
  while (e > 1000) {
    result *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    result *= 2 ** -1000;
    e += 1000;
  }
  return result * 2 ** e;
}
