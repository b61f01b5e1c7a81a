// DAG steps "register" and "promote": writes the candidate version and its evaluation to lineage,
// then either makes it the champion (a routing change through lineage/routing.ts that ends the
// previous champion's deployment with a reason) or marks it rejected. Every write is keyed by the
// pipeline run, so a retry finds its own rows.
import type { Kysely, Transaction } from 'kysely';
import { applyRoutingChange, RoutingError } from '../lineage/routing';
import type { Database } from '../lineage/schema';
import type { PromotionRequest, RegisteredVersion, RegisterRequest } from '../workflows/types';
import { nextVersionNumbers } from '../lifecycle/training-plan';
import { elapsedSince, type ActivityDeps } from './deps';
import { markStep } from './pipeline-run';

/** Tries at a direct promotion when another routing change keeps replacing the champion meanwhile. */
const PROMOTION_ATTEMPTS = 5;

/** The routing change key of a retrain run's direct promotion (the pipeline run id is the workflow id). */
export function promotionChangeKey(pipelineRunId: string): string {
  return `promote/${pipelineRunId}`;
}

/** Serialises version numbering per model across concurrent runs (applyRoutingChange takes the same lock for promotions). */
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

    /**
     * The DAG's direct promotion (no staged rollout): one routing change through lineage/routing.ts,
     * so the deployment history has its routing_changes row and the retired champion's row says why
     * it ended. Keyed by the pipeline run (the retrain workflow id): a retried activity finds its
     * change and writes nothing. A new champion also ends every other active route of the model
     * (canary, shadow, A/B, interleaving): they were compared against the old champion; a rollout
     * that owned them sees its routes gone and ends as superseded.
     */
    async promoteToChampion(request: PromotionRequest): Promise<{ previousChampion: string | null; elapsedMs: number }> {
      const started = performance.now();
      await markStep(deps, request.pipelineRunId, 'promote');
      const changeKey = promotionChangeKey(request.pipelineRunId);
      for (let attempt = 1; ; attempt++) {
        const done = await db.selectFrom('routing_changes').select('detail').where('model_name', '=', request.modelName).where('change_key', '=', changeKey).executeTakeFirst();
        if (done) return { previousChampion: (done.detail as { from?: string | null }).from ?? null, elapsedMs: elapsedSince(started) };
        const current = await db
          .selectFrom('deployments')
          .select('version_id')
          .where('model_name', '=', request.modelName)
          .where('mode', '=', 'champion')
          .where('ended_at', 'is', null)
          .executeTakeFirst();
        const from = current?.version_id ?? null;
        if (from === request.versionId) return { previousChampion: null, elapsedMs: elapsedSince(started) };
        try {
          const applied = await applyRoutingChange(db, {
            model: request.modelName,
            changeKey,
            kind: 'promote',
            reason: `retrain ${request.pipelineRunId} promoted ${request.versionId}${from ? ` over ${from}` : ''}${request.reason ? `: ${request.reason}` : ''}`,
            pipelineRunId: request.pipelineRunId,
            end: [{}],
            start: [{ versionId: request.versionId, mode: 'champion', trafficPercent: 100 }],
            statuses: [...(from ? [{ versionId: from, status: 'retired' as const, onlyFrom: ['champion' as const] }] : []), { versionId: request.versionId, status: 'champion' }],
            // The champion read above must still be the one serving when the change commits; if
            // another change got there first, read again and replace that one (last promotion wins).
            expectChampion: from,
            detail: { from, to: request.versionId, pipelineRunId: request.pipelineRunId },
          });
          if (applied.applied) return { previousChampion: from, elapsedMs: elapsedSince(started) };
        } catch (error) {
          if (!(error instanceof RoutingError && error.code === 'conflict') || attempt >= PROMOTION_ATTEMPTS) throw error;
        }
      }
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
