// POST /rank: scores every candidate and returns them best first. When the model is running an
// interleaving experiment and the unit falls in it, both rankers score the candidates and the
// response is their team-draft interleaving; each shown item is logged as its own row (position,
// team, the placing ranker's score) so clicks can be credited to a team.
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { seedFromString } from '../../experiments/assignment';
import { teamDraftInterleave, type Team } from '../../experiments/interleaving';
import { createRng } from '../../ml/random';
import { modelEntry, requireLogRoom, type ServingContext } from '../context';
import { predictionRow, rankItemRequestId, type RoutingNote } from '../log-records';
import { checkFeatures, HttpError, parseRankBody } from '../request-validation';
import { interleaves, routePrediction } from '../routing-table';
import type { FeatureRow, ServingModel } from '../serving-model';

/** Item ids by descending score; ties keep the request's order, so a ranking is reproducible. */
function order(ids: readonly string[], scores: readonly number[]): string[] {
  return ids.map((id, i) => ({ id, i, s: scores[i] })).sort((x, y) => y.s - x.s || x.i - y.i).map((x) => x.id);
}

async function scoreWith(version: ServingModel, rows: readonly FeatureRow[]): Promise<number[]> {
  version.acquire();
  try {
    return (await version.score(rows)).rows.map((r) => r[0]);
  } finally {
    version.release();
  }
}

export function rankHandler(ctx: ServingContext) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const started = performance.now();
    const route = '/rank';
    const body = parseRankBody(request.body, ctx.maxCandidates);
    const entry = modelEntry(ctx, body.model, 'POST /rank');
    const rows = body.candidates.map((c, i) => checkFeatures(c.features, entry.contract, body.model, `candidates[${i}].features`));
    const ids = body.candidates.map((c) => c.id);
    requireLogRoom(ctx, rows.length, route);
    const requestId = randomUUID();
    const at = new Date();
    const revision = entry.routing.revision;
    const byId = new Map(ids.map((id, i) => [id, i]));
    let shown: Array<{ id: string; team: Team | null; versionId: string; score: number }>;
    let response: Record<string, unknown>;
    let mode: string;
    let versionLabel: string;

    const interleaving = entry.routing.interleaving;
    if (interleaving && interleaves(entry.routing, body.unitId, requestId)) {
      const a = entry.models.get(interleaving.a.versionId);
      const b = entry.models.get(interleaving.b.versionId);
      if (!a || !b) throw new HttpError(503, 'not_deployed', `POST /rank: interleaving arms of "${body.model}" are not loaded`);
      const [scoresA, scoresB] = await Promise.all([scoreWith(a, rows), scoreWith(b, rows)]);
      // The coin flips are seeded by the request id: the same request always interleaves the same way.
      const rng = createRng(seedFromString(requestId));
      const list = teamDraftInterleave(order(ids, scoresA), order(ids, scoresB), () => rng.next() < 0.5);
      shown = list.map((item) => {
        const i = byId.get(item.id)!;
        return { id: item.id, team: item.team, versionId: item.team === 'A' ? a.versionId : b.versionId, score: item.team === 'A' ? scoresA[i] : scoresB[i] };
      });
      mode = 'interleaving';
      versionLabel = `${a.versionId}|${b.versionId}`;
      // Teams are logged, not returned: what users see must not depend on who placed an item.
      response = { requestId, mode, versions: [a.versionId, b.versionId], ranking: shown.map((s) => ({ id: s.id })) };
    } else {
      const decision = routePrediction(entry.routing, body.unitId, requestId);
      const version = decision ? entry.models.get(decision.versionId) : undefined;
      if (!decision || !version) throw new HttpError(503, 'not_deployed', `POST /rank: model "${body.model}" has no loaded version to serve`);
      const scores = await scoreWith(version, rows);
      shown = order(ids, scores).map((id) => ({ id, team: null, versionId: version.versionId, score: scores[byId.get(id)!] }));
      mode = decision.mode;
      versionLabel = version.versionId;
      response = { requestId, mode, version: version.versionId, ranking: shown.map((s) => ({ id: s.id, score: s.score })) };
    }

    const latencyMs = performance.now() - started;
    ctx.predictions.offer(
      ...shown.map((item, position) => {
        const note: RoutingNote = { mode: mode as RoutingNote['mode'], arm: item.team, revision };
        return predictionRow({
          requestId: rankItemRequestId(requestId, position),
          model: body.model,
          versionId: item.versionId,
          mode: 'served',
          unitId: body.unitId,
          features: rows[byId.get(item.id)!],
          scores: [item.score],
          at,
          detail: { routing: note, latencyMs, rank: { requestId, itemId: item.id, position, team: item.team } },
        });
      }),
    );
    ctx.recent.set(requestId, { model: body.model, unitId: body.unitId, kind: 'rank', items: shown.map((s) => s.id) });
    ctx.metrics.requests.inc({ route, model: body.model, version: versionLabel, mode, status: '200' });
    ctx.metrics.latency.observe({ route, model: body.model, version: versionLabel, mode }, latencyMs / 1000);
    return reply.send(response);
  };
}
