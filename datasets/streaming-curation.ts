// Dataset formation from a staged window read part by part, for every sampling kind but none: the
// rows held at once are one decoded part plus the sample, never the whole window.
//
//  1. Eligibility pass over the parts: drop incomplete rows and dedupe, as curateWindow does, into a
//     bitset over the window's rows (one bit per row per set, the only per-row state), counting n, and
//     for stratified sampling the eligible rows of each stratum (a map of O(strata)).
//  2. Sampling, with the same seeded draws in the same order as the in-memory samplers
//     (datasets/sampling.ts), on the eligible rows in window order:
//     - uniform and reservoir need only row numbers: selection sampling (Knuth's Algorithm S, which
//       needs the n of pass 1) or Algorithm R over the bitset, no part read;
//     - importance needs each row's weight, which lives in the parts: a sampling pass feeds them to a
//       WeightedReservoir (A-Res, O(k) row numbers);
//     - stratified needs each row's stratum, also in the parts: stratifiedSelector decides each row
//       when it is read (one rng per stratum, allocations from pass 1's counts), so the sampled rows
//       are copied while sampling and no gather pass follows.
//  3. Gather pass over the parts (all but stratified): the sampled rows are copied into compact columns of k rows.
// The steps after sampling (time split, label-overlap purge, rebalancing) then run on the compact
// columns through finishCuration. The result (columns, steps, counts) equals curateWindow's on the
// concatenated window, so the snapshot's bytes and content hash do not depend on the path that formed
// it. Dedupe state: key entity_time holds one map over rows sharing a timestamp; key entity holds one
// entry per distinct entity (it keeps each entity's last row, known only at the end of the window);
// with stratified sampling each entry also holds its row's stratum key, to count it once it is kept.
import type { DataSpec } from '../spec/data-spec';
import type { FeatureLayout } from '../spec/feature-layout';
import {
  dedupeDetail,
  dedupeSkipped,
  finishCuration,
  importanceWeight,
  incompleteDetail,
  isComplete,
  samplingDetail,
  stepRecorder,
  stratumKeyOf,
  weightColumnKind,
  type CurationOptions,
  type CurationResult,
  type CurationStep,
} from './curation';
import { allIndices, Reservoir, seededRng, stratifiedSelector, targetCount, WeightedReservoir } from './sampling';
import { allocateStaged, StagedWindowError, type StagedColumns } from './staged-window';

export type StreamableSampling = Exclude<DataSpec['sampling'], { kind: 'none' }>;

/**
 * Sampling that keeps a sample of the window, decided in window order: the dataset step can stream it.
 * Only `none` is not: it keeps every eligible row, so the snapshot is the window anyway.
 */
export function isStreamableSampling(sampling: DataSpec['sampling']): sampling is StreamableSampling {
  return sampling.kind !== 'none';
}

export type StreamingPass = 'eligibility' | 'sampling' | 'gather';

export interface StreamingCurationOptions extends Omit<CurationOptions, 'hasEntity' | 'data'> {
  data: Omit<CurationOptions['data'], 'sampling'> & { sampling: StreamableSampling };
  /** The staged window's row count (its summary's); the parts must hold exactly this many. */
  windowRows: number;
  /** The staged columns' layout and auxiliary columns (the staged summary's), for the compact copy. */
  staged: { layout: FeatureLayout; auxiliary: readonly string[] };
  /** Known from the source kind, or undefined: true when any row has a non-empty entity id (as the in-memory path decides). */
  hasEntity?: boolean;
  /** Told the rows read so far in each pass over the parts (for heartbeats); stratified sampling gathers in its sampling pass. */
  onPart?: (pass: StreamingPass, rowsRead: number) => void;
}

export interface StreamingStats {
  /** Passes over the staged parts: eligibility, sampling (importance and stratified), gather (all but stratified, and only when k > 0). */
  partPasses: number;
  windowRows: number;
  /** Rows left after drop_incomplete and dedupe: what sampling drew from. */
  eligibleRows: number;
  sampleRows: number;
  /** Most rows of one decoded part. */
  largestPartRows: number;
  /** Most sampled rows (or their row numbers) the sampler held at once: never more than the sample. */
  samplerPeak: number;
  /** Rows materialised at once, at most: the largest part plus the sample. */
  peakRowsHeld: number;
  /** Per-row bookkeeping: the eligibility bitsets. */
  bitsetBytes: number;
  /** Most keys the dedupe state held at once (0 without dedupe). */
  dedupeKeysPeak: number;
  /** Strata counted and sampled (stratified sampling; 0 otherwise): the sampler's state is one entry per stratum. */
  strata: number;
}

export interface StreamingCurationResult {
  curated: CurationResult;
  /** The sampled rows, compact and in window order: what curated's indices (naturalRows) refer to. */
  sample: StagedColumns;
  hasEntity: boolean;
  stats: StreamingStats;
}

class Bitset {
  readonly bytes: Uint8Array;
  constructor(size: number) {
    this.bytes = new Uint8Array((size + 7) >>> 3);
  }
  set(i: number): void {
    this.bytes[i >>> 3] |= 1 << (i & 7);
  }
  has(i: number): boolean {
    return ((this.bytes[i >>> 3] >>> (i & 7)) & 1) === 1;
  }
}

function copyRow(into: StagedColumns, at: number, from: StagedColumns, row: number): void {
  into.eventTimeMs[at] = from.eventTimeMs[row];
  into.labelAvailableMs[at] = from.labelAvailableMs[row];
  into.labels[at] = from.labels[row];
  into.entityIds[at] = from.entityIds[row];
  for (const name in into.numeric) into.numeric[name][at] = from.numeric[name][row];
  for (const name in into.categorical) into.categorical[name][at] = from.categorical[name][row];
  for (const name in into.auxiliary) into.auxiliary[name][at] = from.auxiliary[name][row];
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/**
 * Curates a staged window streamed part by part (`parts` is called once per pass and must yield the
 * same parts in the same order each time). Same result as curateWindow on the whole window.
 */
export async function curateStagedParts(parts: () => AsyncIterable<StagedColumns>, options: StreamingCurationOptions): Promise<StreamingCurationResult> {
  const { layout, data, windowRows } = options;
  const { sampling } = data;
  const steps: CurationStep[] = [];
  const record = stepRecorder(steps);
  const key = data.dedupe.key;
  // A bad sampling column fails here, before any part is read (the in-memory path fails at sampling, with the same error).
  const stratumOf = sampling.kind === 'stratified' ? stratumKeyOf(layout, sampling.column) : null;
  const weightKind = sampling.kind === 'importance' ? weightColumnKind({ numeric: options.staged.layout.numeric, auxiliary: options.staged.auxiliary }, sampling.weightColumn) : null;
  let partPasses = 0;

  /**
   * One pass over the parts: `visit` sees each part with the window row number of its first row and
   * may return true to stop early; a pass that reads to the end must find exactly windowRows rows.
   */
  const pass = async (name: StreamingPass, visit: (part: StagedColumns, offset: number) => boolean | void): Promise<void> => {
    partPasses++;
    let offset = 0;
    for await (const part of parts()) {
      const end = offset + part.eventTimeMs.length;
      if (end > windowRows) throw new StagedWindowError(`the staged window lists ${windowRows} rows but its parts hold more; re-run the pull step`);
      const stop = visit(part, offset);
      offset = end;
      options.onPart?.(name, offset);
      if (stop) return;
    }
    if (offset !== windowRows) throw new StagedWindowError(`the staged window lists ${windowRows} rows but its parts hold ${offset}; re-run the pull step`);
  };

  // Pass 1: eligibility (and, for stratified sampling, the eligible rows per stratum).
  const complete = new Bitset(windowRows);
  const unique = key === 'none' ? null : new Bitset(windowRows);
  const missing: Record<string, number> = {};
  let completeRows = 0;
  let uniqueRows = 0;
  let anyEntity = false;
  let largestPartRows = 0;
  let dedupeKeysPeak = 0;
  // Rows per stratum among the complete rows and among the rows dedupe keeps: which one sampling
  // draws from is known only at the end (hasEntity may be decided by the rows).
  const completeStrata = stratumOf ? new Map<string, number>() : null;
  const uniqueStrata = stratumOf && unique ? new Map<string, number>() : null;
  // entity_time: the rows of the current run of equal timestamps (rows arrive in time order), last row per entity.
  let groupOpen = false;
  let groupTime = 0;
  const group = new Map<string, number>();
  // entity: the last row of every entity so far.
  const lastOf = new Map<string, number>();
  // The stratum of each row the dedupe state holds, by entity (stratified sampling only).
  const stratumOfEntity = new Map<string, string>();
  const keep = (kept: Map<string, number>) => {
    for (const [entity, row] of kept) {
      unique!.set(row);
      if (uniqueStrata) bump(uniqueStrata, stratumOfEntity.get(entity)!);
    }
    stratumOfEntity.clear();
  };
  const closeGroup = () => {
    keep(group);
    uniqueRows += group.size;
    group.clear();
  };
  await pass('eligibility', (part, offset) => {
    const n = part.eventTimeMs.length;
    largestPartRows = Math.max(largestPartRows, n);
    for (let r = 0; r < n; r++) {
      const row = offset + r;
      if (!anyEntity && part.entityIds[r] !== '') anyEntity = true;
      if (!isComplete(part, layout, r, missing)) continue;
      complete.set(row);
      completeRows++;
      const stratum = stratumOf?.(part, r);
      if (stratum !== undefined) bump(completeStrata!, stratum);
      if (key === 'entity_time') {
        const t = part.eventTimeMs[r];
        if (!groupOpen || t !== groupTime) {
          closeGroup();
          groupOpen = true;
          groupTime = t;
        }
        group.set(part.entityIds[r], row);
        if (group.size > dedupeKeysPeak) dedupeKeysPeak = group.size;
      } else if (key === 'entity') {
        lastOf.set(part.entityIds[r], row);
      }
      if (stratum !== undefined && key !== 'none') stratumOfEntity.set(part.entityIds[r], stratum);
    }
  });
  if (key === 'entity_time') closeGroup();
  if (key === 'entity') {
    keep(lastOf);
    uniqueRows = lastOf.size;
    dedupeKeysPeak = lastOf.size;
    lastOf.clear();
  }
  const hasEntity = options.hasEntity ?? anyEntity;
  record('drop_incomplete', windowRows, completeRows, incompleteDetail(missing));
  const skipped = dedupeSkipped(key, hasEntity);
  const eligible = skipped === null ? unique! : complete;
  const n = skipped === null ? uniqueRows : completeRows;
  const strata = skipped === null ? uniqueStrata : completeStrata;
  record('dedupe', completeRows, n, skipped ?? dedupeDetail(key as 'entity_time' | 'entity'));

  // Pass 2: sampling over the eligible rows, in window order, with curateWindow's draws. `selected`
  // lists the sampled row numbers, ascending, for the gather pass; stratified sampling fills `sample` itself.
  const rng = seededRng(data.seed, 'sampling');
  let selected: Int32Array | null = null;
  let sample: StagedColumns | null = null;
  let samplerPeak = 0;
  switch (sampling.kind) {
    case 'uniform': {
      const k = targetCount(n, sampling);
      selected = new Int32Array(k);
      let chosen = 0;
      for (let row = 0, i = 0; row < windowRows && chosen < k; row++) {
        if (!eligible.has(row)) continue;
        // As uniformSample: all rows when k >= n (no draws); else select row i with probability (still needed) / (still available).
        if (k >= n || (n - i) * rng.next() < k - chosen) selected[chosen++] = row;
        i++;
      }
      samplerPeak = k;
      break;
    }
    case 'reservoir': {
      const k = Math.min(n, sampling.rows);
      const reservoir = new Reservoir<number>(Math.max(1, k), rng);
      for (let row = 0; row < windowRows; row++) if (eligible.has(row)) reservoir.offer(row);
      samplerPeak = reservoir.items.length;
      selected = Int32Array.from(reservoir.items).sort();
      break;
    }
    case 'importance': {
      // The weights live in the parts: one pass offers every eligible row, in window order, as weightedSample does.
      const reservoir = new WeightedReservoir(Math.min(n, sampling.rows), rng);
      const name = sampling.weightColumn;
      await pass('sampling', (part, offset) => {
        const weights = part[weightKind!][name];
        for (let r = 0; r < part.eventTimeMs.length; r++) if (eligible.has(offset + r)) reservoir.offer(offset + r, importanceWeight(weights, r));
      });
      samplerPeak = reservoir.size;
      selected = reservoir.rows();
      break;
    }
    case 'stratified': {
      // Each row's fate is decided when it is read (stratifiedSelector), so the pass copies the sampled
      // rows as it goes and stops after the last one: sampling and gather in one pass.
      const k = targetCount(n, sampling);
      const take = stratifiedSelector(strata!, k, data.seed);
      const out = allocateStaged(k, options.staged.layout, options.staged.auxiliary);
      let chosen = 0;
      if (k > 0) {
        await pass('sampling', (part, offset) => {
          for (let r = 0; r < part.eventTimeMs.length && chosen < k; r++) if (eligible.has(offset + r) && take(stratumOf!(part, r))) copyRow(out, chosen++, part, r);
          return chosen === k;
        });
      }
      if (chosen !== k) throw new StagedWindowError(`the staged window's parts changed between passes (${chosen} of ${k} sampled rows found); re-run the pull step`);
      sample = out;
      samplerPeak = k;
      break;
    }
  }
  const k = selected ? selected.length : sample!.eventTimeMs.length;
  record('sampling', n, k, samplingDetail(sampling, k, n));

  // Pass 3: gather the sampled rows; stops reading once the last one is copied.
  if (selected) {
    const rows = selected;
    const out = allocateStaged(k, options.staged.layout, options.staged.auxiliary);
    let next = 0;
    if (k > 0) {
      await pass('gather', (part, offset) => {
        const end = offset + part.eventTimeMs.length;
        for (; next < k && rows[next] < end; next++) copyRow(out, next, part, rows[next] - offset);
        return next === k;
      });
    }
    if (next !== k) throw new StagedWindowError(`the staged window's parts changed between passes (${next} of ${k} sampled rows found); re-run the pull step`);
    sample = out;
  }

  const curated = finishCuration(sample!, allIndices(k), steps, { ...options, hasEntity });
  return {
    curated,
    sample: sample!,
    hasEntity,
    stats: {
      partPasses,
      windowRows,
      eligibleRows: n,
      sampleRows: k,
      largestPartRows,
      samplerPeak,
      peakRowsHeld: largestPartRows + k,
      bitsetBytes: complete.bytes.byteLength + (unique?.bytes.byteLength ?? 0),
      dedupeKeysPeak,
      strata: strata?.size ?? 0,
    },
  };
}
