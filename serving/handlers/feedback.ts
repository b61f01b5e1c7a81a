// POST /feedback: an outcome (click, conversion, arrival) for a served request or a unit, queued
// for outcome_events. For a ranking request the clicked item is named by itemId and the event is
// joined to that item's impression row, which is how interleaving credits clicks to a team.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServingContext } from '../context';
import { rankItemRequestId } from '../log-records';
import type { RecentRequest } from '../recent-requests';
import { HttpError, parseFeedbackBody } from '../request-validation';

/** Finds a request the server no longer remembers (restart, another replica) in prediction_log. */
async function lookUp(ctx: ServingContext, requestId: string): Promise<RecentRequest | undefined> {
  const single = await ctx.db.selectFrom('prediction_log').select(['model_name', 'unit_id']).where('request_id', '=', requestId).executeTakeFirst();
  if (single) return { model: single.model_name, unitId: single.unit_id, kind: 'predict' };
  // Ranking impressions are "<id>/<position>": probe the positions by primary key.
  const ids = Array.from({ length: ctx.maxCandidates }, (_, i) => rankItemRequestId(requestId, i));
  const items = await ctx.db.selectFrom('prediction_log').select(['request_id', 'model_name', 'unit_id', 'prediction_detail']).where('request_id', 'in', ids).execute();
  if (items.length === 0) return undefined;
  const shown: string[] = [];
  for (const row of items) {
    const rank = (row.prediction_detail as { rank?: { itemId: string; position: number } } | null)?.rank;
    if (rank) shown[rank.position] = rank.itemId;
  }
  return { model: items[0].model_name, unitId: items[0].unit_id, kind: 'rank', items: shown };
}

export function feedbackHandler(ctx: ServingContext) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const body = parseFeedbackBody(request.body);
    let model = body.model;
    let unitId = body.unitId;
    let outcomeRequestId: string | null = null;
    if (body.requestId) {
      let known = ctx.recent.get(body.requestId);
      if (!known) {
        try {
          known = await lookUp(ctx, body.requestId);
        } catch (error) {
          throw new HttpError(503, 'db_unavailable', `POST /feedback: request ${body.requestId} is not in memory and the database cannot be asked (${(error as Error).message}); retry shortly`);
        }
      }
      if (!known) throw new HttpError(404, 'unknown_request', `POST /feedback: no prediction with requestId "${body.requestId}" (a request logged moments ago may still be queued: retry shortly)`);
      if (model && model !== known.model) throw new HttpError(400, 'model_mismatch', `POST /feedback: request ${body.requestId} was a prediction of "${known.model}", not "${model}"`);
      model = known.model;
      unitId = unitId ?? known.unitId;
      if (known.kind === 'rank') {
        if (!body.itemId) throw new HttpError(400, 'missing_field', `POST /feedback: request ${body.requestId} was a ranking; name the item the event is about with "itemId"`);
        const position = known.items?.indexOf(body.itemId) ?? -1;
        if (position < 0) throw new HttpError(400, 'unknown_item', `POST /feedback: item "${body.itemId}" was not in the ranking returned for request ${body.requestId}`);
        outcomeRequestId = rankItemRequestId(body.requestId, position);
      } else {
        if (body.itemId) throw new HttpError(400, 'unexpected_field', `POST /feedback: "itemId" applies to /rank requests only; request ${body.requestId} was a /predict`);
        outcomeRequestId = body.requestId;
      }
    } else if (!ctx.routing.isKnown(model!)) {
      throw new HttpError(404, 'unknown_model', `POST /feedback: unknown model "${model}"; known models: ${ctx.routing.knownModels().join(', ') || '(none)'}`);
    }
    const accepted = ctx.outcomes.offer({ requestId: outcomeRequestId, unitId, modelName: model!, eventType: body.event, value: body.value ?? 1, occurredAt: new Date() });
    if (!accepted) {
      ctx.metrics.rejected.inc({ route: '/feedback', reason: 'log_full' });
      throw new HttpError(503, 'log_backlog', `POST /feedback: the outcome log is backed up (${ctx.outcomes.depth} rows waiting); retry shortly`);
    }
    ctx.metrics.requests.inc({ route: '/feedback', model: model!, version: '', mode: '', status: '202' });
    return reply.code(202).send({ accepted: true, model, requestId: outcomeRequestId, event: body.event });
  };
}
