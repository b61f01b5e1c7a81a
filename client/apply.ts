// Applying a model spec: validate it (dependency cycles included), reconcile Temporal with its stage
// and store it in lineage, all or nothing: when Temporal refuses (unreachable, a schedule it
// rejects), the stored spec and Temporal stay as they were. The same spec applied twice changes nothing.
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { findCycle } from '../lifecycle/dependencies';
import { applyModelSpec, dependencyGraph, type ApplyResult } from '../lineage/models';
import type { Database } from '../lineage/schema';
import { reconcileModel, type ReconcileResult } from '../schedules/reconcile';
import { InvalidSpecError, parseModelSpec } from '../spec/model-spec';

export interface ApplyOutcome extends ApplyResult {
  temporal: ReconcileResult;
}

export async function applyModel(client: Client, db: Kysely<Database>, input: unknown): Promise<ApplyOutcome> {
  const spec = parseModelSpec(input);
  const graph = await dependencyGraph(db);
  const unknown = spec.dependsOn.filter((upstream) => !graph.has(upstream));
  if (unknown.length) throw new InvalidSpecError([`dependsOn: unknown model(s) ${unknown.join(', ')}: apply them first`]);
  graph.set(spec.name, spec.dependsOn);
  const cycle = findCycle(graph);
  if (cycle) throw new InvalidSpecError([`dependsOn: dependency cycle ${cycle.join(' → ')}; remove one of these edges`]);

  const before = await db.selectFrom('models').select(['spec', 'spec_hash', 'stage', 'updated_at']).where('name', '=', spec.name).executeTakeFirst();
  let stored: ApplyResult | undefined;
  // reconcileModel stores the spec (commit) between the schedule and the continual workflow, whose
  // first check reads the stored stage, and undoes every step, this store included, when a later one fails.
  const temporal = await reconcileModel(client, spec, {
    commit: async () => {
      stored = await applyModelSpec(db, spec);
    },
    rollback: async () => {
      if (!stored || stored.outcome === 'unchanged') return;
      if (!before) await db.deleteFrom('models').where('name', '=', spec.name).execute();
      else {
        await db
          .updateTable('models')
          .set({ spec: JSON.stringify(before.spec), spec_hash: before.spec_hash, stage: before.stage, updated_at: before.updated_at })
          .where('name', '=', spec.name)
          .execute();
      }
    },
  });
  return { ...stored!, temporal };
}
