// DAG step "plan": reads the champion's lineage and decides whether this run trains stateless or
// stateful (lifecycle/training-plan.ts holds the rules).
import { currentChampion } from '../lineage/models';
import { planTraining, type ChampionFacts, type TrainingPlan } from '../lifecycle/training-plan';
import type { ActivityDeps } from './deps';
import { markStep } from './pipeline-run';

export interface PlanRequest {
  pipelineRunId: string;
  modelName: string;
  stage: number;
  architectureHash: string;
  recalibrateEvery: number;
  forceStateless?: boolean;
  /** The caller's requested training mode (RetrainInput.mode); unset: the stage decides. */
  mode?: 'stateless' | 'stateful';
}

/** Counts consecutive stateful versions walking up from `versionId` (the chain since the last full retrain). */
async function statefulChainLength(deps: ActivityDeps, versionId: string): Promise<number> {
  let length = 0;
  let current: string | null = versionId;
  // Bounded: a chain longer than this is recalibrated anyway.
  for (let hops = 0; current && hops < 10_000; hops++) {
    const row = await deps.db.selectFrom('model_versions').select(['training_mode', 'parent_version_id']).where('id', '=', current).executeTakeFirst();
    if (!row || row.training_mode !== 'stateful') break;
    length++;
    current = row.parent_version_id;
  }
  return length;
}

export function planActivities(deps: ActivityDeps) {
  return {
    async planTrainingRun(request: PlanRequest): Promise<TrainingPlan> {
      await markStep(deps, request.pipelineRunId, 'plan');
      const champion = await currentChampion(deps.db, request.modelName);
      const facts: ChampionFacts | null = champion
        ? {
            versionId: champion.id,
            version: champion.version,
            architectureHash: champion.architecture_hash,
            artifactUri: champion.artifact_uri,
            checkpointUri: champion.checkpoint_uri,
            highWaterMark: new Date(champion.high_water_mark).toISOString(),
            samplesSeen: champion.samples_seen,
            statefulChainLength: await statefulChainLength(deps, champion.id),
          }
        : null;
      return planTraining({
        stage: request.stage,
        architectureHash: request.architectureHash,
        recalibrateEvery: request.recalibrateEvery,
        champion: facts,
        forceStateless: request.forceStateless,
        requestedMode: request.mode,
        trainerSupportsWarmStart: true,
      });
    },
  };
}
