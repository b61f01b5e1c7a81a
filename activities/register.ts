// DAG steps "register" and "promote": writes the candidate version and its evaluation to lineage,
// then either makes it the champion (ending the previous champion's deployment) or marks it
// rejected. Every write is keyed by the pipeline run, so a retry finds its own rows.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../lineage/schema';
import type { PromotionRequest, RegisteredVersion, RegisterRequest } from '../workflows/types';
import { nextVersionNumbers } from '../lifecycle/training-plan';
import { elapsedSince, type ActivityDeps } from './deps';
import { markStep } from './pipeline-run';

/** Serialises version numbering and promotion per model across concurrent runs. */
async function lockModel(trx: Transaction<Database>, modelName: string): Promise<void> {
  await trx.selectFrom('models').select('name').where('name', '=', modelName).forUpdate().executeTakeFirstOrThrow();
}

async function versionNumbers(db: Kysely<Database>, request: RegisterRequest): Promise<{ major: number; minor: number; label: string }> {
  const max = await db.selectFrom('model_versions').select((eb) => eb.fn.max('major').as('major')).where('model_name', '=', request.modelName).executeTakeFirst();
  let parent: { major: number; maxMinorUnderMajor: number } | null = null;
  if (request.plan.mode === 'stateful' && request.plan.parentVersionId) {
    const parentRow = await db.selectFrom('model_versions').select('major').where('id', '=', request.plan.parentVersionId).executeTakeFirstOrThrow();
    const minor = await db
      .selectFrom('model_versions')
      .select((eb) => eb.fn.max('minor').as('minor'))
      .where('model_name', '=', request.modelName)
      .where('major', '=', parentRow.major)
      .executeTakeFirst();
    parent = { major: parentRow.major, maxMinorUnderMajor: Number(minor?.minor ?? 0) };
  }
  return nextVersionNumbers(request.plan.mode, Number(max?.major ?? 0), parent);
}

export function registerActivities(deps: ActivityDeps) {
  const { db } = deps;
  return {
    async registerCandidateVersion(request: RegisterRequest): Promise<RegisteredVersion> {
      const started = performance.now();
      await markStep(deps, request.pipelineRunId, 'register');
      return db.transaction().execute(async (trx) => {
        await lockModel(trx, request.modelName);
        const existing = await trx.selectFrom('model_versions').select(['id', 'version']).where('pipeline_run_id', '=', request.pipelineRunId).executeTakeFirst();
        if (existing) return { versionId: existing.id, version: existing.version, elapsedMs: elapsedSince(started) };
        const { major, minor, label: version } = await versionNumbers(trx, request);
        const versionId = `${request.modelName}@${version}`;
        await trx
          .insertInto('model_versions')
          .values({
            id: versionId,
            model_name: request.modelName,
            version,
            major,
            minor,
            parent_version_id: request.plan.parentVersionId,
            training_mode: request.plan.mode,
            iteration_kind: request.plan.iteration,
            training_reason: request.plan.reason,
            architecture_hash: request.architectureHash,
            checkpoint_uri: request.checkpointUri ?? null,
            spec_hash: request.specHash,
            dataset_id: request.datasetId,
            artifact_uri: request.artifactUri,
            status: 'candidate',
            metrics: JSON.stringify(request.evaluation.metrics),
            samples_seen: request.samplesSeen,
            high_water_mark: request.highWaterMark,
            pipeline_run_id: request.pipelineRunId,
          })
          .execute();
        await trx
          .insertInto('evaluations')
          .values({
            id: `eval:${request.pipelineRunId}`,
            pipeline_run_id: request.pipelineRunId,
            version_id: versionId,
            dataset_id: request.datasetId,
            metrics: JSON.stringify(request.evaluation.metrics),
            decision: request.evaluation.decision,
            reasons: JSON.stringify(request.evaluation.reasons),
            report_uri: request.evaluation.reportHtmlUri,
            report_json_uri: request.evaluation.reportJsonUri,
          })
          .execute();
        await trx.updateTable('pipeline_runs').set({ candidate_version_id: versionId }).where('id', '=', request.pipelineRunId).execute();
        return { versionId, version, elapsedMs: elapsedSince(started) };
      });
    },

    async promoteToChampion(request: PromotionRequest): Promise<{ previousChampion: string | null; elapsedMs: number }> {
      const started = performance.now();
      await markStep(deps, request.pipelineRunId, 'promote');
      return db.transaction().execute(async (trx) => {
        await lockModel(trx, request.modelName);
        const current = await trx
          .selectFrom('deployments')
          .select(['id', 'version_id'])
          .where('model_name', '=', request.modelName)
          .where('mode', '=', 'champion')
          .where('ended_at', 'is', null)
          .executeTakeFirst();
        if (current?.version_id === request.versionId) return { previousChampion: null, elapsedMs: elapsedSince(started) };
        const now = new Date();
        if (current) {
          await trx.updateTable('deployments').set({ ended_at: now }).where('id', '=', current.id).execute();
          await trx.updateTable('model_versions').set({ status: 'retired' }).where('id', '=', current.version_id).execute();
        }
        await trx
          .insertInto('deployments')
          .values({
            model_name: request.modelName,
            version_id: request.versionId,
            mode: 'champion',
            traffic_percent: 100,
            reason: request.reason,
            pipeline_run_id: request.pipelineRunId,
            started_at: now,
          })
          .execute();
        await trx.updateTable('model_versions').set({ status: 'champion' }).where('id', '=', request.versionId).execute();
        return { previousChampion: current?.version_id ?? null, elapsedMs: elapsedSince(started) };
      });
    },

    async recordApproval(request: { pipelineRunId: string; versionId: string; decision: { approve: boolean; by: string; comment?: string } }): Promise<void> {
      await db
        .updateTable('evaluations')
        .set({ approval: request.decision.approve ? 'approved' : 'rejected', approved_by: request.decision.by, approval_comment: request.decision.comment ?? null, approved_at: new Date() })
        .where('pipeline_run_id', '=', request.pipelineRunId)
        .where('version_id', '=', request.versionId)
        .execute();
    },

    async rejectCandidate(request: PromotionRequest): Promise<{ elapsedMs: number }> {
      const started = performance.now();
      await markStep(deps, request.pipelineRunId, 'reject');
      await db.updateTable('model_versions').set({ status: 'rejected' }).where('id', '=', request.versionId).where('status', '=', 'candidate').execute();
      return { elapsedMs: elapsedSince(started) };
    },
  };
}
