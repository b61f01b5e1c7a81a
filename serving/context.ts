// What every request handler shares: the routing tables, the logs, shadow scoring, feedback
// memory, health and metrics. Built once per server by serving/server.ts.
import type { Kysely } from 'kysely';
import type { OutcomeRecord, PredictionRecord } from '../lineage/production-log';
import type { Database } from '../lineage/schema';
import type { BatchWriter } from './batch-writer';
import type { DbHealth } from './db-health';
import type { ServingMetrics } from './metrics';
import type { RecentRequests } from './recent-requests';
import { HttpError } from './request-validation';
import type { ModelEntry, RoutingManager } from './routing-manager';
import type { ShadowRunner } from './shadow-runner';

export interface ServingContext {
  db: Kysely<Database>;
  routing: RoutingManager;
  predictions: BatchWriter<PredictionRecord>;
  outcomes: BatchWriter<OutcomeRecord>;
  shadow: ShadowRunner;
  recent: RecentRequests;
  health: DbHealth;
  metrics: ServingMetrics;
  maxCandidates: number;
}

/** The model's entry, or the 404/503 that says why it cannot serve. */
export function modelEntry(ctx: ServingContext, model: string, route: string): ModelEntry {
  const entry = ctx.routing.get(model);
  if (!ctx.routing.isKnown(model) || !entry) {
    const known = ctx.routing.knownModels();
    throw new HttpError(404, 'unknown_model', `${route}: unknown model "${model}"; known models: ${known.length ? known.join(', ') : '(none)'}`);
  }
  if (!entry.routing.champion && !entry.routing.ab && !entry.routing.canary) {
    throw new HttpError(503, 'not_deployed', `${route}: model "${model}" has no version deployed yet; promote one (retrain, or a rollout) first`);
  }
  return entry;
}

/** Refuses up front when the log cannot take the rows, rather than serving a prediction it might lose. */
export function requireLogRoom(ctx: ServingContext, rows: number, route: string): void {
  if (!ctx.predictions.hasRoom(rows)) {
    ctx.metrics.rejected.inc({ route, reason: 'log_full' });
    throw new HttpError(503, 'log_backlog', `${route}: the prediction log is backed up (${ctx.predictions.depth} rows waiting for the database); retry shortly`);
  }
}
