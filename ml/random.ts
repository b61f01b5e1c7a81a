// Seeded, dependency-free PRNG shared by the trainers so shuffles and synthetic data replay exactly.

/** A deterministic stream of pseudo-random numbers. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  nextInt(n: number): number;
  /** Standard normal (mean 0, variance 1). */
  normal(): number;
}

// mulberry32: 32 bits of state, passes the usual statistical batteries well enough for shuffling
// and test data, and is trivially portable (a Python reference can reproduce the same stream).
// Not for cryptography, and its 2^32 period is too short to draw billions of samples from.
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) {
    // Coercing 0.5 or NaN to 0 would silently make "different" seeds give the same run.
    throw new Error(`createRng: seed must be an integer, got ${seed}`);
  }
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spareNormal: number | undefined;
  return {
    next,
    nextInt(n: number): number {
      if (!Number.isInteger(n) || n <= 0 || n > 4294967296) {
        throw new Error(`Rng.nextInt: n must be an integer in [1, 2^32], got ${n}`);
      }
      return Math.floor(next() * n);
    },
    normal(): number {
      if (spareNormal !== undefined) {
        const value = spareNormal;
        spareNormal = undefined;
        return value;
      }
      // Box-Muller; 1 - u keeps the log argument in (0, 1] so it never returns -Infinity.
      const u = 1 - next();
      const v = next();
      const radius = Math.sqrt(-2 * Math.log(u));
      spareNormal = radius * Math.sin(2 * Math.PI * v);
      return radius * Math.cos(2 * Math.PI * v);
    },
  };
}

/** Fisher-Yates shuffle in place; the permutation depends only on the rng state. */
export function shuffleInPlace<T extends { length: number; [index: number]: number }>(array: T, rng: Rng): T {
  for (let i = array.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const tmp = array[i];
    array[i] = array[j];
    array[j] = tmp;
  }
  return array;
}
