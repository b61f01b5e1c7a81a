// The retrain DAG: plan → test set → pull → dataset → train → evaluate → register → (approval) →
// promote or reject → cascade to dependants. Deterministic
// and thin: every step is an activity; this file only orders them, names them for the Temporal UI
// and records how the run ended.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  executeChild,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { OrchestrationActivities, TrainingActivities } from '../activities';
import { featureLayout } from '../spec/feature-layout';
import { FailureType, NON_RETRYABLE_FAILURES } from './failure-types';
import { approveCandidateUpdate, retrainStatusQuery, upstreamChampionChangedSignal } from './signals';
import { CandidateVersion, MaturityStage, ModelName, PipelineStep, TemporalScheduledStartTime, TriggerReason } from './search-attributes';
import { rolloutWorkflow, type RolloutResult } from './rollout';
import { rootMessage } from './root-message';
import { TRAINING_ACTIVITY_OPTIONS } from './training-policy';

export { rootMessage };
import type { ApprovalDecision, RetrainInput, RetrainResult, RetrainStatus } from './types';

const light = proxyActivities<OrchestrationActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
});

const training = proxyActivities<TrainingActivities>(TRAINING_ACTIVITY_OPTIONS);

function daysBefore(iso: string, days: number): string {
  return new Date(new Date(iso).getTime() - days * 86_400_000).toISOString();
}

export async function retrainWorkflow(input: RetrainInput): Promise<RetrainResult> {
  const info = workflowInfo();
  const pipelineRunId = info.workflowId;
  const trigger = input.trigger ?? 'manual';
  // A scheduled (or backfilled) run trains on the window ending at its scheduled time.
  const scheduledAt = info.typedSearchAttributes.get(TemporalScheduledStartTime);
  const windowEnd = input.referenceTime ?? (scheduledAt ?? info.startTime).toISOString();
  // Runs started before this check existed replay without it (their histories carry no marker).
  if (patched('validate-reference-time') && Number.isNaN(Date.parse(windowEnd))) {
    throw ApplicationFailure.nonRetryable(`referenceTime "${windowEnd}" is not an ISO 8601 time (e.g. 2026-01-31T00:00:00Z); nothing was recorded`, FailureType.InvalidSpec);
  }
  const startedAt = Date.now();

  const status: RetrainStatus = { step: 'start', candidateVersionId: null, decision: null, awaitingApproval: false, reportHtmlUri: null };
  let approval: ApprovalDecision | undefined;
  setHandler(retrainStatusQuery, () => status);
  setHandler(
    approveCandidateUpdate,
    (decision) => {
      approval = decision;
      return { accepted: true, outcome: decision.approve ? `approved by ${decision.by}` : `rejected by ${decision.by}` };
    },
    {
      validator: (decision) => {
        if (!status.awaitingApproval) throw new Error(`no approval pending: the run is at step "${status.step}"`);
        if (!decision?.by) throw new Error('say who approves: "by" is required');
      },
    },
  );
  const enterStep = (step: string) => {
    status.step = step;
    upsertSearchAttributes([{ key: PipelineStep, value: step }]);
  };

  enterStep('start');
  const { spec, specHash, architectureHash, stage } = await light.startPipelineRun.executeWithOptions({ summary: `record run of ${input.modelName}` }, [
    { pipelineRunId, runId: info.runId, modelName: input.modelName, trigger, startedAt: new Date(startedAt).toISOString() },
  ]);
  upsertSearchAttributes([{ key: MaturityStage, value: stage }]);
  const layout = featureLayout(spec.features);
  const stepMs: Record<string, number> = {};

  try {
    enterStep('plan');
    const plan = await light.planTrainingRun.executeWithOptions({ summary: 'choose stateless or stateful training' }, [
      { pipelineRunId, modelName: spec.name, stage, architectureHash, recalibrateEvery: spec.stateful.recalibrateEvery, forceStateless: input.forceStateless, ...(input.mode ? { mode: input.mode } : {}) },
    ]);
    upsertMemo({ trainingMode: plan.mode, planReason: plan.reason });

    const windowStart = daysBefore(windowEnd, spec.data.windowDays);
    // Natural labels first: the test set and the pull read the labelled rows they produce.
    enterStep('labels');
    const labels = await light.computeNaturalLabels.executeWithOptions({ summary: 'join logged predictions with outcomes (natural labels)' }, [
      { pipelineRunId, modelName: spec.name, referenceTime: windowEnd, spec },
    ]);
    if (!labels.skipped) upsertMemo({ labels: { labelled: labels.labelled, positives: labels.positives, pending: labels.pending, late: labels.late } });

    enterStep('testset');
    const testSet = await light.ensureStaticTestSet.executeWithOptions({ summary: 'freeze or find the static test set' }, [
      { pipelineRunId, modelName: spec.name, layout, windowStart, windowEnd, settings: spec.evaluation.staticTestSet },
    ]);

    enterStep('pull');
    const since = plan.mode === 'stateful' ? plan.dataSince : null;
    const pulled = await light.pullLabelledWindow.executeWithOptions({ summary: `pull labelled rows ${since ?? windowStart} → ${windowEnd}` }, [
      { pipelineRunId, modelName: spec.name, layout, windowStart, windowEnd, since, minRows: spec.data.minRows, spec },
    ]);
    stepMs.pull = pulled.elapsedMs;

    enterStep('validate');
    const checked = await light.validateDataWindow.executeWithOptions({ summary: 'data validation gate' }, [
      { pipelineRunId, modelName: spec.name, stagingUri: pulled.stagingUri, windowStart, windowEnd, spec },
    ]);
    stepMs.validate = checked.elapsedMs;
    upsertMemo({ dataValidation: checked.reportUri });

    enterStep('dataset');
    const dataset = await light.formDatasetSnapshot.executeWithOptions({ summary: `snapshot ${pulled.rows} rows` }, [
      { pipelineRunId, modelName: spec.name, layout, stagingUri: pulled.stagingUri, windowStart, windowEnd, validationFraction: spec.data.validationFraction, spec },
    ]);
    stepMs.dataset = dataset.elapsedMs;
    upsertMemo({ datasetId: dataset.datasetId, datasetUri: dataset.uri });

    enterStep('train');
    const candidate = await training.trainCandidate.executeWithOptions({ summary: `train ${spec.trainer.type} (${plan.mode}) on ${dataset.trainRows} rows` }, [
      {
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
      },
    ]);
    stepMs.train = candidate.elapsedMs;

    enterStep('evaluate');
    const evaluation = await light.evaluateCandidate.executeWithOptions({ summary: `offline tests on ${dataset.validationRows} later rows${testSet ? ` and ${testSet.testSetId}` : ''}` }, [
      { pipelineRunId, modelName: spec.name, datasetUri: dataset.uri, artifactUri: candidate.artifactUri, spec, staticTestSetId: testSet?.testSetId, staticTestSetUri: testSet?.uri },
    ]);
    stepMs.evaluate = evaluation.elapsedMs;
    status.decision = evaluation.decision;
    status.reportHtmlUri = evaluation.reportHtmlUri;
    upsertMemo({ reportCard: evaluation.reportHtmlUri, reportCardJson: evaluation.reportJsonUri, metrics: evaluation.metrics });

    enterStep('register');
    const version = await light.registerCandidateVersion.executeWithOptions({ summary: 'register candidate version and lineage' }, [
      {
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
      },
    ]);
    stepMs.register = version.elapsedMs;
    status.candidateVersionId = version.versionId;
    upsertSearchAttributes([{ key: CandidateVersion, value: version.versionId }]);
    upsertMemo({ artifactUri: candidate.artifactUri });

    let reasons = evaluation.reasons;
    let promoted = evaluation.decision === 'pass';
    if (evaluation.decision === 'needs_approval') {
      enterStep('awaiting_approval');
      status.awaitingApproval = true;
      const answered = await condition(() => approval !== undefined, evaluation.approval.timeoutMs);
      status.awaitingApproval = false;
      if (!answered) approval = { approve: evaluation.approval.onTimeout === 'approve', by: 'approval timeout policy', comment: `no answer within ${evaluation.approval.timeoutMs} ms` };
      await light.recordApproval({ pipelineRunId, versionId: version.versionId, decision: approval! });
      promoted = approval!.approve;
      reasons = [...reasons, `${approval!.approve ? 'approved' : 'rejected'} by ${approval!.by}${approval!.comment ? `: ${approval!.comment}` : ''}`];
    }

    const request = { pipelineRunId, modelName: spec.name, versionId: version.versionId, reason: reasons.join('; ') };
    let rollout: RolloutResult | null = null;
    if (promoted && spec.rollout && evaluation.championId) {
      // Offline tests passed; the candidate now earns its place online. The rollout writes the
      // routing history and the version statuses itself, and rolls back on a guardrail breach.
      enterStep('rollout');
      rollout = await executeChild(rolloutWorkflow, {
        workflowId: `rollout/${spec.name}/${version.versionId}`,
        args: [{ modelName: spec.name, candidateVersionId: version.versionId, pipelineRunId }],
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        typedSearchAttributes: [
          { key: ModelName, value: spec.name },
          { key: CandidateVersion, value: version.versionId },
        ],
        staticSummary: `staged rollout of ${version.versionId} against ${evaluation.championId}`,
      });
      promoted = rollout.outcome === 'promoted';
      reasons = [...reasons, `rollout ${rollout.outcome}: ${rollout.reason}`];
    } else if (promoted) {
      enterStep('promote');
      stepMs.promote = (await light.promoteToChampion.executeWithOptions({ summary: `promote ${version.versionId} to champion` }, [request])).elapsedMs;
    } else {
      enterStep('reject');
      stepMs.reject = (await light.rejectCandidate.executeWithOptions({ summary: `reject ${version.versionId}` }, [request])).elapsedMs;
    }
    const dependants = promoted && input.cascade !== false ? await cascadeToDependants(spec.name, version.versionId, enterStep) : [];
    await light.finishPipelineRun({ pipelineRunId, status: promoted ? 'succeeded' : 'rejected', timings: stepMs });
    enterStep('report');
    const reports = await light.writeRunReports.executeWithOptions({ summary: 'write the run report and the model page' }, [
      { pipelineRunId, modelName: spec.name, versionId: version.versionId, reportCardUri: evaluation.reportHtmlUri },
    ]);
    upsertMemo({ runReport: reports.runReportUri, modelPage: reports.modelPageUri });
    enterStep('done');
    return {
      workflowId: info.workflowId,
      runId: info.runId,
      model: spec.name,
      stage,
      trigger,
      decision: promoted ? 'promoted' : 'rejected',
      version: version.version,
      versionId: version.versionId,
      trainingMode: plan.mode,
      parentVersionId: plan.parentVersionId,
      planReason: plan.reason,
      dependants,
      rollout: rollout ? { rolloutId: rollout.rolloutId, outcome: rollout.outcome, reason: rollout.reason } : null,
      approval: approval ? { approved: approval.approve, by: approval.by, comment: approval.comment } : null,
      reportHtmlUri: evaluation.reportHtmlUri,
      runReportUri: reports.runReportUri,
      modelPageUri: reports.modelPageUri,
      notes: evaluation.notes,
      datasetId: dataset.datasetId,
      datasetUri: dataset.uri,
      artifactUri: candidate.artifactUri,
      metrics: evaluation.metrics,
      reasons,
      rows: { total: dataset.rows, train: dataset.trainRows, validation: dataset.validationRows },
      stepMs,
      wallMs: Date.now() - startedAt,
    };
  } catch (error) {
    const message = error instanceof ApplicationFailure || error instanceof Error ? rootMessage(error) : String(error);
    // Record the failure even when the run was cancelled: the cleanup must not be cancelled too.
    await CancellationScope.nonCancellable(() => light.finishPipelineRun({ pipelineRunId, status: 'failed', error: message, timings: stepMs }));
    throw error;
  }
}

/**
 * A new champion retrains the models that depend on it, upstream first. Stage-4 dependants are
 * signalled instead: their continual workflow decides, so it never runs two retrains at once.
 */
async function cascadeToDependants(modelName: string, versionId: string, enterStep: (step: string) => void): Promise<Array<{ model: string; outcome: string }>> {
  const dependants = await light.listDependants({ modelName });
  const outcomes: Array<{ model: string; outcome: string }> = [];
  for (const dependant of dependants) {
    enterStep(`cascade:${dependant.name}`);
    try {
      if (dependant.stage === 4) {
        await getExternalWorkflowHandle(`continual/${dependant.name}`).signal(upstreamChampionChangedSignal, versionId);
        outcomes.push({ model: dependant.name, outcome: 'signalled continual workflow' });
      } else {
        const result = await executeChild(retrainWorkflow, {
          workflowId: `retrain/${dependant.name}/upstream-${versionId}`,
          args: [{ modelName: dependant.name, trigger: `upstream`, cascade: false }],
          typedSearchAttributes: [
            { key: ModelName, value: dependant.name },
            { key: TriggerReason, value: 'upstream' },
          ],
          staticSummary: `retrain ${dependant.name}: upstream ${versionId} became champion`,
        });
        outcomes.push({ model: dependant.name, outcome: `${result.versionId} ${result.decision}` });
      }
    } catch (error) {
      outcomes.push({ model: dependant.name, outcome: `failed: ${error instanceof Error ? rootMessage(error) : String(error)}` });
    }
  }
  return outcomes;
}
