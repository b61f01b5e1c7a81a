// DAG step "validate": the data-validation gate between pull and dataset formation. Profiles the
// staged window part by part (bounded memory), compares it with the reference snapshot (by default
// the champion's training data) and the model's earlier datasets, stores a JSON report, and stops the
// run with a non-retryable DataValidationFailed failure naming every failed check and its numbers.
// Nothing is trained or promoted after a failure, so the champion is untouched.
import { ApplicationFailure } from '@temporalio/common';
import { tableFromIPC } from 'apache-arrow';
import { ProfileBuilder, type DataProfile } from '../datasets/profile';
import { effectiveStart, readStagedParts, readStagedSummary } from '../datasets/staged-io';
import { runValidationChecks, type CheckResult } from '../datasets/validation';
import { championTrainingDataset, recentDatasetRowRates } from '../lineage/dataset-lineage';
import type { FeatureLayout } from '../spec/feature-layout';
import type { ArtifactStore } from '../storage/artifact-store';
import type { ValidateRequest, ValidationOutcome } from './data-contracts';
import { elapsedSince, runKey, type ActivityDeps } from './deps';
import { heartbeat } from './heartbeat';
import { markStep } from './pipeline-run';

/** The failure type of a failed gate; add it to workflows/failure-types.ts so retry policies name it. */
export const DATA_VALIDATION_FAILED = 'DataValidationFailed';

const DAY_MS = 86_400_000;

/** A snapshot's profile: from its manifest when it has one, else computed from the Arrow file. */
export async function loadReferenceProfile(store: ArtifactStore, uri: string, layout: FeatureLayout, binary: boolean): Promise<DataProfile> {
  const manifestUri = uri.replace(/data\.arrow$/, 'manifest.json');
  if (manifestUri !== uri && (await store.exists(manifestUri))) {
    const manifest = JSON.parse((await store.get(manifestUri)).toString('utf8')) as { profile?: DataProfile };
    if (manifest.profile) return manifest.profile;
  }
  // Older snapshots have no profile. Profile the features both layouts share: a model iteration may
  // have added or dropped features since the reference was formed.
  const table = tableFromIPC(await store.get(uri));
  const has = (name: string) => table.getChild(`f_${name}`) !== null;
  const shared: FeatureLayout = { numeric: layout.numeric.filter(has), categorical: layout.categorical.filter(has) };
  const column = <T>(name: string) => table.getChild(name)!.toArray() as ArrayLike<T>;
  return new ProfileBuilder(shared, { binary })
    .add({
      numeric: Object.fromEntries(shared.numeric.map((name) => [name, column<number>(`f_${name}`)])),
      categorical: Object.fromEntries(shared.categorical.map((name) => [name, column<string | null>(`f_${name}`)])),
      labels: column<number>('label'),
    })
    .finish();
}

export function validateActivities(deps: ActivityDeps) {
  const { db, store } = deps;
  return {
    async validateDataWindow(request: ValidateRequest): Promise<ValidationOutcome> {
      const started = performance.now();
      await markStep(deps, request.pipelineRunId, 'validate');
      const summary = await readStagedSummary(store, request.stagingUri);
      const { spec } = request;
      const thresholds = spec.data.validation;
      const layout = summary.layout;
      const binary = spec.task === 'binary_classification';
      const windowStart = effectiveStart(request.windowStart, summary.window.since);
      const reportKey = `validation/${request.modelName}/${runKey(request.pipelineRunId)}/report.json`;

      if (!thresholds.enabled) {
        const reportUri = await store.put(reportKey, JSON.stringify({ modelName: request.modelName, skipped: 'data.validation.enabled is false' }, null, 2));
        return { passed: true, reportUri, referenceUri: null, checks: [], elapsedMs: elapsedSince(started) };
      }

      let referenceUri = request.referenceUri === undefined ? ((await championTrainingDataset(db, request.modelName))?.uri ?? null) : request.referenceUri;
      let reference: DataProfile | null = null;
      let referenceNote: string | null = null;
      if (referenceUri) {
        try {
          reference = await loadReferenceProfile(store, referenceUri, layout, binary);
        } catch (error) {
          // A lost reference must not block retraining forever: the distribution checks skip, and say why.
          referenceNote = `reference ${referenceUri} unreadable (${(error as Error).message}); distribution checks skipped`;
          referenceUri = null;
        }
      }

      const ranges: Record<string, readonly [number, number]> = {};
      for (const name of layout.numeric) {
        const ref = reference?.numeric[name];
        if (ref && ref.min !== null && ref.max !== null) ranges[name] = [ref.min, ref.max];
      }
      const builder = new ProfileBuilder(layout, { binary, seed: spec.data.seed, ranges });
      let profiled = 0;
      for await (const part of readStagedParts(store, summary)) {
        builder.add({ numeric: part.numeric, categorical: part.categorical, labels: part.labels });
        profiled += part.labels.length;
        heartbeat({ step: 'profile', rows: profiled });
      }
      const current = builder.finish();

      const history = await recentDatasetRowRates(db, request.modelName, thresholds.rowCountHistory, { start: windowStart, end: request.windowEnd });
      const checks: CheckResult[] = runValidationChecks({
        task: spec.task,
        layout,
        current,
        typeViolations: summary.typeViolations,
        invalidLabels: summary.invalidLabels,
        windowDays: (new Date(request.windowEnd).getTime() - new Date(windowStart).getTime()) / DAY_MS,
        reference,
        historyRowsPerDay: history,
        thresholds,
      });
      const failed = checks.filter((c) => !c.passed);
      const report = {
        modelName: request.modelName,
        pipelineRunId: request.pipelineRunId,
        window: { start: windowStart, end: request.windowEnd },
        stagingUri: request.stagingUri,
        referenceUri,
        referenceNote,
        passed: failed.length === 0,
        thresholds,
        checks,
        current,
        reference,
      };
      const reportUri = await store.put(reportKey, JSON.stringify(report, null, 2), { contentType: 'application/json' });
      if (failed.length) {
        throw ApplicationFailure.create({
          type: DATA_VALIDATION_FAILED,
          nonRetryable: true,
          message: `data validation failed for model "${request.modelName}" window [${windowStart}, ${request.windowEnd}): ${failed.map((c) => c.message).join('; ')} (report: ${reportUri})`,
          details: [{ reportUri, failed: failed.map((c) => c.name) }],
        });
      }
      return {
        passed: true,
        reportUri,
        referenceUri,
        checks: checks.map(({ name, passed, skipped, message }) => ({ name, passed, skipped, message })),
        elapsedMs: elapsedSince(started),
      };
    },
  };
}
