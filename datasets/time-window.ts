// The training window of a run, pure (safe in workflow code): the last N days before the reference
// time, or, for a stateful update, only what came after the parent's high-water mark (never reaching
// further back than the N days). Half-open [start, end); with a high-water mark, (since, end).
const DAY_MS = 86_400_000;

export interface TrainingWindow {
  /** Inclusive lower bound when `since` is null. */
  start: string;
  /** Exclusive upper bound: the reference time. */
  end: string;
  /** Exclusive lower bound of a stateful update (the high-water mark), or null. */
  since: string | null;
  /** Days the effective window spans (for per-day row rates). */
  days: number;
}

export class WindowError extends Error {
  override name = 'WindowError';
}

function iso(value: string | Date, field: string): number {
  const ms = new Date(value).getTime();
  if (Number.isNaN(ms)) throw new WindowError(`${field} ${JSON.stringify(value)} is not a valid time: use ISO 8601, e.g. 2026-01-31T00:00:00Z`);
  return ms;
}

export function resolveWindow(options: { referenceTime: string | Date; windowDays: number; since?: string | Date | null }): TrainingWindow {
  const end = iso(options.referenceTime, 'referenceTime');
  if (!(options.windowDays > 0)) throw new WindowError(`data.windowDays must be positive, got ${options.windowDays}`);
  const start = end - options.windowDays * DAY_MS;
  let since: number | null = options.since ? iso(options.since, 'since') : null;
  if (since !== null && since >= end) throw new WindowError(`the high-water mark ${new Date(since).toISOString()} is not before the reference time ${new Date(end).toISOString()}: nothing new to train on`);
  // A high-water mark older than the window is ignored: rows beyond data.windowDays are out of scope either way.
  if (since !== null && since < start) since = null;
  const lower = since ?? start;
  return { start: new Date(start).toISOString(), end: new Date(end).toISOString(), since: since === null ? null : new Date(since).toISOString(), days: (end - lower) / DAY_MS };
}
