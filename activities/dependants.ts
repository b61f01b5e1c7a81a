// Which models must follow a new champion now: every model that depends on it, directly or through
// another, in upstream-first order, with the stage that decides how each is told. Models below a
// stage-4 dependant that is signalled are left to that model's own cascade (lifecycle/dependencies.ts
// cascadePlan), so they retrain once, against its new champion.
import { cascadePlan, dependantsInOrder } from '../lifecycle/dependencies';
import { dependencyGraph } from '../lineage/models';
import type { ActivityDeps } from './deps';

export interface Dependant {
  name: string;
  stage: number;
}

export function dependantActivities({ db }: ActivityDeps) {
  return {
    async listDependants(request: { modelName: string }): Promise<Dependant[]> {
      const graph = await dependencyGraph(db);
      const names = dependantsInOrder(graph, request.modelName);
      if (!names.length) return [];
      const rows = await db.selectFrom('models').select(['name', 'stage', 'spec']).where('name', 'in', names).execute();
      const byName = new Map(rows.map((row) => [row.name, row]));
      return cascadePlan(graph, request.modelName, (name) => {
        const row = byName.get(name);
        const upstream = (row?.spec as { continual?: { triggers?: { upstream?: boolean } } } | undefined)?.continual?.triggers?.upstream;
        // The spec's default for continual.triggers.upstream is true.
        return { stage: row?.stage ?? 1, followsUpstream: row?.stage === 4 && upstream !== false };
      });
    },
  };
}
