// Reads a staged window back from the artifact store: the summary, its parts one at a time (bounded
// memory, for profiling), or all parts concatenated into typed-array columns (for curation).
import type { ArtifactStore } from '../storage/artifact-store';
import {
  allocateStaged,
  copyStaged,
  decodeStagedPart,
  STAGED_WINDOW_FORMAT,
  StagedWindowError,
  type StagedColumns,
  type StagedWindowSummary,
} from './staged-window';

export async function readStagedSummary(store: ArtifactStore, uri: string): Promise<StagedWindowSummary> {
  const text = (await store.get(uri)).toString('utf8');
  let summary: StagedWindowSummary;
  try {
    summary = JSON.parse(text) as StagedWindowSummary;
  } catch (error) {
    throw new StagedWindowError(`${uri} is not a staged-window summary (invalid JSON: ${(error as Error).message}); re-run the pull step`);
  }
  if (summary?.format !== STAGED_WINDOW_FORMAT) {
    throw new StagedWindowError(`${uri} has format ${JSON.stringify(summary?.format)}, expected ${STAGED_WINDOW_FORMAT}: it was not written by this version's pull; re-run the pull step`);
  }
  return summary;
}

/** Yields each part's columns in pull order; only one part is decoded at a time. */
export async function* readStagedParts(store: ArtifactStore, summary: StagedWindowSummary): AsyncGenerator<StagedColumns> {
  for (const part of summary.parts) {
    const columns = decodeStagedPart(await store.get(part.uri), summary.layout, summary.auxiliary);
    if (columns.eventTimeMs.length !== part.rows) {
      throw new StagedWindowError(`staged part ${part.uri} has ${columns.eventTimeMs.length} rows, the summary says ${part.rows}: the staging area is corrupt; re-run the pull step`);
    }
    yield columns;
  }
}

/** All parts concatenated; `onPart` is told the rows read so far (for heartbeats). */
export async function readStagedWindow(
  store: ArtifactStore,
  uri: string,
  onPart: (rowsRead: number) => void = () => {},
): Promise<{ summary: StagedWindowSummary; columns: StagedColumns }> {
  const summary = await readStagedSummary(store, uri);
  const columns = allocateStaged(summary.rows, summary.layout, summary.auxiliary);
  let offset = 0;
  for await (const part of readStagedParts(store, summary)) {
    copyStaged(columns, part, offset);
    offset += part.eventTimeMs.length;
    onPart(offset);
  }
  if (offset !== summary.rows) throw new StagedWindowError(`staged window ${uri} lists ${summary.rows} rows but its parts hold ${offset}; re-run the pull step`);
  return { summary, columns };
}

/** The window a staged pull really covers: after the high-water mark when that is later than the start. */
export function effectiveStart(windowStart: string, since: string | null): string {
  return since && Date.parse(since) > Date.parse(windowStart) ? since : windowStart;
}
