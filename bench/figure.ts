// The shape of one benchmark figure in bench/results.json, and the helper every benchmark uses to
// turn repeated measurements into median / min / max.
export interface Figure {
  id: string;
  value: number;
  unit: string;
  min: number;
  max: number;
  runs: number;
  note: string;
}

export function summarize(id: string, unit: string, samples: number[], note: string): Figure {
  if (samples.length === 0) throw new Error(`benchmark ${id} produced no samples`);
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { id, value: median, unit, min: sorted[0], max: sorted[sorted.length - 1], runs: samples.length, note };
}

/** A benchmark module in bench/suites/ exports `ids` (the figure ids it produces) and `run`. */
export interface BenchSuite {
  ids: string[];
  run(options: { quick: boolean; log: (line: string) => void }): Promise<Figure[]>;
}
