// Feeds streamed log rows (positional feature aliases, score, label) into a MonitoringAccumulator
// chunk by chunk, keeping only the window's time span and counts: the rows themselves are dropped
// as soon as the accumulator has seen them, so memory stays at the accumulator's capacity.
import type { LoggedRow } from '../lineage/monitoring';
import type { MonitoringAccumulator } from './windows';

export interface IngestResult {
  rows: number;
  /** Earliest and latest row time (ms since epoch); null for an empty stream. */
  firstMs: number | null;
  lastMs: number | null;
  /** Rows per serving version (canaries and A/B arms share the window with the champion). */
  versions: Record<string, number>;
}

/** Adds every row of the stream; `features` names the aliases f0..fn in order. `onChunk` runs after each chunk (heartbeats). */
export async function ingestRows(
  chunks: AsyncIterable<LoggedRow[]>,
  features: readonly string[],
  accumulator: MonitoringAccumulator,
  onChunk?: (rowsSoFar: number) => void,
): Promise<IngestResult> {
  const aliases = features.map((_, i) => `f${i}`);
  let rows = 0;
  let firstMs: number | null = null;
  let lastMs: number | null = null;
  const versions: Record<string, number> = {};
  for await (const chunk of chunks) {
    for (const row of chunk) {
      const values: Record<string, unknown> = {};
      for (let j = 0; j < aliases.length; j++) values[features[j]] = row[aliases[j]];
      const t = Number(row.t);
      if (firstMs === null || t < firstMs) firstMs = t;
      if (lastMs === null || t > lastMs) lastMs = t;
      if (row.v) versions[row.v] = (versions[row.v] ?? 0) + 1;
      accumulator.addRow({
        features: values,
        prediction: row.p === null || row.p === undefined ? null : Number(row.p),
        label: row.y === null || row.y === undefined ? null : Number(row.y),
      });
    }
    rows += chunk.length;
    onChunk?.(rows);
  }
  return { rows, firstMs, lastMs, versions };
}
