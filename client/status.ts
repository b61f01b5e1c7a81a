// Models with their stage, champion and latest runs, read from the lineage database: shared by
// `flywheel status [model]` and FlywheelClient.status().
import type { LineageDb } from '../lineage/db';
import { currentChampion } from '../lineage/models';

export interface ModelStatusRun {
  id: string;
  trigger: string;
  status: string;
  step: string | null;
  candidate: string | null;
  startedAt: string;
  error: string | null;
}

export interface ModelStatus {
  model: string;
  stage: number;
  champion: string | null;
  runs: ModelStatusRun[];
}

/** Every model (or only `model`; unknown → an error naming it), with its five latest runs. */
export async function modelStatus(db: LineageDb['db'], model?: string, runLimit = 5): Promise<ModelStatus[]> {
  let query = db.selectFrom('models').select(['name', 'stage']).orderBy('name');
  if (model) query = query.where('name', '=', model);
  const rows = await query.execute();
  if (model && !rows.length) throw new Error(`unknown model "${model}"`);
  return Promise.all(
    rows.map(async (m) => ({
      model: m.name,
      stage: Number(m.stage),
      champion: (await currentChampion(db, m.name))?.id ?? null,
      runs: (
        await db
          .selectFrom('pipeline_runs')
          .select(['id', 'trigger', 'status', 'current_step', 'candidate_version_id', 'started_at', 'error'])
          .where('model_name', '=', m.name)
          .orderBy('started_at', 'desc')
          .limit(runLimit)
          .execute()
      ).map((r) => ({
        id: r.id,
        trigger: r.trigger,
        status: r.status,
        step: r.current_step,
        candidate: r.candidate_version_id,
        startedAt: new Date(r.started_at).toISOString(),
        error: r.error,
      })),
    })),
  );
}
