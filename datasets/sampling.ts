// Seeded sampling for curation (Designing ML Systems, ch. 4): uniform, stratified, reservoir and
// weighted (importance) sampling, and class rebalancing. All work on row indices and return them in
// ascending order, so rows stay in time order; the same seed always selects the same rows.
// Stratified and weighted sampling are also exposed as their building blocks (allocateStrata,
// stratifiedSelector, WeightedReservoir), which decide row by row in window order: the streaming
// curation (datasets/streaming-curation.ts) drives the same code over staged parts, so both paths
// draw the same rows.
import { createRng, type Rng } from '../ml/random';

export class SamplingError extends Error {
  override name = 'SamplingError';
}

/** A per-step seed from the spec's seed, so changing one step's settings leaves the others' draws alone. */
export function deriveSeed(seed: number, step: string): number {
  // FNV-1a over "seed:step": cheap, stable across platforms, and spreads nearby seeds apart.
  // Every UTF-16 code unit counts: iterating code points and taking charCodeAt(0) would drop the low
  // half of a surrogate pair, so "😀" and "😁" (stratum keys are data values) would share a seed.
  const text = `${seed}:${step}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
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
 * Proportional allocation of k sample rows to strata of the given sizes (sum n, k <= n): each stratum
 * gets floor(size * k / n), and the rows left over go to the largest remainders, ties broken by
 * stratum key (sorted), so the result depends only on the counts. Every stratum gets its share within
 * one row, and the allocations add up to exactly k.
 */
export function allocateStrata(counts: ReadonlyMap<string, number>, k: number): Map<string, number> {
  let n = 0;
  for (const count of counts.values()) n += count;
  if (k > n) throw new SamplingError(`cannot allocate ${k} rows to strata holding ${n}`);
  const keys = [...counts.keys()].sort();
  const exact = keys.map((key) => (counts.get(key)! * k) / n);
  const alloc = exact.map(Math.floor);
  let left = k - alloc.reduce((a, b) => a + b, 0);
  const order = keys.map((_, i) => i).sort((a, b) => exact[b] - alloc[b] - (exact[a] - alloc[a]) || (keys[a] < keys[b] ? -1 : 1));
  for (const i of order) {
    if (left <= 0) break;
    alloc[i]++;
    left--;
  }
  return new Map(keys.map((key, i) => [key, alloc[i]]));
}

/**
 * The rng of one stratum: derived from the sampling seed and the stratum's key alone, so a stratum's
 * draws do not depend on the other strata or on the order their rows arrive in. That is what lets a
 * window-order stream reproduce the in-memory sample (one shared rng would tie each stratum's draws
 * to the strata drawn before it).
 */
export function stratumRng(seed: number, key: string): Rng {
  return seededRng(seed, `sampling:stratum:${key}`);
}

/**
 * The per-row decision of stratified sampling: called once per row in row order with the row's stratum
 * key, it says whether the row is in the sample. Each stratum runs Knuth's selection sampling
 * (Algorithm S) with its allocation (allocateStrata) and its own rng (stratumRng), so the decision for
 * a row needs only the counts, not the other rows: one pass, O(strata) memory. Draws are made only when
 * the outcome is open (a stratum still needing none, or all its remaining rows, takes none).
 * `counts` are the rows per stratum that will be offered; k <= their sum.
 */
export function stratifiedSelector(counts: ReadonlyMap<string, number>, k: number, seed: number): (key: string) => boolean {
  const strata = new Map<string, { need: number; left: number; rng: Rng | null }>();
  for (const [key, need] of allocateStrata(counts, k)) strata.set(key, { need, left: counts.get(key)!, rng: null });
  return (key) => {
    const stratum = strata.get(key);
    if (!stratum || stratum.left <= 0) throw new SamplingError(`stratum "${key}" has more rows than were counted`);
    let take: boolean;
    if (stratum.need === 0) take = false;
    else if (stratum.need >= stratum.left) take = true;
    // Select with probability (still needed) / (still available), as uniformSample does.
    else take = stratum.left * (stratum.rng ??= stratumRng(seed, key)).next() < stratum.need;
    stratum.left--;
    if (take) stratum.need--;
    return take;
  };
}

/**
 * Stratified sampling with proportional allocation: every stratum keeps its share of the sample
 * (allocateStrata), then rows are drawn uniformly inside each stratum (stratifiedSelector, one rng per
 * stratum derived from `seed`). Rare strata are never lost to chance the way simple random sampling can
 * lose them. Output is in input order.
 */
export function stratifiedSample(indices: Int32Array, strataOf: (row: number) => string, k: number, seed: number): Int32Array {
  const n = indices.length;
  if (k >= n) return indices.slice();
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const key = strataOf(indices[i]);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const take = stratifiedSelector(counts, k, seed);
  return indices.filter((row) => take(strataOf(row)));
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
 * Weighted sampling without replacement (Efraimidis & Spirakis, A-Res), fed one row at a time: each
 * row gets the key u^(1/w) and the k largest keys win, so a row's chance grows with its weight;
 * zero-weight rows are never picked and take no draw. One pass, O(k) memory. Weights must be finite
 * and non-negative; a bad one throws naming the row, as numbered by the caller.
 */
export class WeightedReservoir {
  private readonly heap: MinHeap;

  constructor(
    readonly capacity: number,
    private readonly rng: Rng,
  ) {
    this.heap = new MinHeap(Math.max(1, capacity));
  }

  offer(row: number, w: number): void {
    if (!(w >= 0) || !Number.isFinite(w)) throw new SamplingError(`row ${row} has weight ${w}: importance weights must be finite and non-negative`);
    if (w === 0) return;
    // log(u)/w orders rows exactly like u^(1/w) and does not underflow for small weights.
    const key = Math.log(1 - this.rng.next()) / w;
    const heap = this.heap;
    if (heap.size < this.capacity) heap.push(key, row);
    else if (this.capacity > 0 && key > heap.keys[0]) heap.replaceTop(key, row);
  }

  /** Rows held now (at most `capacity`). */
  get size(): number {
    return this.heap.size;
  }

  /** The sampled rows, ascending. */
  rows(): Int32Array {
    return this.heap.rows.slice(0, this.heap.size).sort();
  }
}

/** Weighted sampling (WeightedReservoir) of k of the given indices, in their order. */
export function weightedSample(indices: Int32Array, weightOf: (row: number) => number, k: number, rng: Rng): Int32Array {
  const reservoir = new WeightedReservoir(k, rng);
  for (let i = 0; i < indices.length; i++) reservoir.offer(indices[i], weightOf(indices[i]));
  return reservoir.rows();
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
