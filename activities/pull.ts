// DAG step "pull": streams the model's labelled rows in the time window out of Postgres (a server-side
// cursor; pages on PGlite) straight into Arrow record batches and part files, so memory stays bounded
// however large the window is. Missing values and values of the wrong type are recorded, not fatal:
// the validation gate judges them with thresholds. Returns the staged-window URI and counts (claim check).
import { StagedWindowWriter, STAGED_WINDOW_FORMAT, type StagedWindowSummary, type ValueProblem } from '../datasets/staged-window';
import { featureAliases, openWindowStream, SourceError, type SourceRow } from '../lineage/window-source';
import type { FeatureLayout } from '../spec/feature-layout';
import type { ModelSpec } from '../spec/model-spec';
import { FailureType } from '../workflows/failure-types';
import type { PullRequest, PullResult } from './data-contracts';
import { elapsedSince, runKey, type ActivityDeps } from './deps';
import { badInput } from './failures';
import { heartbeat } from './heartbeat';
import { markStep } from './pipeline-run';

// Rows per cursor read, per Arrow record batch, and per part file: small enough that a pull's
// memory is a few MB of rows in flight plus one part's bytes, whatever the window size.
const CHUNK_ROWS = 2_000;
const BATCH_ROWS = 8_192;
const PART_ROWS = 65_536;

/** Numeric source columns curation needs besides the features: importance-sampling weights. */
export function auxiliaryColumns(spec: ModelSpec | undefined, layout: FeatureLayout): string[] {
  const sampling = spec?.data.sampling;
  if (sampling?.kind === 'importance' && !layout.numeric.includes(sampling.weightColumn)) return [sampling.weightColumn];
  return [];
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'no value';
  const text = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Counts what the pull saw, value by value, for the staged summary. */
class Tally {
  readonly nulls: Record<string, number> = {};
  readonly typeViolations: Record<string, ValueProblem> = {};
  invalidLabels: ValueProblem | null = null;
  positives = 0;
  labelSum = 0;
  validLabels = 0;

  constructor(names: readonly string[]) {
    for (const name of names) this.nulls[name] = 0;
  }

  violation(name: string, rid: string, value: unknown): void {
    const entry = (this.typeViolations[name] ??= { count: 0, firstRow: rid, example: describeValue(value) });
    entry.count++;
  }

  invalidLabel(rid: string, value: unknown): void {
    this.invalidLabels ??= { count: 0, firstRow: rid, example: describeValue(value) };
    this.invalidLabels.count++;
  }
}

export function pullActivities(deps: ActivityDeps) {
  const { db, store } = deps;
  return {
    async pullLabelledWindow(request: PullRequest): Promise<PullResult> {
      const started = performance.now();
      await markStep(deps, request.pipelineRunId, 'pull');
      const { layout, spec } = request;
      const task = spec?.task ?? 'binary_classification';
      const binary = task === 'binary_classification';
      const since = request.since ?? null;
      const windowLabel = since ? `(${since}, ${request.windowEnd})` : `[${request.windowStart}, ${request.windowEnd})`;
      const auxiliary = auxiliaryColumns(spec, layout);
      const key = runKey(request.pipelineRunId);

      let stream;
      try {
        stream = await openWindowStream(db, {
          modelName: request.modelName,
          source: spec?.data.source ?? 'labelled_examples',
          layout,
          auxiliary,
          start: request.windowStart,
          end: request.windowEnd,
          since,
        });
      } catch (error) {
        if (error instanceof SourceError) throw badInput(FailureType.InvalidSpec, `model "${request.modelName}": ${error.message}`);
        throw error;
      }

      const writer = new StagedWindowWriter({
        layout,
        auxiliary,
        batchRows: BATCH_ROWS,
        partRows: PART_ROWS,
        writePart: (index, bytes) =>
          store.put(`staging/${key}/part-${String(index).padStart(5, '0')}.arrow`, bytes, { contentType: 'application/vnd.apache.arrow.file' }),
      });
      const tally = new Tally([...layout.numeric, ...layout.categorical]);
      const aliases = featureAliases(layout);
      const numericCount = layout.numeric.length;
      let firstTime: number | null = null;
      let lastTime: number | null = null;

      const take = (row: SourceRow) => {
        const batch = writer.batch;
        const i = batch.length;
        const time = row.t;
        batch.eventTimeMs[i] = time;
        firstTime ??= time;
        lastTime = time;
        batch.labelAvailableMs[i] = row.la ?? Number.NaN;
        batch.entityIds.push(row.e ?? '');
        for (let j = 0; j < numericCount; j++) {
          const value = row[aliases[j]];
          if (value === null || value === undefined) {
            tally.nulls[layout.numeric[j]]++;
            batch.numeric[j][i] = Number.NaN;
          } else if (typeof value === 'number' && Number.isFinite(value)) {
            batch.numeric[j][i] = value;
          } else {
            tally.violation(layout.numeric[j], row.rid, value);
            batch.numeric[j][i] = Number.NaN;
          }
        }
        for (let j = 0; j < layout.categorical.length; j++) {
          const value = row[aliases[numericCount + j]];
          if (value === null || value === undefined) {
            tally.nulls[layout.categorical[j]]++;
            batch.categorical[j].push(null);
          } else if (typeof value === 'string') {
            batch.categorical[j].push(value);
          } else {
            tally.violation(layout.categorical[j], row.rid, value);
            batch.categorical[j].push(null);
          }
        }
        for (let j = 0; j < auxiliary.length; j++) {
          const value = row[`a${j}`];
          const ok = typeof value === 'number' && Number.isFinite(value);
          if (!ok && value !== null && value !== undefined) tally.violation(auxiliary[j], row.rid, value);
          batch.auxiliary[j][i] = ok ? (value as number) : Number.NaN;
        }
        const label = typeof row.y === 'string' ? Number(row.y) : row.y;
        const valid = typeof label === 'number' && (binary ? label === 0 || label === 1 : Number.isFinite(label));
        if (valid) {
          tally.validLabels++;
          tally.labelSum += label;
          if (label === 1) tally.positives++;
        } else {
          tally.invalidLabel(row.rid, row.y);
        }
        batch.labels[i] = typeof label === 'number' ? label : Number.NaN;
        batch.length++;
      };

      for await (const chunk of stream.chunks(CHUNK_ROWS)) {
        for (const row of chunk) {
          take(row);
          if (writer.batch.full) await writer.flushBatch();
        }
        heartbeat({ rows: writer.rows + writer.batch.length });
      }
      const { rows, parts } = await writer.finish();

      if (rows === 0) {
        throw badInput(
          FailureType.EmptyDataWindow,
          since
            ? `no labelled rows for model "${request.modelName}" after the high-water mark ${since} (window ${windowLabel}): no fresh data yet; wait for more or run a full retrain`
            : `no labelled rows for model "${request.modelName}" in window ${windowLabel}: load data (flywheel data import) or widen data.windowDays`,
        );
      }
      if (rows < request.minRows) {
        throw badInput(FailureType.InsufficientData, `only ${rows} labelled rows for model "${request.modelName}" in window ${windowLabel}; data.minRows is ${request.minRows}`);
      }
      if (binary && tally.validLabels > 0 && (tally.positives === 0 || tally.positives === tally.validLabels)) {
        throw badInput(
          FailureType.OneClassWindow,
          `all ${tally.validLabels} rows in window ${windowLabel} have label ${tally.positives === 0 ? 0 : 1}: a classifier needs both classes`,
        );
      }

      const summary: StagedWindowSummary = {
        format: STAGED_WINDOW_FORMAT,
        modelName: request.modelName,
        task,
        window: { start: request.windowStart, end: request.windowEnd, since },
        source: stream.describe,
        layout,
        auxiliary,
        rows,
        parts,
        nulls: tally.nulls,
        typeViolations: tally.typeViolations,
        invalidLabels: tally.invalidLabels,
        positives: tally.positives,
        labelSum: tally.labelSum,
        firstEventTime: firstTime === null ? null : new Date(firstTime).toISOString(),
        lastEventTime: lastTime === null ? null : new Date(lastTime).toISOString(),
      };
      const stagingUri = await store.put(`staging/${key}/window.json`, JSON.stringify(summary, null, 2), { contentType: 'application/json' });
      const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);
      return {
        stagingUri,
        rows,
        positives: tally.positives,
        negatives: binary ? tally.validLabels - tally.positives : 0,
        firstEventTime: summary.firstEventTime!,
        lastEventTime: summary.lastEventTime!,
        elapsedMs: elapsedSince(started),
        parts: parts.length,
        missingValues: sum(tally.nulls),
        typeViolations: Object.values(tally.typeViolations).reduce((a, v) => a + v.count, 0),
        invalidLabels: tally.invalidLabels?.count ?? 0,
        source: stream.describe.table,
      };
    },
  };
}
