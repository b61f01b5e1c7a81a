// Which models must follow a new champion: every model that depends on it, directly or through
// another, in upstream-first order, with the stage that decides how each is told.
import { dependantsInOrder } from '../lifecycle/dependencies';
import { dependencyGraph } from '../lineage/models';
import type { ActivityDeps } from './deps';

export interface Dependant {
  name: string;
  stage: number;
}

export function dependantActivities({ db }: ActivityDeps) {
  return {
    async listDependants(request: { modelName: string }): Promise<Dependant[]> {
      const ordered = dependantsInOrder(await dependencyGraph(db), request.modelName);
      if (!ordered.length) return [];
      const stages = await db.selectFrom('models').select(['name', 'stage']).where('name', 'in', ordered).execute();
      const stageOf = new Map(stages.map((row) => [row.name, row.stage]));
      return ordered.map((name) => ({ name, stage: stageOf.get(name) ?? 1 }));
    },
  };
}
