// Dataset formation from a staged window read part by part, for uniform and reservoir sampling: the
// rows held at once are one decoded part plus the sample, never the whole window.
//
//  1. Eligibility pass over the parts: drop incomplete rows and dedupe, as curateWindow does, into a
//     bitset over the window's rows (one bit per row per set, the only per-row state), counting n.
//  2. Sampling over the bitset, no part read: the same seeded draws in the same order as the
//     in-memory samplers (datasets/sampling.ts): selection sampling (Knuth's Algorithm S, which needs
//     the n of pass 1) for uniform, Algorithm R over row numbers (a Reservoir of k numbers) for reservoir.
//  3. Gather pass over the parts: the sampled rows are copied into compact columns of k rows.
// The steps after sampling (time split, label-overlap purge, rebalancing) then run on the compact
// columns through finishCuration. The result (columns, steps, counts) equals curateWindow's on the
// concatenated window, so the snapshot's bytes and content hash do not depend on the path that formed
// it. Dedupe state: key entity_time holds one map over rows sharing a timestamp; key entity holds one
// entry per distinct entity (it keeps each entity's last row, known only at the end of the window).
import type { DataSpec } from '../spec/data-spec';
import type { FeatureLayout } from '../spec/feature-layout';
import {
  dedupeDetail,
  dedupeSkipped,
  finishCuration,
  incompleteDetail,
  isComplete,
  samplingDetail,
  stepRecorder,
  type CurationOptions,
  type CurationResult,
  type CurationStep,
} from './curation';
import { allIndices, Reservoir, seededRng, targetCount } from './sampling';
import { allocateStaged, StagedWindowError, type StagedColumns } from './staged-window';

export type StreamableSampling = Extract<DataSpec['sampling'], { kind: 'uniform' | 'reservoir' }>;

/** Sampling that keeps a bounded sample of the window, drawn in window order: the dataset step can stream it. */
export function isStreamableSampling(sampling: DataSpec['sampling']): sampling is StreamableSampling {
  return sampling.kind === 'uniform' || sampling.kind === 'reservoir';
}

export interface StreamingCurationOptions extends Omit<CurationOptions, 'hasEntity' | 'data'> {
  data: Omit<CurationOptions['data'], 'sampling'> & { sampling: StreamableSampling };
  /** The staged window's row count (its summary's); the parts must hold exactly this many. */
  windowRows: number;
  /** The staged columns' layout and auxiliary columns (the staged summary's), for the compact copy. */
  staged: { layout: FeatureLayout; auxiliary: readonly string[] };
  /** Known from the source kind, or undefined: true when any row has a non-empty entity id (as the in-memory path decides). */
  hasEntity?: boolean;
  /** Told the rows read so far in each pass over the parts (for heartbeats). */
  onPart?: (pass: 'eligibility' | 'gather', rowsRead: number) => void;
}

export interface StreamingStats {
  /** Passes over the staged parts (eligibility, gather). */
  partPasses: number;
  windowRows: number;
  /** Rows left after drop_incomplete and dedupe: what sampling drew from. */
  eligibleRows: number;
  sampleRows: number;
  /** Most rows of one decoded part. */
  largestPartRows: number;
  /** Most row numbers the sampler held at once (a reservoir never holds more than its capacity). */
  samplerPeak: number;
  /** Rows materialised at once, at most: the largest part plus the sample. */
  peakRowsHeld: number;
  /** Per-row bookkeeping: the eligibility bitsets. */
  bitsetBytes: number;
  /** Most keys the dedupe state held at once (0 without dedupe). */
  dedupeKeysPeak: number;
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

/**
 * Curates a staged window streamed part by part (`parts` is called once per pass and must yield the
 * same parts in the same order each time). Same result as curateWindow on the whole window.
 */
export async function curateStagedParts(parts: () => AsyncIterable<StagedColumns>, options: StreamingCurationOptions): Promise<StreamingCurationResult> {
  const { layout, data, windowRows } = options;
  const steps: CurationStep[] = [];
  const record = stepRecorder(steps);
  const key = data.dedupe.key;

  // Pass 1: eligibility.
  const complete = new Bitset(windowRows);
  const unique = key === 'none' ? null : new Bitset(windowRows);
  const missing: Record<string, number> = {};
  let completeRows = 0;
  let uniqueRows = 0;
  let anyEntity = false;
  let largestPartRows = 0;
  let dedupeKeysPeak = 0;
  // entity_time: the rows of the current run of equal timestamps (rows arrive in time order), last row per entity.
  let groupOpen = false;
  let groupTime = 0;
  const group = new Map<string, number>();
  // entity: the last row of every entity so far.
  const lastOf = new Map<string, number>();
  const closeGroup = () => {
    for (const row of group.values()) unique!.set(row);
    uniqueRows += group.size;
    group.clear();
  };
  let offset = 0;
  for await (const part of parts()) {
    const n = part.eventTimeMs.length;
    largestPartRows = Math.max(largestPartRows, n);
    if (offset + n > windowRows) throw new StagedWindowError(`the staged window lists ${windowRows} rows but its parts hold more; re-run the pull step`);
    for (let r = 0; r < n; r++) {
      const row = offset + r;
      if (!anyEntity && part.entityIds[r] !== '') anyEntity = true;
      if (!isComplete(part, layout, r, missing)) continue;
      complete.set(row);
      completeRows++;
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
    }
    offset += n;
    options.onPart?.('eligibility', offset);
  }
  if (offset !== windowRows) throw new StagedWindowError(`the staged window lists ${windowRows} rows but its parts hold ${offset}; re-run the pull step`);
  if (key === 'entity_time') closeGroup();
  if (key === 'entity') {
    for (const row of lastOf.values()) unique!.set(row);
    uniqueRows = lastOf.size;
    dedupeKeysPeak = lastOf.size;
    lastOf.clear();
  }
  const hasEntity = options.hasEntity ?? anyEntity;
  record('drop_incomplete', windowRows, completeRows, incompleteDetail(missing));
  const skipped = dedupeSkipped(key, hasEntity);
  const eligible = skipped === null ? unique! : complete;
  const n = skipped === null ? uniqueRows : completeRows;
  record('dedupe', completeRows, n, skipped ?? dedupeDetail(key as 'entity_time' | 'entity'));

  // Pass 2: sampling over the eligible row numbers, in window order, with curateWindow's draws.
  const { sampling } = data;
  const rng = seededRng(data.seed, 'sampling');
  let selected: Int32Array;
  let samplerPeak: number;
  if (sampling.kind === 'uniform') {
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
  } else {
    const k = Math.min(n, sampling.rows);
    const reservoir = new Reservoir<number>(Math.max(1, k), rng);
    for (let row = 0; row < windowRows; row++) if (eligible.has(row)) reservoir.offer(row);
    samplerPeak = reservoir.items.length;
    selected = Int32Array.from(reservoir.items).sort();
  }
  const k = selected.length;
  record('sampling', n, k, samplingDetail(sampling, k, n));

  // Pass 3: gather the sampled rows; stops reading once the last one is copied.
  const sample = allocateStaged(k, options.staged.layout, options.staged.auxiliary);
  let next = 0;
  offset = 0;
  if (k > 0) {
    for await (const part of parts()) {
      const end = offset + part.eventTimeMs.length;
      for (; next < k && selected[next] < end; next++) copyRow(sample, next, part, selected[next] - offset);
      offset = end;
      options.onPart?.('gather', offset);
      if (next === k) break;
    }
  }
  if (next !== k) throw new StagedWindowError(`the staged window's parts changed between passes (${next} of ${k} sampled rows found); re-run the pull step`);

  const curated = finishCuration(sample, allIndices(k), steps, { ...options, hasEntity });
  return {
    curated,
    sample,
    hasEntity,
    stats: {
      partPasses: 2,
      windowRows,
      eligibleRows: n,
      sampleRows: k,
      largestPartRows,
      samplerPeak,
      peakRowsHeld: largestPartRows + k,
      bitsetBytes: complete.bytes.byteLength + (unique?.bytes.byteLength ?? 0),
      dedupeKeysPeak,
    },
  };
}
