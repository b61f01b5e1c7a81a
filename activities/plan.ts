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

/**
 * Stateful updates registered since the newest full retrain of the model that is not in the
 * champion's line (a recalibration the gate rejected or a rollout rolled back); undefined when the
 * newest full retrain is the champion's own root (or older).
 */
async function updatesSinceFailedRecalibration(deps: ActivityDeps, modelName: string, championId: string, chainLength: number): Promise<number | undefined> {
  if (chainLength === 0) return undefined;
  const lastFull = await deps.db
    .selectFrom('model_versions')
    .select(['id', 'status', 'created_at'])
    .where('model_name', '=', modelName)
    .where('training_mode', '=', 'stateless')
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!lastFull || !['rejected', 'rolled_back'].includes(lastFull.status) || lastFull.id === championId) return undefined;
  const since = await deps.db
    .selectFrom('model_versions')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('model_name', '=', modelName)
    .where('training_mode', '=', 'stateful')
    .where('created_at', '>', lastFull.created_at)
    .executeTakeFirstOrThrow();
  return Number(since.n);
}

export function planActivities(deps: ActivityDeps) {
  return {
    async planTrainingRun(request: PlanRequest): Promise<TrainingPlan> {
      await markStep(deps, request.pipelineRunId, 'plan');
      const champion = await currentChampion(deps.db, request.modelName);
      const chainLength = champion ? await statefulChainLength(deps, champion.id) : 0;
      const sinceFailed = champion ? await updatesSinceFailedRecalibration(deps, request.modelName, champion.id, chainLength) : undefined;
      const facts: ChampionFacts | null = champion
        ? {
            versionId: champion.id,
            version: champion.version,
            architectureHash: champion.architecture_hash,
            artifactUri: champion.artifact_uri,
            checkpointUri: champion.checkpoint_uri,
            highWaterMark: new Date(champion.high_water_mark).toISOString(),
            samplesSeen: champion.samples_seen,
            statefulChainLength: chainLength,
            ...(sinceFailed !== undefined ? { statefulUpdatesSinceFailedRecalibration: sinceFailed } : {}),
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
