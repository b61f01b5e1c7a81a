// Seeded sampling for curation (Designing ML Systems, ch. 4): uniform, stratified, reservoir and
// weighted (importance) sampling, and class rebalancing. All work on row indices and return them in
// ascending order, so rows stay in time order; the same seed always selects the same rows.
import { createRng, type Rng } from '../ml/random';

export class SamplingError extends Error {
  override name = 'SamplingError';
}

/** A per-step seed from the spec's seed, so changing one step's settings leaves the others' draws alone. */
export function deriveSeed(seed: number, step: string): number {
  // FNV-1a over "seed:step": cheap, stable across platforms, and spreads nearby seeds apart.
  let hash = 0x811c9dc5;
  for (const ch of `${seed}:${step}`) {
    hash ^= ch.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export function seededRng(seed: number, step: string): Rng {
  return createRng(deriveSeed(seed, step));
}

function allIndices(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/**
 * k of the given indices, uniformly without replacement (Knuth's selection sampling, Algorithm S):
 * one pass, O(k) extra memory, output already in input order.
 */
export function uniformSample(indices: Int32Array, k: number, rng: Rng): Int32Array {
  const n = indices.length;
  if (k >= n) return indices.slice();
  const out = new Int32Array(k);
  let chosen = 0;
  for (let i = 0; i < n && chosen < k; i++) {
    // Select row i with probability (still needed) / (still available).
    if ((n - i) * rng.next() < k - chosen) out[chosen++] = indices[i];
  }
  return out;
}

/** How many rows a fraction or row budget asks for, out of n. */
export function targetCount(n: number, budget: { fraction?: number; rows?: number }): number {
  if (budget.rows !== undefined) return Math.min(n, budget.rows);
  if (budget.fraction !== undefined) return Math.min(n, Math.round(n * budget.fraction));
  throw new SamplingError('sampling needs "fraction" or "rows"');
}

/**
 * Stratified sampling with proportional allocation: every stratum keeps its share of the sample
 * (largest-remainder rounding, ties broken by stratum key so it is deterministic), then rows are drawn
 * uniformly inside each stratum. Rare strata are never lost to chance the way simple random sampling can lose them.
 */
export function stratifiedSample(indices: Int32Array, strataOf: (row: number) => string, k: number, rng: Rng): Int32Array {
  const n = indices.length;
  if (k >= n) return indices.slice();
  const groups = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const key = strataOf(indices[i]);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(indices[i]);
  }
  const keys = [...groups.keys()].sort();
  const exact = keys.map((key) => (groups.get(key)!.length * k) / n);
  const alloc = exact.map(Math.floor);
  let left = k - alloc.reduce((a, b) => a + b, 0);
  const order = keys.map((_, i) => i).sort((a, b) => exact[b] - alloc[b] - (exact[a] - alloc[a]) || (keys[a] < keys[b] ? -1 : 1));
  for (const i of order) {
    if (left <= 0) break;
    alloc[i]++;
    left--;
  }
  const picked: number[] = [];
  keys.forEach((key, i) => {
    for (const row of uniformSample(Int32Array.from(groups.get(key)!), alloc[i], rng)) picked.push(row);
  });
  return Int32Array.from(picked).sort();
}

/**
 * Reservoir sampling (Algorithm R): keeps a uniform sample of `capacity` items from a stream of
 * unknown length in O(capacity) memory; every item seen so far is in the reservoir with equal
 * probability capacity / seen, whenever the stream stops.
 */
export class Reservoir<T> {
  private readonly slots: T[] = [];
  seen = 0;

  constructor(
    readonly capacity: number,
    private readonly rng: Rng,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new SamplingError(`reservoir capacity must be a positive integer, got ${capacity}`);
  }

  offer(item: T): void {
    this.seen++;
    if (this.slots.length < this.capacity) {
      this.slots.push(item);
      return;
    }
    const j = Math.floor(this.rng.next() * this.seen);
    if (j < this.capacity) this.slots[j] = item;
  }

  /** The sample (never more than `capacity` items). */
  get items(): readonly T[] {
    return this.slots;
  }
}

export function reservoirSample(indices: Int32Array, k: number, rng: Rng): Int32Array {
  const reservoir = new Reservoir<number>(Math.max(1, k), rng);
  for (let i = 0; i < indices.length; i++) reservoir.offer(indices[i]);
  return Int32Array.from(reservoir.items).sort();
}

/** Min-heap of (key, row) used by weighted sampling to keep the k largest keys. */
class MinHeap {
  readonly keys: Float64Array;
  readonly rows: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.keys = new Float64Array(capacity);
    this.rows = new Int32Array(capacity);
  }

  push(key: number, row: number): void {
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.keys[parent] <= key) break;
      this.keys[i] = this.keys[parent];
      this.rows[i] = this.rows[parent];
      i = parent;
    }
    this.keys[i] = key;
    this.rows[i] = row;
  }

  replaceTop(key: number, row: number): void {
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= this.size) break;
      const right = left + 1;
      const child = right < this.size && this.keys[right] < this.keys[left] ? right : left;
      if (this.keys[child] >= key) break;
      this.keys[i] = this.keys[child];
      this.rows[i] = this.rows[child];
      i = child;
    }
    this.keys[i] = key;
    this.rows[i] = row;
  }
}

/**
 * Weighted sampling without replacement (Efraimidis & Spirakis, A-Res): each row gets the key
 * u^(1/w) and the k largest keys win, so a row's chance grows with its weight; zero-weight rows are
 * never picked. One pass, O(k) memory. Weights must be finite and non-negative.
 */
export function weightedSample(indices: Int32Array, weightOf: (row: number) => number, k: number, rng: Rng): Int32Array {
  const heap = new MinHeap(Math.max(1, k));
  for (let i = 0; i < indices.length; i++) {
    const row = indices[i];
    const w = weightOf(row);
    if (!(w >= 0) || !Number.isFinite(w)) throw new SamplingError(`row ${row} has weight ${w}: importance weights must be finite and non-negative`);
    if (w === 0) continue;
    // log(u)/w orders rows exactly like u^(1/w) and does not underflow for small weights.
    const key = Math.log(1 - rng.next()) / w;
    if (heap.size < k) heap.push(key, row);
    else if (key > heap.keys[0]) heap.replaceTop(key, row);
  }
  return heap.rows.slice(0, heap.size).sort();
}

export interface RebalanceResult {
  indices: Int32Array;
  positivesBefore: number;
  negativesBefore: number;
  positivesAfter: number;
  negativesAfter: number;
}

/** Copies of each row so the class reaches `target` rows: every row floor(target/n) times, the rest drawn without replacement. */
function replicate(rows: Int32Array, target: number, rng: Rng): number[] {
  const times = Math.floor(target / rows.length);
  const extra = uniformSample(rows, target - times * rows.length, rng);
  const out: number[] = [];
  for (const row of rows) for (let t = 0; t < times; t++) out.push(row);
  for (const row of extra) out.push(row);
  return out;
}

/**
 * Class rebalancing of a binary split toward `targetRate` positives: downsample drops rows of the
 * majority class, upsample repeats rows of the minority class (systematically, then at random for the
 * remainder, which keeps the variance low). Returned indices are ascending; repeats sit together.
 */
export function rebalance(indices: Int32Array, labels: ArrayLike<number>, targetRate: number, method: 'downsample' | 'upsample', rng: Rng): RebalanceResult {
  if (!(targetRate > 0 && targetRate < 1)) throw new SamplingError(`targetPositiveRate must be in (0, 1), got ${targetRate}`);
  const positives = indices.filter((row) => labels[row] === 1);
  const negatives = indices.filter((row) => labels[row] !== 1);
  const P = positives.length;
  const N = negatives.length;
  const result = (pos: ArrayLike<number>, neg: ArrayLike<number>): RebalanceResult => ({
    indices: Int32Array.from([...Array.from(pos), ...Array.from(neg)]).sort(),
    positivesBefore: P,
    negativesBefore: N,
    positivesAfter: pos.length,
    negativesAfter: neg.length,
  });
  if (P === 0 || N === 0) return result(positives, negatives);
  const tooFewPositives = P / (P + N) < targetRate;
  if (method === 'downsample') {
    return tooFewPositives
      ? result(positives, uniformSample(negatives, Math.max(1, Math.round((P * (1 - targetRate)) / targetRate)), rng))
      : result(uniformSample(positives, Math.max(1, Math.round((N * targetRate) / (1 - targetRate))), rng), negatives);
  }
  return tooFewPositives
    ? result(replicate(positives, Math.round((N * targetRate) / (1 - targetRate)), rng), negatives)
    : result(positives, replicate(negatives, Math.round((P * (1 - targetRate)) / targetRate), rng));
}

export { allIndices };
