// The routing table in Postgres: the active deployments rows of each model are its current routes,
// and every change to them happens here, in one transaction per change, keyed for idempotency
// and logged in routing_changes. Also the lineage questions about routing: the table as of any
// time, which version served a unit then, and rolling back to the previous champion.
import { sql, type Kysely, type Transaction } from 'kysely';
import { buildRouting, emptyRouting, routePrediction, type ActiveDeploymentRow, type ModelRouting, type RouteDecision } from '../serving/routing-table';
import type { Database, DeploymentMode, VersionStatus } from './schema';

/** The NOTIFY channel every deployments change is announced on (payload {"model", "revision"}). */
export { ROUTING_CHANNEL } from './migrations/0010_serving';

export type RoutingErrorCode = 'unknown_model' | 'unknown_version' | 'no_champion' | 'no_previous_champion' | 'conflict';

export class RoutingError extends Error {
  override name = 'RoutingError';
  constructor(
    readonly code: RoutingErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Every model's current routing, read in one statement so rows and revision are one snapshot. */
export async function readActiveRouting(db: Kysely<Database>): Promise<Map<string, ModelRouting>> {
  const rows = await db
    .selectFrom('models as m')
    .leftJoin('routing_state as rs', 'rs.model_name', 'm.name')
    .leftJoin('deployments as d', (join) => join.onRef('d.model_name', '=', 'm.name').on('d.ended_at', 'is', null))
    .leftJoin('model_versions as v', 'v.id', 'd.version_id')
    .select(['m.name as model', 'rs.revision', 'd.version_id', 'd.mode', 'd.traffic_percent', 'd.arm', 'd.salt', 'v.artifact_uri'])
    .orderBy('m.name')
    .orderBy('d.id')
    .execute();
  const byModel = new Map<string, { revision: number; rows: ActiveDeploymentRow[] }>();
  for (const row of rows) {
    const entry = byModel.get(row.model) ?? { revision: Number(row.revision ?? 0), rows: [] };
    byModel.set(row.model, entry);
    if (row.version_id && row.mode && row.artifact_uri) {
      entry.rows.push({ version_id: row.version_id, mode: row.mode, traffic_percent: Number(row.traffic_percent), arm: row.arm, salt: row.salt, artifact_uri: row.artifact_uri });
    }
  }
  const out = new Map<string, ModelRouting>();
  for (const [model, entry] of byModel) out.set(model, buildRouting(model, entry.revision, entry.rows));
  return out;
}

/** The model's routing as it stood at `at` (rows started at or before it and not yet ended). */
export async function readRoutingAt(db: Kysely<Database>, model: string, at: Date): Promise<ModelRouting> {
  await requireModel(db, model);
  const rows = await db
    .selectFrom('deployments as d')
    .innerJoin('model_versions as v', 'v.id', 'd.version_id')
    .select(['d.version_id', 'd.mode', 'd.traffic_percent', 'd.arm', 'd.salt', 'v.artifact_uri'])
    .where('d.model_name', '=', model)
    .where('d.started_at', '<=', at)
    .where((eb) => eb.or([eb('d.ended_at', 'is', null), eb('d.ended_at', '>', at)]))
    .orderBy('d.id')
    .execute();
  const change = await db
    .selectFrom('routing_changes')
    .select('revision')
    .where('model_name', '=', model)
    .where('created_at', '<=', at)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return rows.length ? buildRouting(model, Number(change?.revision ?? 0), rows.map((r) => ({ ...r, traffic_percent: Number(r.traffic_percent) }))) : emptyRouting(model);
}

export interface WhoServed {
  model: string;
  unitId: string;
  at: string;
  /** What the routing history says the unit got for a prediction at `at` (null: nothing was deployed). */
  routed: RouteDecision | null;
  /** The unit's latest logged served prediction at or before `at`: what it actually got. */
  lastLogged: { requestId: string; versionId: string; predictedAt: string; mode: string | null } | null;
}

/** "Which version served unit X at time t": the routing rules applied to the table as of t, with the log's evidence. */
export async function whoServed(db: Kysely<Database>, model: string, unitId: string, at: Date): Promise<WhoServed> {
  const routing = await readRoutingAt(db, model, at);
  const logged = await db
    .selectFrom('prediction_log')
    .select(['request_id', 'version_id', 'predicted_at', sql<string | null>`prediction_detail->'routing'->>'mode'`.as('routed_mode')])
    .where('model_name', '=', model)
    .where('unit_id', '=', unitId)
    .where('mode', '=', 'served')
    .where('predicted_at', '<=', at)
    .orderBy('predicted_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return {
    model,
    unitId,
    at: at.toISOString(),
    // No request id is known here; a unit id always hashes the same, so it is not needed.
    routed: routePrediction(routing, unitId, unitId),
    lastLogged: logged ? { requestId: logged.request_id, versionId: logged.version_id, predictedAt: logged.predicted_at.toISOString(), mode: logged.routed_mode } : null,
  };
}

export interface NewRoute {
  versionId: string;
  mode: DeploymentMode;
  trafficPercent: number;
  arm?: string | null;
  salt?: string | null;
}

/** Active rows to end; every given field must match (no fields: all of the model's active rows). */
export interface RouteSelector {
  mode?: DeploymentMode;
  versionId?: string;
  rolloutId?: string;
}

export interface RoutingChange {
  model: string;
  /** Deterministic per step: the same key twice applies the change once. */
  changeKey: string;
  kind: string;
  reason: string;
  rolloutId?: string | null;
  /** The retrain run behind the change (the DAG's direct promotion): recorded on the rows it starts. */
  pipelineRunId?: string | null;
  end?: RouteSelector[];
  start?: NewRoute[];
  /** Version status updates made in the same transaction (onlyFrom: apply only from these statuses). */
  statuses?: Array<{ versionId: string; status: VersionStatus; onlyFrom?: VersionStatus[] }>;
  detail?: Record<string, unknown>;
  /** Refuse with a conflict unless the active champion is this version (null: there must be none). */
  expectChampion?: string | null;
}

export interface AppliedChange {
  /** False when the change key had been applied before: nothing was written this time. */
  applied: boolean;
  revision: number;
  /** When the change took effect (the started_at of its new rows). */
  at: string;
  endedRows: number;
}

async function requireModel(db: Kysely<Database> | Transaction<Database>, model: string, lock = false): Promise<void> {
  let query = db.selectFrom('models').select('name').where('name', '=', model);
  if (lock) query = query.forUpdate();
  if (!(await query.executeTakeFirst())) throw new RoutingError('unknown_model', `unknown model "${model}": apply its spec first (flywheel models apply <spec>)`);
}

/** Applies one routing change atomically; servers see it through the trigger's NOTIFY. */
export async function applyRoutingChange(db: Kysely<Database>, change: RoutingChange): Promise<AppliedChange> {
  return db.transaction().execute(async (trx) => {
    // The models row lock serialises this with promotions (activities/register.ts takes it too).
    await requireModel(trx, change.model, true);
    const previous = await trx.selectFrom('routing_changes').select(['revision', 'created_at', 'detail']).where('change_key', '=', change.changeKey).executeTakeFirst();
    if (previous) return { applied: false, revision: Number(previous.revision), at: previous.created_at.toISOString(), endedRows: Number((previous.detail as { endedRows?: number }).endedRows ?? 0) };

    if (change.expectChampion !== undefined) {
      const champion = await trx.selectFrom('deployments').select('version_id').where('model_name', '=', change.model).where('mode', '=', 'champion').where('ended_at', 'is', null).executeTakeFirst();
      if ((champion?.version_id ?? null) !== change.expectChampion) {
        throw new RoutingError('conflict', `routing change ${change.changeKey}: expected champion ${change.expectChampion ?? '(none)'} but ${champion?.version_id ?? 'none'} is serving; another change got there first`);
      }
    }
    for (const route of change.start ?? []) {
      const version = await trx.selectFrom('model_versions').select('model_name').where('id', '=', route.versionId).executeTakeFirst();
      if (!version || version.model_name !== change.model) throw new RoutingError('unknown_version', `version "${route.versionId}" does not exist for model "${change.model}"`);
      if (!(route.trafficPercent >= 0 && route.trafficPercent <= 100)) throw new RoutingError('conflict', `traffic percent ${route.trafficPercent} for ${route.versionId} must be within 0..100`);
    }

    const now = new Date();
    let endedRows = 0;
    for (const selector of change.end ?? []) {
      let update = trx.updateTable('deployments').set({ ended_at: now, end_reason: change.reason }).where('model_name', '=', change.model).where('ended_at', 'is', null);
      if (selector.mode) update = update.where('mode', '=', selector.mode);
      if (selector.versionId) update = update.where('version_id', '=', selector.versionId);
      if (selector.rolloutId) update = update.where('rollout_id', '=', selector.rolloutId);
      const result = await update.executeTakeFirst();
      endedRows += Number(result.numUpdatedRows);
    }
    for (const route of change.start ?? []) {
      await trx
        .insertInto('deployments')
        .values({
          model_name: change.model,
          version_id: route.versionId,
          mode: route.mode,
          traffic_percent: route.trafficPercent,
          reason: change.reason,
          pipeline_run_id: change.pipelineRunId ?? null,
          started_at: now,
          rollout_id: change.rolloutId ?? null,
          arm: route.arm ?? null,
          salt: route.salt ?? null,
        })
        .execute();
    }
    for (const status of change.statuses ?? []) {
      let update = trx.updateTable('model_versions').set({ status: status.status }).where('id', '=', status.versionId);
      if (status.onlyFrom?.length) update = update.where('status', 'in', status.onlyFrom);
      await update.execute();
    }
    const state = await trx.selectFrom('routing_state').select('revision').where('model_name', '=', change.model).executeTakeFirst();
    const revision = Number(state?.revision ?? 0);
    await trx
      .insertInto('routing_changes')
      .values({
        model_name: change.model,
        change_key: change.changeKey,
        kind: change.kind,
        reason: change.reason,
        rollout_id: change.rolloutId ?? null,
        revision,
        detail: JSON.stringify({ ...change.detail, endedRows, started: change.start ?? [], ended: change.end ?? [] }),
        created_at: now,
      })
      .execute();
    return { applied: true, revision, at: now.toISOString(), endedRows };
  });
}

export interface ChampionRollback {
  model: string;
  from: string;
  to: string;
  revision: number;
  at: string;
}

/**
 * Puts the previous champion back: the latest earlier champion that was not itself rolled back.
 * Everything else the model serves (canary, A/B, shadow, interleaving) ends too, so all traffic is
 * on a known-good version; the current champion becomes rolled_back.
 */
export async function rollbackToPreviousChampion(db: Kysely<Database>, model: string, reason: string, changeKey?: string): Promise<ChampionRollback> {
  if (!reason.trim()) throw new RoutingError('conflict', 'rollbackToPreviousChampion: give a reason (it is recorded in the deployment history)');
  await requireModel(db, model);
  const current = await db.selectFrom('deployments').select('version_id').where('model_name', '=', model).where('mode', '=', 'champion').where('ended_at', 'is', null).executeTakeFirst();
  if (!current) throw new RoutingError('no_champion', `model "${model}" has no champion serving: nothing to roll back`);
  const previous = await db
    .selectFrom('deployments as d')
    .innerJoin('model_versions as v', 'v.id', 'd.version_id')
    .select('d.version_id')
    .where('d.model_name', '=', model)
    .where('d.mode', '=', 'champion')
    .where('d.ended_at', 'is not', null)
    .where('d.version_id', '!=', current.version_id)
    .where('v.status', '!=', 'rolled_back')
    .orderBy('d.ended_at', 'desc')
    .orderBy('d.id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!previous) throw new RoutingError('no_previous_champion', `model "${model}": ${current.version_id} is the only champion it has had (rolled-back versions excluded); nothing to roll back to`);
  const text = `rollback to previous champion ${previous.version_id}: ${reason}`;
  const applied = await applyRoutingChange(db, {
    model,
    changeKey: changeKey ?? `rollback-champion/${model}/${current.version_id}/${Date.now()}`,
    kind: 'rollback_champion',
    reason: text,
    end: [{}],
    start: [{ versionId: previous.version_id, mode: 'champion', trafficPercent: 100 }],
    statuses: [
      { versionId: current.version_id, status: 'rolled_back' },
      { versionId: previous.version_id, status: 'champion' },
    ],
    expectChampion: current.version_id,
    detail: { from: current.version_id, to: previous.version_id },
  });
  return { model, from: current.version_id, to: previous.version_id, revision: applied.revision, at: applied.at };
}

export interface RoutingHistoryEntry {
  id: number;
  versionId: string;
  mode: DeploymentMode;
  trafficPercent: number;
  arm: string | null;
  rolloutId: string | null;
  reason: string;
  endReason: string | null;
  startedAt: string;
  endedAt: string | null;
}

/** The model's deployment history, oldest first: every route it ever had and why each ended. */
export async function routingHistory(db: Kysely<Database>, model: string): Promise<RoutingHistoryEntry[]> {
  await requireModel(db, model);
  const rows = await db.selectFrom('deployments').selectAll().where('model_name', '=', model).orderBy('started_at').orderBy('id').execute();
  return rows.map((r) => ({
    id: r.id,
    versionId: r.version_id,
    mode: r.mode,
    trafficPercent: Number(r.traffic_percent),
    arm: r.arm,
    rolloutId: r.rollout_id,
    reason: r.reason,
    endReason: r.end_reason,
    startedAt: r.started_at.toISOString(),
    endedAt: r.ended_at ? r.ended_at.toISOString() : null,
  }));
}
