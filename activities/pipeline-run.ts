// Records each retrain run in lineage (pipeline_runs): its start with the spec it used, the step it
// is on, and how it ended. Idempotent: a retried start or finish writes the same row.
import { sql } from 'kysely';
import { architectureHash, parseModelSpec } from '../spec/model-spec';
import { FailureType } from '../workflows/failure-types';
import type { PipelineRunStarted, RunFinish } from '../workflows/types';
import type { ActivityDeps } from './deps';
import { badInput } from './failures';

export interface StartRunRequest {
  pipelineRunId: string;
  runId: string;
  modelName: string;
  trigger: string;
  startedAt: string;
}

export function pipelineRunActivities({ db }: ActivityDeps) {
  return {
    async startPipelineRun(request: StartRunRequest): Promise<PipelineRunStarted> {
      const model = await db.selectFrom('models').selectAll().where('name', '=', request.modelName).executeTakeFirst();
      if (!model) {
        const known = await db.selectFrom('models').select('name').orderBy('name').execute();
        throw badInput(
          FailureType.UnknownModel,
          `unknown model "${request.modelName}": apply its spec first (flywheel models apply <spec.json>)` +
            (known.length ? `; known models: ${known.map((m) => m.name).join(', ')}` : ''),
        );
      }
      const spec = parseModelSpec(model.spec);
      await db
        .insertInto('pipeline_runs')
        .values({
          id: request.pipelineRunId,
          run_id: request.runId,
          model_name: request.modelName,
          trigger: request.trigger,
          stage: model.stage,
          status: 'running',
          current_step: 'start',
          started_at: request.startedAt,
          timings: '{}',
        })
        .onConflict((oc) => oc.column('id').doUpdateSet({ run_id: request.runId, status: 'running', error: null, finished_at: null }))
        .execute();
      return { spec, specHash: model.spec_hash, architectureHash: architectureHash(spec), stage: model.stage };
    },

    async finishPipelineRun(finish: RunFinish): Promise<void> {
      await db
        .updateTable('pipeline_runs')
        .set({
          status: finish.status,
          current_step: finish.status === 'failed' ? sql<string>`current_step` : 'done',
          error: finish.error ?? null,
          timings: JSON.stringify(finish.timings ?? {}),
          finished_at: new Date(),
        })
        .where('id', '=', finish.pipelineRunId)
        .execute();
    },
  };
}

/** Marks the step a run is on, so lineage and the CLI show progress without Temporal. */
export async function markStep(deps: ActivityDeps, pipelineRunId: string, step: string): Promise<void> {
  await deps.db.updateTable('pipeline_runs').set({ current_step: step }).where('id', '=', pipelineRunId).execute();
}
