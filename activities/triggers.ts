// Stage-4 check: measures every configured trigger for one model from lineage and the labelled
// history (time since training, new labelled volume, the champion's recent performance, feature
// drift of the latest rows against the champion's training snapshot) and says
// whether a retrain is already running. The continual workflow decides what to do with it.
// Performance and drift are measured by monitoring (activities/monitoring.ts), which also stores
// each check's window signals in monitoring_signals, so the continual checks build the time series.
import { sql } from 'kysely';
import { timeSignal, volumeSignal, type TriggerSignal } from '../lifecycle/triggers';
import { currentChampion } from '../lineage/models';
import { parseModelSpec } from '../spec/model-spec';
import { parseDurationMs } from '../spec/data-spec';
import { FailureType } from '../workflows/failure-types';
import type { ActivityDeps } from './deps';
import { badInput } from './failures';
import { evaluateDriftTrigger, evaluatePerformanceTrigger } from './monitoring';

export interface TriggerCheckRequest {
  modelName: string;
  /** The workflow's clock, so the check is reproducible. */
  nowIso: string;
}

export interface TriggerCheck {
  stage: number;
  checkEveryMs: number;
  cooldownMs: number;
  dailyBudget: number;
  upstreamEnabled: boolean;
  championVersionId: string | null;
  retrainRunning: boolean;
  signals: TriggerSignal[];
}

export function triggerActivities(deps: ActivityDeps) {
  const { db } = deps;

  return {
    async evaluateTriggers(request: TriggerCheckRequest): Promise<TriggerCheck> {
      const model = await db.selectFrom('models').select(['spec', 'stage']).where('name', '=', request.modelName).executeTakeFirst();
      if (!model) throw badInput(FailureType.UnknownModel, `unknown model "${request.modelName}": its spec was removed while continual learning was on`);
      const spec = parseModelSpec(model.spec);
      const continual = spec.continual;
      const now = new Date(request.nowIso);
      const champion = await currentChampion(db, request.modelName);
      const latest = await db.selectFrom('model_versions').select('created_at').where('model_name', '=', request.modelName).orderBy('created_at', 'desc').executeTakeFirst();
      const running = await db
        .selectFrom('pipeline_runs')
        .select('id')
        .where('model_name', '=', request.modelName)
        .where('status', '=', 'running')
        .where('started_at', '>', new Date(now.getTime() - 86_400_000))
        .executeTakeFirst();
      const since = champion ? new Date(champion.high_water_mark) : new Date(0);
      const signals: TriggerSignal[] = [];
      const triggers = continual?.triggers;
      if (triggers?.time) signals.push(timeSignal(now.getTime(), latest ? new Date(latest.created_at).getTime() : null, parseDurationMs(triggers.time.every)!));
      if (triggers?.volume) {
        const counted = await db
          .selectFrom('labelled_examples')
          .select(sql<number>`count(*)::int`.as('n'))
          .where('model_name', '=', request.modelName)
          .where('event_time', '>', since)
          .executeTakeFirstOrThrow();
        const trainedRows = champion ? ((await db.selectFrom('datasets').select('row_count').where('id', '=', champion.dataset_id).executeTakeFirst())?.row_count ?? 0) : 0;
        signals.push(volumeSignal(Number(counted.n), trainedRows, triggers.volume));
      }
      if (triggers?.performance && champion) {
        signals.push(
          await evaluatePerformanceTrigger(deps, {
            modelName: request.modelName,
            spec,
            nowIso: request.nowIso,
            champion: { id: champion.id, artifactUri: champion.artifact_uri, highWaterMark: since },
            rule: triggers.performance,
          }),
        );
      }
      if (triggers?.drift) signals.push(await evaluateDriftTrigger(deps, { modelName: request.modelName, spec, nowIso: request.nowIso, rule: triggers.drift }));
      return {
        stage: model.stage,
        checkEveryMs: parseDurationMs(continual?.checkEvery ?? '5m')!,
        cooldownMs: parseDurationMs(continual?.cooldown ?? '30m')!,
        dailyBudget: continual?.dailyBudget ?? 24,
        upstreamEnabled: !!triggers?.upstream && spec.dependsOn.length > 0,
        championVersionId: champion?.id ?? null,
        retrainRunning: !!running,
        signals,
      };
    },
  };
}
