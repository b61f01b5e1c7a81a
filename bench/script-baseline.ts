// The retrain DAG of workflows/retrain.ts as a plain sequential script: the "stage 2 script" of the
// seed documents, without Temporal. It calls the very same activity functions (bound to the same
// {db, store}) with the same arguments and in the same order as the workflow does, so the wall time
// of the two differs only by what orchestration adds: workflow tasks, activity scheduling, payload
// conversion, history writes. What a script cannot do is left out and said so: no retries, no
// durable wait for a human approval (the spec's timeout policy applies at once), no signal to a
// stage-4 dependant's continual workflow, no staged rollout (a model with a rollout and a champion
// is refused).
//
// Keep it in step with workflows/retrain.ts: when a step is added there, add it here.
import { orchestrationActivities, trainingActivities, type ActivityDeps } from '../activities';
import { featureLayout } from '../spec/feature-layout';
import type { ApprovalDecision, RetrainInput } from '../workflows/types';

export interface ScriptRetrainInput extends RetrainInput {
  /** Plays the role of the workflow id (pipeline_runs.id, artifact keys); e.g. script/<model>/<key>. */
  pipelineRunId: string;
}

export interface ScriptCall {
  activity: string;
  ms: number;
}

export interface ScriptRetrainResult {
  pipelineRunId: string;
  model: string;
  decision: 'promoted' | 'rejected';
  versionId: string;
  version: string;
  trainingMode: 'stateless' | 'stateful';
  metrics: Record<string, number>;
  rows: { total: number; train: number; validation: number };
  dependants: Array<{ model: string; outcome: string }>;
  runReportUri: string;
  modelPageUri: string;
  /** Each step's own time as the activity reports it (the same keys as RetrainResult.stepMs). */
  stepMs: Record<string, number>;
  /** Every activity call in order with the time spent inside it (performance.now around the call). */
  calls: ScriptCall[];
  wallMs: number;
}

function daysBefore(iso: string, days: number): string {
  return new Date(new Date(iso).getTime() - days * 86_400_000).toISOString();
}

function rootMessage(error: unknown): string {
  let current = error as { message?: string; cause?: unknown };
  while (current && typeof current === 'object' && current.cause) current = current.cause as typeof current;
  return current?.message ?? String(error);
}

/** Runs one retrain as a script. `activities` may be passed in to share them across runs (as a worker does). */
export async function runRetrainScript(
  deps: ActivityDeps,
  input: ScriptRetrainInput,
  activities: { light: ReturnType<typeof orchestrationActivities>; training: ReturnType<typeof trainingActivities> } = {
    light: orchestrationActivities(deps),
    training: trainingActivities(deps),
  },
): Promise<ScriptRetrainResult> {
  const { light, training } = activities;
  const calls: ScriptCall[] = [];
  const call = async <T>(activity: string, fn: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      calls.push({ activity, ms: performance.now() - started });
    }
  };

  const startedAt = Date.now();
  const startedPerf = performance.now();
  const pipelineRunId = input.pipelineRunId;
  const trigger = input.trigger ?? 'manual';
  const windowEnd = input.referenceTime ?? new Date(startedAt).toISOString();

  const { spec, specHash, architectureHash, stage } = await call('startPipelineRun', () =>
    light.startPipelineRun({ pipelineRunId, runId: `script-${startedAt}`, modelName: input.modelName, trigger, startedAt: new Date(startedAt).toISOString() }),
  );
  const layout = featureLayout(spec.features);
  const stepMs: Record<string, number> = {};

  try {
    const plan = await call('planTrainingRun', () =>
      light.planTrainingRun({ pipelineRunId, modelName: spec.name, stage, architectureHash, recalibrateEvery: spec.stateful.recalibrateEvery, forceStateless: input.forceStateless }),
    );

    const windowStart = daysBefore(windowEnd, spec.data.windowDays);
    // Natural labels first: the test set and the pull read the labelled rows they produce.
    await call('computeNaturalLabels', () => light.computeNaturalLabels({ pipelineRunId, modelName: spec.name, referenceTime: windowEnd, spec }));

    const testSet = await call('ensureStaticTestSet', () =>
      light.ensureStaticTestSet({ pipelineRunId, modelName: spec.name, layout, windowStart, windowEnd, settings: spec.evaluation.staticTestSet }),
    );

    const since = plan.mode === 'stateful' ? plan.dataSince : null;
    const pulled = await call('pullLabelledWindow', () =>
      light.pullLabelledWindow({ pipelineRunId, modelName: spec.name, layout, windowStart, windowEnd, since, minRows: spec.data.minRows, spec }),
    );
    stepMs.pull = pulled.elapsedMs;

    const checked = await call('validateDataWindow', () =>
      light.validateDataWindow({ pipelineRunId, modelName: spec.name, stagingUri: pulled.stagingUri, windowStart, windowEnd, spec }),
    );
    stepMs.validate = checked.elapsedMs;

    const dataset = await call('formDatasetSnapshot', () =>
      light.formDatasetSnapshot({ pipelineRunId, modelName: spec.name, layout, stagingUri: pulled.stagingUri, windowStart, windowEnd, validationFraction: spec.data.validationFraction, spec }),
    );
    stepMs.dataset = dataset.elapsedMs;

    const candidate = await call('trainCandidate', () =>
      training.trainCandidate({
        pipelineRunId,
        modelName: spec.name,
        datasetUri: dataset.uri,
        spec,
        mode: plan.mode,
        parentVersionId: plan.parentVersionId ?? undefined,
        ...(plan.mode === 'stateful'
          ? {
              parentArtifactUri: plan.parentArtifactUri ?? undefined,
              parentCheckpointUri: plan.parentCheckpointUri ?? undefined,
              parentSamplesSeen: plan.parentSamplesSeen ?? undefined,
              dataSinceMs: plan.dataSince ? new Date(plan.dataSince).getTime() : undefined,
            }
          : {}),
      }),
    );
    stepMs.train = candidate.elapsedMs;

    const evaluation = await call('evaluateCandidate', () =>
      light.evaluateCandidate({
        pipelineRunId,
        modelName: spec.name,
        datasetUri: dataset.uri,
        artifactUri: candidate.artifactUri,
        spec,
        staticTestSetId: testSet?.testSetId,
        staticTestSetUri: testSet?.uri,
      }),
    );
    stepMs.evaluate = evaluation.elapsedMs;

    const version = await call('registerCandidateVersion', () =>
      light.registerCandidateVersion({
        pipelineRunId,
        modelName: spec.name,
        specHash,
        architectureHash,
        plan,
        datasetId: dataset.datasetId,
        artifactUri: candidate.artifactUri,
        checkpointUri: candidate.checkpointUri,
        samplesSeen: candidate.samplesSeenTotal,
        highWaterMark: dataset.highWaterMark,
        evaluation,
      }),
    );
    stepMs.register = version.elapsedMs;

    let reasons = evaluation.reasons;
    let promoted = evaluation.decision === 'pass';
    if (evaluation.decision === 'needs_approval') {
      // A script has nobody to wait for durably: the spec's timeout policy decides at once.
      const approval: ApprovalDecision = { approve: evaluation.approval.onTimeout === 'approve', by: 'approval timeout policy', comment: 'script baseline: no durable wait' };
      await call('recordApproval', () => light.recordApproval({ pipelineRunId, versionId: version.versionId, decision: approval }));
      promoted = approval.approve;
      reasons = [...reasons, `${approval.approve ? 'approved' : 'rejected'} by ${approval.by}: ${approval.comment}`];
    }

    const request = { pipelineRunId, modelName: spec.name, versionId: version.versionId, reason: reasons.join('; ') };
    if (promoted && spec.rollout && evaluation.championId) {
      // The workflow hands the candidate to the staged-rollout child workflow (hours of shadow,
      // canary, A/B with guardrails): nothing a script does. The baseline covers direct promotion.
      throw new Error(`script baseline: ${spec.name} has a rollout and a champion, so the DAG would run a staged rollout; the baseline covers the direct-promotion path only`);
    }
    if (promoted) stepMs.promote = (await call('promoteToChampion', () => light.promoteToChampion(request))).elapsedMs;
    else stepMs.reject = (await call('rejectCandidate', () => light.rejectCandidate(request))).elapsedMs;

    const dependants: Array<{ model: string; outcome: string }> = [];
    if (promoted && input.cascade !== false) {
      for (const dependant of await call('listDependants', () => light.listDependants({ modelName: spec.name }))) {
        if (dependant.stage === 4) {
          dependants.push({ model: dependant.name, outcome: 'not signalled: a script has no continual workflow to signal' });
          continue;
        }
        try {
          const child = await runRetrainScript(deps, { modelName: dependant.name, trigger: 'upstream', cascade: false, pipelineRunId: `${pipelineRunId}/upstream-${dependant.name}` }, activities);
          calls.push(...child.calls.map((c) => ({ activity: `${dependant.name}:${c.activity}`, ms: c.ms })));
          dependants.push({ model: dependant.name, outcome: `${child.versionId} ${child.decision}` });
        } catch (error) {
          dependants.push({ model: dependant.name, outcome: `failed: ${rootMessage(error)}` });
        }
      }
    }
    await call('finishPipelineRun', () => light.finishPipelineRun({ pipelineRunId, status: promoted ? 'succeeded' : 'rejected', timings: stepMs }));
    const reports = await call('writeRunReports', () =>
      light.writeRunReports({ pipelineRunId, modelName: spec.name, versionId: version.versionId, reportCardUri: evaluation.reportHtmlUri }),
    );
    return {
      pipelineRunId,
      model: spec.name,
      decision: promoted ? 'promoted' : 'rejected',
      versionId: version.versionId,
      version: version.version,
      trainingMode: plan.mode,
      metrics: evaluation.metrics,
      rows: { total: dataset.rows, train: dataset.trainRows, validation: dataset.validationRows },
      dependants,
      runReportUri: reports.runReportUri,
      modelPageUri: reports.modelPageUri,
      stepMs,
      calls,
      wallMs: performance.now() - startedPerf,
    };
  } catch (error) {
    await light.finishPipelineRun({ pipelineRunId, status: 'failed', error: rootMessage(error), timings: stepMs }).catch(() => {});
    throw error;
  }
}
