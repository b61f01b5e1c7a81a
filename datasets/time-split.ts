// Time-ordered train/validation split: validation rows are strictly later than every training
// row, so no future information leaks into training.

export interface TimeSplit {
  /** Rows [0, trainRows) train; [trainRows, n) validate. Input must be sorted by time. */
  trainRows: number;
  validationRows: number;
  /** First validation timestamp (ms); every training row is strictly earlier. */
  cutoffMs: number | null;
}

/**
 * Picks the cut nearest the requested fraction that does not separate rows sharing a timestamp
 * (a tie split across both sides would let the validation set share a moment with training).
 */
export function timeOrderedSplit(eventTimesMs: ArrayLike<number>, validationFraction: number): TimeSplit {
  const n = eventTimesMs.length;
  for (let i = 1; i < n; i++) {
    if (eventTimesMs[i] < eventTimesMs[i - 1]) throw new Error(`timeOrderedSplit: rows must be sorted by time (row ${i} is earlier than row ${i - 1})`);
  }
  let cut = Math.min(n, Math.max(0, Math.round(n * (1 - validationFraction))));
  while (cut > 0 && cut < n && eventTimesMs[cut] === eventTimesMs[cut - 1]) cut--;
  return { trainRows: cut, validationRows: n - cut, cutoffMs: cut < n ? eventTimesMs[cut] : null };
}
