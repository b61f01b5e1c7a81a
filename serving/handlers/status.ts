// GET /healthz (database reachability, routing and log state; 503 while the database is down,
// 200 again by itself once it answers) and GET /metrics (Prometheus text format).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServingContext } from '../context';

export function healthHandler(ctx: ServingContext) {
  return async (_request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const db = ctx.health.current;
    const models: Record<string, unknown> = {};
    for (const [name, entry] of ctx.routing.snapshot()) {
      const r = entry.routing;
      models[name] = {
        revision: r.revision,
        champion: r.champion?.versionId ?? null,
        canary: r.canary ? { version: r.canary.versionId, percent: r.canary.percent } : null,
        ab: r.ab ? r.ab.arms.map((a) => ({ arm: a.arm, version: a.versionId, percent: a.percent })) : null,
        shadows: r.shadows.map((s) => s.versionId),
        interleaving: r.interleaving ? { a: r.interleaving.a.versionId, b: r.interleaving.b.versionId, percent: r.interleaving.percent } : null,
      };
    }
    const log = (w: ServingContext['predictions'] | ServingContext['outcomes']) => ({ queued: w.depth, written: w.writtenRows, flushFailures: w.failures, poisoned: w.poisonedRows, lastError: w.lastError });
    const body = {
      status: db.reachable ? 'ok' : 'unhealthy',
      db,
      routing: { listening: ctx.routing.listening, lastReloadAt: ctx.routing.lastReloadAt?.toISOString() ?? null, lastError: ctx.routing.lastError, models },
      log: { predictions: log(ctx.predictions), outcomes: log(ctx.outcomes) },
      shadow: { pending: ctx.shadow.depth },
    };
    return reply.code(db.reachable ? 200 : 503).send(body);
  };
}

export function metricsHandler(ctx: ServingContext) {
  return async (_request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const m = ctx.metrics;
    m.logQueueDepth.set({ log: 'predictions' }, ctx.predictions.depth);
    m.logQueueDepth.set({ log: 'outcomes' }, ctx.outcomes.depth);
    m.logQueueDepth.set({ log: 'shadow' }, ctx.shadow.depth);
    for (const [name, entry] of ctx.routing.snapshot()) m.routingRevision.set({ model: name }, entry.routing.revision);
    m.dbUp.set(ctx.health.current.reachable ? 1 : 0);
    m.listenerUp.set(ctx.routing.listening ? 1 : 0);
    return reply.type(m.registry.contentType).send(await m.registry.metrics());
  };
}
