// DAG step "dataset": curates the staged window (drop incomplete rows, dedupe, sample, time split,
// purge label overlap, rebalance the training split) into an immutable, content-addressed snapshot
// with a manifest that records every curation step and a feature profile, and records it in lineage.
// The same rows give the same hash, the same URI and no second lineage row. With any sampling (uniform,
// stratified, reservoir, importance) the window is streamed part by part and only the sample is held
// (datasets/streaming-curation.ts); without sampling every eligible row is the snapshot, so the whole
// window is read into memory. Both paths give the same rows, so the same hash.
import { CurationError, curateWindow, type CurationResult } from '../datasets/curation';
import { SamplingError } from '../datasets/sampling';
import { ProfileBuilder } from '../datasets/profile';
import { encodeDataset, sha256Hex } from '../datasets/snapshot';
import { effectiveStart, readStagedParts, readStagedSummary, readStagedWindow } from '../datasets/staged-io';
import type { StagedColumns, StagedWindowSummary } from '../datasets/staged-window';
import { curateStagedParts, isStreamableSampling, type StreamingStats } from '../datasets/streaming-curation';
import { dataSpecSchema } from '../spec/data-spec';
import { FailureType } from '../workflows/failure-types';
import type { FormDatasetRequest, FormedDataset } from './data-contracts';
import { elapsedSince, type ActivityDeps } from './deps';
import { badInput } from './failures';
import { heartbeat } from './heartbeat';
import { markStep } from './pipeline-run';

const DEFAULT_DATA = dataSpecSchema.parse({});

/** Defence in depth: the validation gate reports these first; a dataset must never contain them. */
function refuseBadValues(summary: StagedWindowSummary): void {
  const problems = Object.entries(summary.typeViolations).map(
    ([feature, p]) => `feature "${feature}" has ${p.count} value(s) of the wrong type (first: row ${p.firstRow} = ${p.example})`,
  );
  if (summary.invalidLabels) {
    const expected = summary.task === 'binary_classification' ? '0 or 1' : 'a finite number';
    problems.push(`${summary.invalidLabels.count} label(s) are not ${expected} (first: row ${summary.invalidLabels.firstRow} = ${summary.invalidLabels.example})`);
  }
  if (problems.length) {
    throw badInput(FailureType.SchemaViolation, `${summary.source.table} rows of model "${summary.modelName}" break the schema: ${problems.join('; ')}: fix the source rows or the spec's feature list`);
  }
}

export function datasetActivities(deps: ActivityDeps) {
  const { db, store } = deps;
  return {
    async formDatasetSnapshot(request: FormDatasetRequest): Promise<FormedDataset> {
      const started = performance.now();
      await markStep(deps, request.pipelineRunId, 'dataset');
      const summary = await readStagedSummary(store, request.stagingUri);
      refuseBadValues(summary);
      const layout = request.layout;
      const data = request.spec?.data ?? DEFAULT_DATA;
      const task = request.spec?.task ?? summary.task;
      // A stateful pull starts after the high-water mark: that is the window this dataset covers.
      const windowStart = effectiveStart(request.windowStart, summary.window.since);
      const windowLabel = `[${windowStart}, ${request.windowEnd})`;

      // `staged` holds the rows curated's indices refer to: the whole window, or only the sample when streamed.
      let curated: CurationResult;
      let staged: StagedColumns;
      let streaming: StreamingStats | null = null;
      try {
        const { sampling } = data;
        if (isStreamableSampling(sampling)) {
          const streamed = await curateStagedParts(() => readStagedParts(store, summary), {
            layout,
            task,
            data: { ...data, sampling },
            validationFraction: request.validationFraction,
            windowRows: summary.rows,
            staged: { layout: summary.layout, auxiliary: summary.auxiliary },
            hasEntity: summary.source.kind === 'labelled_examples' ? true : undefined,
            onPart: (pass, rows) => heartbeat({ step: pass, rows }),
          });
          ({ curated, sample: staged, stats: streaming } = streamed);
        } else {
          staged = (await readStagedWindow(store, request.stagingUri, (rows) => heartbeat({ step: 'read', rows }))).columns;
          curated = curateWindow(staged, {
            layout,
            task,
            data,
            validationFraction: request.validationFraction,
            hasEntity: summary.source.kind === 'labelled_examples' || staged.entityIds.some((id) => id !== ''),
          });
        }
      } catch (error) {
        if (error instanceof CurationError) throw badInput(FailureType.InvalidSpec, `model "${request.modelName}": ${error.message}`);
        // A negative or infinite importance weight is in the data, and a retry reads the same rows.
        if (error instanceof SamplingError) throw badInput(FailureType.SchemaViolation, `model "${request.modelName}": ${error.message}: fix the source rows' data.sampling.weightColumn values or sample differently`);
        throw error;
      }
      heartbeat({ step: 'curated' });
      const { columns, trainRows, validationRows, cutoffMs, steps } = curated;
      const n = trainRows + validationRows;
      if (trainRows === 0 || validationRows === 0) {
        throw badInput(
          FailureType.InsufficientData,
          `cannot split ${n} rows of window ${windowLabel} into train and a strictly later validation set: widen the window or change data.validationFraction` +
            (steps.length ? ` (curation: ${steps.map((s) => `${s.step} ${s.rowsBefore}→${s.rowsAfter}`).join(', ')})` : ''),
        );
      }

      const bytes = encodeDataset(columns, layout);
      const contentHash = sha256Hex(bytes);
      heartbeat({ step: 'encoded', bytes: bytes.byteLength });
      const prefix = `datasets/${request.modelName}/${contentHash}`;
      const highWaterMark = new Date(columns.eventTimeMs[n - 1]).toISOString();
      // Profile of the natural distribution (before rebalancing): the next run's validation reference.
      const profile = new ProfileBuilder(layout, { binary: task === 'binary_classification', seed: data.seed }).add(
        { numeric: staged.numeric, categorical: staged.categorical, labels: staged.labels },
        curated.naturalRows,
      ).finish();
      const manifest = {
        format: 'arrow-ipc-file',
        modelName: request.modelName,
        contentHash,
        window: { start: windowStart, end: request.windowEnd, since: summary.window.since },
        sourceRows: summary.rows,
        rows: n,
        trainRows,
        validationRows,
        validationStartsAt: cutoffMs === null ? null : new Date(cutoffMs).toISOString(),
        highWaterMark,
        positives: columns.labels.reduce((s, y) => s + y, 0),
        task,
        curation: {
          seed: data.seed,
          sampling: data.sampling,
          rebalance: data.rebalance,
          dedupe: data.dedupe,
          steps,
          // How the window was read: streamed (only the sample held; see StreamingStats) or whole.
          memory: streaming ? { read: 'streamed', ...streaming } : { read: 'whole_window', rowsHeld: summary.rows },
        },
        profile,
        schema: [
          { name: 'event_time_ms', type: 'float64', description: 'event time, ms since epoch (UTC)' },
          { name: 'entity_id', type: 'utf8' },
          ...layout.numeric.map((name) => ({ name: `f_${name}`, type: 'float64', feature: name })),
          ...layout.categorical.map((name) => ({ name: `f_${name}`, type: 'utf8', feature: name })),
          { name: 'label', type: 'float64' },
          { name: 'split', type: 'int8', description: '0 train, 1 validation (strictly later)' },
        ],
        source: summary.source,
      };
      const uri = await store.put(`${prefix}/data.arrow`, bytes, { ifAbsent: true, contentType: 'application/vnd.apache.arrow.file' });
      await store.put(`${prefix}/manifest.json`, JSON.stringify(manifest, null, 2), { ifAbsent: true, contentType: 'application/json' });

      const datasetId = `ds-${request.modelName}-${contentHash.slice(0, 16)}`;
      const inserted = await db
        .insertInto('datasets')
        .values({
          id: datasetId,
          model_name: request.modelName,
          window_start: windowStart,
          window_end: request.windowEnd,
          row_count: n,
          source_rows: summary.rows,
          content_hash: contentHash,
          uri,
          manifest: JSON.stringify(manifest),
        })
        .onConflict((oc) => oc.columns(['model_name', 'content_hash']).doNothing())
        .returning('id')
        .executeTakeFirst();
      const existing = inserted ?? (await db.selectFrom('datasets').select('id').where('model_name', '=', request.modelName).where('content_hash', '=', contentHash).executeTakeFirstOrThrow());
      return {
        datasetId: existing.id,
        uri,
        contentHash,
        rows: n,
        trainRows,
        validationRows,
        highWaterMark,
        reused: !inserted,
        elapsedMs: elapsedSince(started),
        sourceRows: summary.rows,
        curation: steps,
      };
    },
  };
}
