// The online-metric SQL against a plain TypeScript computation on the same rows: natural labels
// (an event inside the window is a positive, a closed window without one a negative, an open window
// no label yet, clicked or not), every metric's sum and spread, shadow pairs joined by the served request, and
// interleaving wins from clicks credited per team.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attributeClicks, type InterleavedItem } from '../../experiments/interleaving';
import { metricValue, ONLINE_METRICS } from '../../experiments/online-metrics';
import { summarize } from '../../experiments/two-sample';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { appendOutcomes, appendPredictions, type OutcomeRecord, type PredictionRecord } from '../../lineage/production-log';
import { createRng } from '../../ml/random';
import { readArmMetrics, readInterleavingCounts, readPairedMetrics } from '../../serving/online-metrics';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

const WINDOW_MS = 60_000;
const label = { eventType: 'click', windowMs: WINDOW_MS };
const T0 = new Date('2026-03-01T00:00:00Z').getTime();
const AS_OF = new Date(T0 + 3_600_000);

interface Truth {
  id: string;
  p: number;
  /** null: not labelled as of AS_OF. */
  y: 0 | 1 | null;
  shadowP: number;
}

describe('online metrics in SQL', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  const truths: Truth[] = [];
  const items: Array<{ rank: string; list: InterleavedItem[]; clicked: string[]; judged: boolean }> = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    const rng = createRng(17);
    const predictions: PredictionRecord[] = [];
    const outcomes: OutcomeRecord[] = [];
    for (let i = 0; i < 400; i++) {
      const id = `req-${i}`;
      // The last 40 predictions are recent: their windows are still open at AS_OF.
      const at = i < 360 ? T0 + i * 1000 : AS_OF.getTime() - 10_000;
      const p = Math.fround(rng.next());
      const shadowP = Math.fround(rng.next());
      const kind = rng.next();
      let y: 0 | 1 | null;
      if (kind < 0.4) {
        outcomes.push({ requestId: id, modelName: 'm', eventType: 'click', occurredAt: new Date(at + 5_000) });
        y = 1;
      } else if (kind < 0.5) {
        // Too late, another event type, or before the prediction: none of them count.
        outcomes.push({ requestId: id, modelName: 'm', eventType: 'click', occurredAt: new Date(at + WINDOW_MS + 1) });
        outcomes.push({ requestId: id, modelName: 'm', eventType: 'view', occurredAt: new Date(at + 1) });
        outcomes.push({ requestId: id, modelName: 'm', eventType: 'click', occurredAt: new Date(at - 1) });
        y = 0;
      } else y = 0;
      // An open window has no label yet, even when its click is in: labelling early clicks but not
      // the open window's negatives would read recent rows as more positive than they are.
      if (i >= 360) y = null;
      predictions.push({ requestId: id, modelName: 'm', versionId: 'm@v1', mode: 'served', features: {}, prediction: p, predictionDetail: { routing: { mode: 'champion', arm: null, revision: 1 }, latencyMs: i % 10 }, predictedAt: new Date(at) });
      predictions.push({ requestId: `${id}~shadow~m@v2`, modelName: 'm', versionId: 'm@v2', mode: 'shadow', features: {}, prediction: shadowP, predictionDetail: { routing: { mode: 'champion', arm: null, revision: 1 }, latencyMs: 1, servedRequestId: id }, predictedAt: new Date(at + 3) });
      truths.push({ id, p, y, shadowP });
    }
    // A failed prediction counts as a request and an error, never as a label.
    predictions.push({ requestId: 'req-failed', modelName: 'm', versionId: 'm@v1', mode: 'served', features: {}, prediction: null, predictionDetail: { routing: { mode: 'champion', arm: null, revision: 1 }, latencyMs: 1, error: 'boom' }, predictedAt: new Date(T0) });
    for (let r = 0; r < 60; r++) {
      const rank = `rank-${r}`;
      const at = r < 50 ? T0 + r * 1000 : AS_OF.getTime() - 5_000;
      const ids = ['a', 'b', 'c', 'd'];
      const list: InterleavedItem[] = ids.map((id) => ({ id, team: rng.next() < 0.5 ? 'A' : 'B' }));
      const clicked = ids.filter(() => rng.next() < 0.3);
      list.forEach((item, position) =>
        predictions.push({
          requestId: `${rank}/${position}`,
          modelName: 'm',
          versionId: item.team === 'A' ? 'm@v1' : 'm@v2',
          mode: 'served',
          features: {},
          prediction: 0.5,
          predictionDetail: { routing: { mode: 'interleaving', arm: item.team, revision: 1 }, latencyMs: 1, rank: { requestId: rank, itemId: item.id, position, team: item.team } },
          predictedAt: new Date(at),
        }),
      );
      for (const id of clicked) outcomes.push({ requestId: `${rank}/${ids.indexOf(id)}`, modelName: 'm', eventType: 'click', occurredAt: new Date(at + 1_000) });
      items.push({ rank, list, clicked, judged: r < 50 || clicked.length > 0 });
    }
    await appendPredictions(lineage.db, predictions);
    await appendOutcomes(lineage.db, outcomes);
  });

  afterAll(async () => {
    await lineage?.close();
    await database?.drop();
  });

  it('labels, counts and metric summaries match a direct computation, for every metric', async () => {
    const labelled = truths.filter((t) => t.y !== null);
    for (const metric of ONLINE_METRICS) {
      const m = await readArmMetrics(lineage.db, { model: 'm', versionId: 'm@v1', mode: 'served', routingMode: 'champion', since: new Date(T0 - 1), label, metric, asOf: AS_OF });
      const expected = summarize(labelled.map((t) => metricValue(metric, t.p, t.y!)));
      expect(m.requests).toBe(401);
      expect(m.errors).toBe(1);
      expect(m.metric.n).toBe(expected.n);
      expect(m.metric.mean).toBeCloseTo(expected.mean, 10);
      expect(m.metric.variance).toBeCloseTo(expected.variance, 8);
      expect(m.positives).toBe(labelled.filter((t) => t.y === 1).length);
    }
    const latency = await readArmMetrics(lineage.db, { model: 'm', versionId: 'm@v1', mode: 'served', since: new Date(T0 - 1), label, metric: 'log_loss', asOf: AS_OF });
    expect(latency.latencyP99Ms).toBeCloseTo(9, 6);
    expect(latency.predictions).toHaveLength(400);
  });

  it('shadow rows are paired with the served request and labelled by its outcomes', async () => {
    const m = await readPairedMetrics(lineage.db, { model: 'm', candidate: 'm@v2', champion: 'm@v1', since: new Date(T0 - 1), label, metric: 'brier', asOf: AS_OF });
    const labelled = truths.filter((t) => t.y !== null);
    expect(m.pairs).toBe(labelled.length);
    expect(m.shadowRequests).toBe(400);
    const diffs = summarize(labelled.map((t) => metricValue('brier', t.shadowP, t.y!) - metricValue('brier', t.p, t.y!)));
    expect(m.difference.mean).toBeCloseTo(diffs.mean, 10);
    expect(m.difference.variance).toBeCloseTo(diffs.variance, 8);
    expect(m.candidate.mean).toBeCloseTo(summarize(labelled.map((t) => metricValue('brier', t.shadowP, t.y!))).mean, 10);
  });

  it('interleaving wins and ties per impression match click attribution in TypeScript', async () => {
    const counts = await readInterleavingCounts(lineage.db, { model: 'm', a: 'm@v1', b: 'm@v2', since: new Date(T0 - 1), label, asOf: AS_OF });
    const judged = items.filter((i) => i.judged);
    const credit = judged.map((i) => attributeClicks(i.list, i.clicked));
    expect(counts).toEqual({
      impressions: judged.length,
      withClicks: judged.filter((i) => i.clicked.length > 0).length,
      winsA: credit.filter((c) => c.winner === 'A').length,
      winsB: credit.filter((c) => c.winner === 'B').length,
      ties: credit.filter((c) => c.winner === 'tie').length,
    });
  });
});
