// Applying a model spec: validate it (dependency cycles included), store it in lineage, and
// reconcile Temporal with its stage. The same spec applied twice changes nothing.
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
  const stored = await applyModelSpec(db, spec);
  const temporal = await reconcileModel(client, stored.spec);
  return { ...stored, temporal };
}
