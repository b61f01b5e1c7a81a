// A labelled, time-ordered history held in columns: what the strategy backtest replays and the
// freshness experiment trains on. Built from the simulator, a table file or lineage rows; checked
// once here so the replay loop can slice it by time with binary searches and no further checks.
import type { StagedColumns } from '../../datasets/staged-window';
import { createMatrix } from '../../ml/dataset-matrix';
import type { TabularFrame } from '../../ml/tabular/encoding';
import type { FeatureLayout } from '../../spec/feature-layout';

export const DAY_MS = 86_400_000;

export interface LabelledHistory {
  layout: FeatureLayout;
  /** Event times, ms since epoch, ascending (ties allowed). */
  eventTimeMs: Float64Array;
  labels: Float64Array;
  /** '' when the source has no entity column (curation then skips dedupe). */
  entityIds: string[];
  hasEntity: boolean;
  numeric: Record<string, Float64Array>;
  /** null = missing. */
  categorical: Record<string, (string | null)[]>;
}

export class HistoryError extends Error {
  override name = 'HistoryError';
}

export function historyRows(history: LabelledHistory): number {
  return history.eventTimeMs.length;
}

/** Throws naming the column when lengths disagree, times are not ascending or a label is not finite. */
export function assertHistory(history: LabelledHistory, what = 'history'): void {
  const n = history.eventTimeMs.length;
  if (n === 0) throw new HistoryError(`${what} has no rows: a backtest needs a labelled, time-ordered history`);
  const check = (name: string, length: number) => {
    if (length !== n) throw new HistoryError(`${what}: column "${name}" has ${length} values but there are ${n} rows`);
  };
  check('label', history.labels.length);
  check('entity', history.entityIds.length);
  for (const name of history.layout.numeric) {
    if (!history.numeric[name]) throw new HistoryError(`${what}: numeric feature "${name}" has no column`);
    check(name, history.numeric[name].length);
    // Serving cannot score a missing numeric value, so a replayable history has none (loaders drop them).
    const column = history.numeric[name];
    for (let i = 0; i < n; i++) if (!Number.isFinite(column[i])) throw new HistoryError(`${what}: numeric feature "${name}" is missing or not finite at row ${i + 1}`);
  }
  for (const name of history.layout.categorical) {
    if (!history.categorical[name]) throw new HistoryError(`${what}: categorical feature "${name}" has no column`);
    check(name, history.categorical[name].length);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(history.eventTimeMs[i])) throw new HistoryError(`${what}: row ${i + 1} has no valid event time`);
    if (i > 0 && history.eventTimeMs[i] < history.eventTimeMs[i - 1]) throw new HistoryError(`${what}: rows must be in time order (row ${i + 1} is earlier than row ${i})`);
    if (!Number.isFinite(history.labels[i])) throw new HistoryError(`${what}: row ${i + 1} has no label; a backtest replays labelled rows only`);
  }
}

/** First row index with eventTime >= t (n when none). */
export function firstAtOrAfter(history: LabelledHistory, t: number): number {
  const times = history.eventTimeMs;
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First row index with eventTime > t (n when none). */
export function firstAfter(history: LabelledHistory, t: number): number {
  const times = history.eventTimeMs;
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** UTC midnight at or before the first row: day 0 of the replay. */
export function historyStartMs(history: LabelledHistory): number {
  return Math.floor(history.eventTimeMs[0] / DAY_MS) * DAY_MS;
}

/** Whole days from day 0 to the last row (inclusive of its day). */
export function historyDays(history: LabelledHistory): number {
  return Math.floor((history.eventTimeMs[history.eventTimeMs.length - 1] - historyStartMs(history)) / DAY_MS) + 1;
}

/**
 * Rows [lo, hi) as the staged window the retrain DAG's pull hands to curation. Labels are known at
 * event time (a labelled history has no label delay), so labelAvailableMs is NaN like a pulled row
 * whose label_available_at is null.
 */
export function stagedColumns(history: LabelledHistory, lo: number, hi: number): StagedColumns {
  return {
    eventTimeMs: history.eventTimeMs.slice(lo, hi),
    labelAvailableMs: new Float64Array(hi - lo).fill(Number.NaN),
    entityIds: history.entityIds.slice(lo, hi),
    labels: history.labels.slice(lo, hi),
    numeric: Object.fromEntries(history.layout.numeric.map((name) => [name, history.numeric[name].slice(lo, hi)])),
    categorical: Object.fromEntries(history.layout.categorical.map((name) => [name, history.categorical[name].slice(lo, hi)])),
    auxiliary: {},
  };
}

/** Rows [lo, hi) as a model's input frame (for scoring). */
export function frameOfRows(history: LabelledHistory, lo: number, hi: number): TabularFrame {
  const names = history.layout.numeric;
  const f = names.length;
  const rows = hi - lo;
  const data = new Float64Array(rows * f);
  names.forEach((name, j) => {
    const column = history.numeric[name];
    for (let i = 0; i < rows; i++) data[i * f + j] = column[lo + i];
  });
  const categorical: Record<string, (string | null)[]> = {};
  for (const name of history.layout.categorical) categorical[name] = history.categorical[name].slice(lo, hi);
  return { numeric: createMatrix(names, rows, data), categorical };
}

/** The rows of the first `days` days (from day 0): `--days` on a file replays only its beginning. */
export function firstDays(history: LabelledHistory, days: number): LabelledHistory {
  const hi = firstAtOrAfter(history, historyStartMs(history) + days * DAY_MS);
  if (hi === history.eventTimeMs.length) return history;
  return {
    ...history,
    eventTimeMs: history.eventTimeMs.slice(0, hi),
    labels: history.labels.slice(0, hi),
    entityIds: history.entityIds.slice(0, hi),
    numeric: Object.fromEntries(Object.entries(history.numeric).map(([name, column]) => [name, column.slice(0, hi)])),
    categorical: Object.fromEntries(Object.entries(history.categorical).map(([name, column]) => [name, column.slice(0, hi)])),
  };
}
