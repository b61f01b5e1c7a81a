// POST /predict: validate, route by the unit's sticky bucket, score with the routed version, log
// the served row, answer, and only then hand the request to the shadow versions.
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { modelEntry, requireLogRoom, type ServingContext } from '../context';
import { predictionRow } from '../log-records';
import { checkFeatures, HttpError, parsePredictBody } from '../request-validation';
import { routePrediction, shadowsFor } from '../routing-table';

export interface PredictResponse {
  prediction: number | number[];
  version: string;
  requestId: string;
  mode: string;
}

export function predictHandler(ctx: ServingContext) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const started = performance.now();
    const route = '/predict';
    const body = parsePredictBody(request.body);
    const entry = modelEntry(ctx, body.model, 'POST /predict');
    const features = checkFeatures(body.features, entry.contract, body.model);
    requireLogRoom(ctx, 1, route);
    const requestId = randomUUID();
    const decision = routePrediction(entry.routing, body.unitId, requestId);
    const version = decision ? entry.models.get(decision.versionId) : undefined;
    if (!decision || !version) throw new HttpError(503, 'not_deployed', `POST /predict: model "${body.model}" has no loaded version to serve`);
    const at = new Date();
    const routingNote = { mode: decision.mode, arm: decision.arm, revision: entry.routing.revision };
    version.acquire();
    let scores: number[];
    try {
      scores = (await version.score([features])).rows[0];
    } catch (error) {
      const message = (error as Error).message;
      // The failure is logged against the version, so a canary's error-rate guardrail sees it.
      ctx.predictions.offer(
        predictionRow({ requestId, model: body.model, versionId: version.versionId, mode: 'served', unitId: body.unitId, features, scores: null, at, detail: { routing: routingNote, latencyMs: performance.now() - started, error: message } }),
      );
      ctx.metrics.requests.inc({ route, model: body.model, version: version.versionId, mode: decision.mode, status: '500' });
      throw new HttpError(500, 'inference_failed', `POST /predict: version ${version.versionId} of "${body.model}" failed to score the request: ${message}`);
    } finally {
      version.release();
    }
    const latencyMs = performance.now() - started;
    ctx.predictions.offer(predictionRow({ requestId, model: body.model, versionId: version.versionId, mode: 'served', unitId: body.unitId, features, scores, at, detail: { routing: routingNote, latencyMs } }));
    ctx.recent.set(requestId, { model: body.model, unitId: body.unitId, kind: 'predict' });
    const response: PredictResponse = { prediction: scores.length === 1 ? scores[0] : scores, version: version.versionId, requestId, mode: decision.mode };
    ctx.metrics.requests.inc({ route, model: body.model, version: version.versionId, mode: decision.mode, status: '200' });
    ctx.metrics.latency.observe({ route, model: body.model, version: version.versionId, mode: decision.mode }, latencyMs / 1000);
    // Take the shadow versions' references now: the routing may swap before the shadow job runs.
    const shadows = shadowsFor(entry.routing, requestId, version.versionId).flatMap((s) => {
      const model = entry.models.get(s.versionId);
      return model ? [model.acquire()] : [];
    });
    reply.send(response);
    for (const shadow of shadows) ctx.shadow.submit({ model: body.model, version: shadow, servedRequestId: requestId, unitId: body.unitId, features, at, routing: routingNote });
    return reply;
  };
}
