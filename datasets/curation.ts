// Dataset formation from a staged window: drop incomplete rows, dedupe, sample, split by time, purge
// training rows whose labels were only known after validation begins, rebalance the training split.
// Pure and seeded; every step reports rows before and after so the manifest says what curation did.
import type { DataSpec } from '../spec/data-spec';
import type { FeatureLayout } from '../spec/feature-layout';
import { allIndices, rebalance, reservoirSample, seededRng, stratifiedSample, targetCount, uniformSample, weightedSample } from './sampling';
import { SPLIT_TRAIN, SPLIT_VALIDATION, type DatasetColumns } from './snapshot';
import type { StagedColumns } from './staged-window';
import { timeOrderedSplit } from './time-split';

export interface CurationStep {
  step: string;
  rowsBefore: number;
  rowsAfter: number;
  detail?: string;
}

export class CurationError extends Error {
  override name = 'CurationError';
}

/**
 * Whether row `row` has every feature and the label (NaN / null mean missing); counts what is missing
 * into `missing`. Shared by dropIncomplete and the streaming curation so both report the same detail.
 */
export function isComplete(columns: StagedColumns, layout: FeatureLayout, row: number, missing: Record<string, number>): boolean {
  let ok = !Number.isNaN(columns.labels[row]);
  if (!ok) missing.label = (missing.label ?? 0) + 1;
  for (const name of layout.numeric) {
    if (Number.isNaN(columns.numeric[name][row])) {
      missing[name] = (missing[name] ?? 0) + 1;
      ok = false;
    }
  }
  for (const name of layout.categorical) {
    if (columns.categorical[name][row] === null) {
      missing[name] = (missing[name] ?? 0) + 1;
      ok = false;
    }
  }
  return ok;
}

export function incompleteDetail(missing: Record<string, number>): string {
  return Object.keys(missing).length ? `missing values: ${Object.entries(missing).map(([k, v]) => `${k} ${v}`).join(', ')}` : 'no missing values';
}

/** Rows with every feature and the label present (NaN / null mean missing). */
export function dropIncomplete(columns: StagedColumns, layout: FeatureLayout, indices: Int32Array): { kept: Int32Array; detail: string } {
  const missing: Record<string, number> = {};
  const kept = indices.filter((row) => isComplete(columns, layout, row, missing));
  return { kept, detail: incompleteDetail(missing) };
}

/** The dedupe step's detail, or null when dedupe does not run (off, or no entity column to match rows on). */
export function dedupeSkipped(key: DataSpec['dedupe']['key'], hasEntity: boolean): string | null {
  if (key === 'none') return 'off';
  return hasEntity ? null : 'skipped: the source has no entity column';
}

export function dedupeDetail(key: 'entity_time' | 'entity'): string {
  return `by ${key}, keeping the latest`;
}

/**
 * Deduplication keeping the latest row. Rows arrive in time order (ties in write order), so "latest"
 * is simply the last one seen. entity_time only compares rows of equal timestamp, which sit next to
 * each other, so it needs no global map; entity keeps one row per entity.
 */
export function dedupe(columns: StagedColumns, indices: Int32Array, key: 'entity_time' | 'entity'): Int32Array {
  const keep = new Uint8Array(indices.length);
  if (key === 'entity') {
    const lastOf = new Map<string, number>();
    for (let i = 0; i < indices.length; i++) lastOf.set(columns.entityIds[indices[i]], i);
    for (const i of lastOf.values()) keep[i] = 1;
  } else {
    let groupStart = 0;
    while (groupStart < indices.length) {
      const time = columns.eventTimeMs[indices[groupStart]];
      let groupEnd = groupStart + 1;
      while (groupEnd < indices.length && columns.eventTimeMs[indices[groupEnd]] === time) groupEnd++;
      const lastOf = new Map<string, number>();
      for (let i = groupStart; i < groupEnd; i++) lastOf.set(columns.entityIds[indices[i]], i);
      for (const i of lastOf.values()) keep[i] = 1;
      groupStart = groupEnd;
    }
  }
  return indices.filter((_, i) => keep[i] === 1);
}

/** The sampling step's detail: k rows kept out of the n eligible ones. */
export function samplingDetail(sampling: Exclude<DataSpec['sampling'], { kind: 'none' }>, k: number, n: number): string {
  switch (sampling.kind) {
    case 'uniform':
      return `uniform ${k} of ${n}`;
    case 'reservoir':
      return `reservoir of ${k} from ${n}`;
    case 'stratified':
      return `stratified by ${sampling.column}: ${k} of ${n}`;
    case 'importance':
      return `importance by ${sampling.weightColumn}: ${k} of ${n}`;
  }
}

/**
 * The stratum key of a row for stratified sampling by `column` ("label" or a feature of the model):
 * the value as text. Works on the whole window or on one staged part, so the in-memory and streaming
 * curation put every row in the same stratum. Throws before any row is read when the column is unknown.
 */
export function stratumKeyOf(layout: FeatureLayout, column: string): (columns: StagedColumns, row: number) => string {
  if (column === 'label') return (columns, row) => String(columns.labels[row]);
  if (layout.categorical.includes(column)) return (columns, row) => columns.categorical[column][row] ?? '';
  if (layout.numeric.includes(column)) return (columns, row) => String(columns.numeric[column][row]);
  throw new CurationError(`data.sampling.column "${column}" is neither "label" nor a feature of the model`);
}

/**
 * Where importance sampling finds `weightColumn` among the staged columns (a numeric feature first,
 * else an auxiliary column pulled for it); throws when it was not pulled. Takes the column names, so
 * the streaming curation checks before reading any part.
 */
export function weightColumnKind(staged: { numeric: readonly string[]; auxiliary: readonly string[] }, weightColumn: string): 'numeric' | 'auxiliary' {
  if (staged.numeric.includes(weightColumn)) return 'numeric';
  if (staged.auxiliary.includes(weightColumn)) return 'auxiliary';
  throw new CurationError(`data.sampling.weightColumn "${weightColumn}" was not pulled: it must be a numeric feature or a numeric key of the source rows`);
}

/** A row's importance weight. A row without a weight cannot be sampled by weight: a missing one (NaN) counts as zero. */
export function importanceWeight(values: Float64Array, row: number): number {
  return Number.isNaN(values[row]) ? 0 : values[row];
}

/** Applies data.sampling to the rows. */
export function sampleRows(columns: StagedColumns, layout: FeatureLayout, indices: Int32Array, sampling: DataSpec['sampling'], seed: number): { kept: Int32Array; detail: string } {
  const rng = seededRng(seed, 'sampling');
  const n = indices.length;
  switch (sampling.kind) {
    case 'none':
      return { kept: indices, detail: 'no sampling' };
    case 'uniform': {
      const k = targetCount(n, sampling);
      return { kept: uniformSample(indices, k, rng), detail: samplingDetail(sampling, k, n) };
    }
    case 'stratified': {
      const keyOf = stratumKeyOf(layout, sampling.column);
      const k = targetCount(n, sampling);
      // One rng per stratum from the spec's seed (stratumRng), not the shared sampling rng: see stratifiedSelector.
      return { kept: stratifiedSample(indices, (row) => keyOf(columns, row), k, seed), detail: samplingDetail(sampling, k, n) };
    }
    case 'reservoir':
      return { kept: reservoirSample(indices, Math.min(n, sampling.rows), rng), detail: samplingDetail(sampling, Math.min(n, sampling.rows), n) };
    case 'importance': {
      const kind = weightColumnKind({ numeric: Object.keys(columns.numeric), auxiliary: Object.keys(columns.auxiliary) }, sampling.weightColumn);
      const weights = columns[kind][sampling.weightColumn];
      const kept = weightedSample(indices, (row) => importanceWeight(weights, row), Math.min(n, sampling.rows), rng);
      return { kept, detail: samplingDetail(sampling, kept.length, n) };
    }
  }
}

/** Copies the selected rows into snapshot columns (the only full copy curation makes). */
export function gatherRows(columns: StagedColumns, layout: FeatureLayout, indices: Int32Array): DatasetColumns {
  const n = indices.length;
  const f64 = (source: Float64Array) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = source[indices[i]];
    return out;
  };
  const strings = (source: (string | null)[]) => {
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = source[indices[i]] ?? '';
    return out;
  };
  return {
    eventTimeMs: f64(columns.eventTimeMs),
    entityIds: strings(columns.entityIds),
    features: Object.fromEntries(layout.numeric.map((name) => [name, f64(columns.numeric[name])])),
    categorical: Object.fromEntries(layout.categorical.map((name) => [name, strings(columns.categorical[name])])),
    labels: f64(columns.labels),
  };
}

function concat(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export interface CurationOptions {
  layout: FeatureLayout;
  task: string;
  data: Pick<DataSpec, 'sampling' | 'rebalance' | 'dedupe' | 'seed'>;
  validationFraction: number;
  /** False when the source has no entity column: dedupe cannot match rows and is skipped. */
  hasEntity: boolean;
}

export interface CurationResult {
  columns: DatasetColumns;
  trainRows: number;
  validationRows: number;
  cutoffMs: number | null;
  steps: CurationStep[];
  /** The rows after split and purge, before rebalancing: the natural distribution, used for the profile. */
  naturalRows: Int32Array;
}

export type StepRecorder = (step: string, before: number, after: number, detail?: string) => void;

export function stepRecorder(steps: CurationStep[]): StepRecorder {
  return (step, before, after, detail) => steps.push({ step, rowsBefore: before, rowsAfter: after, ...(detail ? { detail } : {}) });
}

export function curateWindow(staged: StagedColumns, options: CurationOptions): CurationResult {
  const { layout, data } = options;
  const steps: CurationStep[] = [];
  const record = stepRecorder(steps);
  let rows = allIndices(staged.eventTimeMs.length);

  const complete = dropIncomplete(staged, layout, rows);
  record('drop_incomplete', rows.length, complete.kept.length, complete.detail);
  rows = complete.kept;

  const skipped = dedupeSkipped(data.dedupe.key, options.hasEntity);
  if (skipped !== null || data.dedupe.key === 'none') {
    record('dedupe', rows.length, rows.length, skipped ?? 'off');
  } else {
    const deduped = dedupe(staged, rows, data.dedupe.key);
    record('dedupe', rows.length, deduped.length, dedupeDetail(data.dedupe.key));
    rows = deduped;
  }

  const sampled = sampleRows(staged, layout, rows, data.sampling, data.seed);
  record('sampling', rows.length, sampled.kept.length, sampled.detail);
  return finishCuration(staged, sampled.kept, steps, options);
}

/**
 * The steps after sampling: time split, label-overlap purge, rebalancing of the training split, and
 * the copy into snapshot columns. `rows` are ascending indices into `staged`; `steps` holds the steps
 * so far and is appended to. Only row order matters, not the index values, so the streaming curation
 * (datasets/streaming-curation.ts) runs it on a compact copy of the sampled rows with the same result.
 */
export function finishCuration(staged: StagedColumns, rows: Int32Array, steps: CurationStep[], options: CurationOptions): CurationResult {
  const { layout, data } = options;
  const record = stepRecorder(steps);
  const times = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) times[i] = staged.eventTimeMs[rows[i]];
  const split = timeOrderedSplit(times, options.validationFraction);
  let train = rows.subarray(0, split.trainRows);
  const validation = rows.subarray(split.trainRows);
  record('time_split', rows.length, rows.length, `train ${split.trainRows}, validation ${split.validationRows} from ${split.cutoffMs === null ? '-' : new Date(split.cutoffMs).toISOString()}`);

  // A training row whose label only became known after validation starts carries outcome information
  // from the validation period (e.g. a click in the validation hours): purge it.
  if (split.cutoffMs !== null) {
    const cutoff = split.cutoffMs;
    const purged = train.filter((row) => !(staged.labelAvailableMs[row] > cutoff));
    record('purge_label_overlap', train.length, purged.length, 'training rows whose label was known only after the validation cutoff');
    train = purged;
  }
  const naturalRows = concat(train, validation);

  if (data.rebalance.kind !== 'none') {
    if (options.task !== 'binary_classification') throw new CurationError('data.rebalance needs a binary_classification task: remove it');
    const balanced = rebalance(train, staged.labels, data.rebalance.targetPositiveRate, data.rebalance.kind, seededRng(data.seed, 'rebalance'));
    record(
      `rebalance_${data.rebalance.kind}`,
      train.length,
      balanced.indices.length,
      `training split only: positives ${balanced.positivesBefore} → ${balanced.positivesAfter}, negatives ${balanced.negativesBefore} → ${balanced.negativesAfter}`,
    );
    train = balanced.indices;
  }

  const final = concat(train, validation);
  const columns = gatherRows(staged, layout, final);
  columns.split = new Int8Array(final.length).fill(SPLIT_TRAIN, 0, train.length).fill(SPLIT_VALIDATION, train.length);
  return { columns, trainRows: train.length, validationRows: validation.length, cutoffMs: split.cutoffMs, steps, naturalRows };
}
