// Natural labels on a real PostgreSQL: the label-window edges (both sides of each), pending never
// negative, late events counted and ignored, first vs last value, request vs unit joins, shadow
// predictions skipped, idempotent recomputation, and agreement with the simulator's ground truth.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { computeNaturalLabels, type NaturalLabelRequest } from '../../lineage/natural-labels';
import { appendOutcomes, appendPredictions, ProductionLogError, type OutcomeRecord, type PredictionRecord } from '../../lineage/production-log';
import { generateDay, simulateDays } from '../../scenarios/simulator';
import type { LabelRule } from '../../spec/data-spec';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

const T0 = Date.parse('2026-02-01T00:00:00Z');
const MIN = 60_000;
const at = (ms: number) => new Date(T0 + ms);
const REF = at(120 * MIN);
const FROM = at(-24 * 60 * MIN);
const within = (window = '30m', joinOn: 'request_id' | 'unit_id' = 'request_id'): LabelRule => ({ kind: 'event_within', eventType: 'click', window, joinOn });

let database: TestDatabase;
let lineage: LineageDb;

beforeAll(async () => {
  database = await createTestDatabase();
  lineage = await openLineageDb({ url: database.url });
});

afterAll(async () => {
  await lineage?.close();
  await database?.drop();
});

beforeEach(async () => {
  await sql`truncate prediction_log, outcome_events, labelled_examples`.execute(lineage.db);
});

function prediction(requestId: string, atMs: number, extra: Partial<PredictionRecord> = {}): PredictionRecord {
  return { requestId, modelName: 'm', versionId: 'm@v1', unitId: `u-${requestId}`, features: { x: 1 }, prediction: 0.5, predictedAt: at(atMs), ...extra };
}

function click(requestId: string | null, atMs: number, extra: Partial<OutcomeRecord> = {}): OutcomeRecord {
  return { requestId, modelName: 'm', eventType: 'click', occurredAt: at(atMs), ...extra };
}

async function labels(): Promise<Record<string, number>> {
  const rows = await lineage.db.selectFrom('labelled_examples').select(['request_id', 'label']).where('model_name', '=', 'm').execute();
  return Object.fromEntries(rows.map((r) => [r.request_id!, r.label]));
}

const run = (rule: LabelRule, referenceTime: Date = REF, from: Date = FROM) => computeNaturalLabels(lineage.db, { modelName: 'm', rule, referenceTime, from } satisfies NaturalLabelRequest);

describe('event_within', () => {
  it('window [t, t + window): start inclusive, end exclusive; pending until it closes; late and invisible events ignored', async () => {
    await appendPredictions(lineage.db, [
      prediction('start-edge', 0), // click at exactly t: inside
      prediction('end-inside', 0), // click 1 ms before t + 30m: inside
      prediction('end-edge', 0), // click at exactly t + 30m: late
      prediction('no-click', 0),
      prediction('before', 0), // click before the prediction: not its outcome, not late
      prediction('closes-at-ref', 90 * MIN), // window closes exactly at the reference time: labelled
      prediction('open', 90 * MIN + 1), // window still open: pending, even with a click already in
      prediction('future-click', 10 * MIN), // its click happens at the reference time: not visible yet
      prediction('shadowed', 0, { mode: 'shadow' }), // a shadow score is never a training row
    ]);
    await appendOutcomes(lineage.db, [
      click('start-edge', 0),
      click('end-inside', 30 * MIN - 1),
      click('end-edge', 30 * MIN),
      click('before', -1),
      click('open', 95 * MIN),
      click('future-click', 120 * MIN),
      click('shadowed', 5 * MIN),
      click('no-click', 5 * MIN, { eventType: 'view' }), // another event type does not count
    ]);
    const counts = await run(within());
    expect(counts).toEqual({ predictions: 8, unjoinable: 0, pending: 1, labelled: 7, positives: 2, negatives: 5, noEvent: 0, late: 1, inserted: 7, updated: 0 });
    expect(await labels()).toEqual({ 'start-edge': 1, 'end-inside': 1, 'end-edge': 0, 'no-click': 0, before: 0, 'closes-at-ref': 0, 'future-click': 0 });

    const row = await lineage.db.selectFrom('labelled_examples').selectAll().where('request_id', '=', 'end-inside').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ entity_id: 'u-end-inside', label_source: 'natural:event_within:click:30m:request_id', features: { x: 1 } });
    expect(row.event_time.toISOString()).toBe(at(0).toISOString());
    expect(row.label_available_at!.toISOString()).toBe(at(30 * MIN).toISOString());
  });

  it('recomputation is idempotent; a later reference time labels what was pending; a rule change rewrites labels', async () => {
    await appendPredictions(lineage.db, [prediction('a', 0), prediction('b', 90 * MIN + 1)]);
    await appendOutcomes(lineage.db, [click('a', 40 * MIN), click('b', 95 * MIN)]);
    expect(await run(within())).toMatchObject({ labelled: 1, pending: 1, negatives: 1, late: 1, inserted: 1 });
    expect(await run(within())).toMatchObject({ labelled: 1, pending: 1, inserted: 0, updated: 0 });
    expect(await run(within(), at(200 * MIN))).toMatchObject({ labelled: 2, pending: 0, positives: 1, inserted: 1, updated: 0 });
    expect(await labels()).toEqual({ a: 0, b: 1 });
    // A 45-minute window makes a's click at 40 min count: its row is updated, not duplicated.
    expect(await run(within('45m'), at(200 * MIN))).toMatchObject({ labelled: 2, positives: 2, late: 0, inserted: 0, updated: 2 });
    expect(await labels()).toEqual({ a: 1, b: 1 });
    const count = await lineage.db.selectFrom('labelled_examples').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(2);
  });

  it('unit join: an event counts for every window of the unit it falls in; predictions without a unit are unjoinable', async () => {
    await appendPredictions(lineage.db, [
      prediction('p1', 0, { unitId: 'alice' }),
      prediction('p2', 20 * MIN, { unitId: 'alice' }),
      prediction('p3', 0, { unitId: 'bob' }),
      prediction('p4', 0, { unitId: null }),
    ]);
    await appendOutcomes(lineage.db, [
      click(null, 25 * MIN, { unitId: 'alice' }), // inside p1 [0, 30) and p2 [20, 50)
      click(null, 70 * MIN, { unitId: 'bob' }), // after bob's only window: late
    ]);
    const counts = await run(within('30m', 'unit_id'));
    expect(counts).toMatchObject({ predictions: 4, unjoinable: 1, labelled: 3, positives: 2, negatives: 1, late: 1 });
    expect(await labels()).toEqual({ p1: 1, p2: 1, p3: 0 });
  });
});

describe('event_value', () => {
  it('takes the first or last in-window value; no event means no label (not zero)', async () => {
    await appendPredictions(lineage.db, [prediction('order-1', 0), prediction('order-2', 0), prediction('order-3', 0)]);
    await appendOutcomes(lineage.db, [
      click('order-1', 10 * MIN, { eventType: 'arrived', value: 10 }),
      click('order-1', 50 * MIN, { eventType: 'arrived', value: 50 }),
      click('order-1', 61 * MIN, { eventType: 'arrived', value: 61 }), // after the 1h window: late
      click('order-2', 5 * MIN, { eventType: 'arrived', value: 5 }),
    ]);
    const first: LabelRule = { kind: 'event_value', eventType: 'arrived', valueOf: 'first', window: '1h', joinOn: 'request_id' };
    expect(await run(first)).toMatchObject({ labelled: 2, noEvent: 1, late: 1, positives: 0, negatives: 0 });
    expect(await labels()).toEqual({ 'order-1': 10, 'order-2': 5 });
    expect(await run({ ...first, valueOf: 'last' })).toMatchObject({ labelled: 2, updated: 2 });
    expect(await labels()).toEqual({ 'order-1': 50, 'order-2': 5 });
  });
});

describe('production log', () => {
  it('appends in batches, skips a re-sent request, and names a bad row', async () => {
    const rows = Array.from({ length: 12_345 }, (_, i) => prediction(`r${i}`, i));
    expect(await appendPredictions(lineage.db, rows)).toBe(12_345);
    expect(await appendPredictions(lineage.db, rows.slice(0, 10))).toBe(0);
    await expect(appendPredictions(lineage.db, [prediction('x', 0, { predictedAt: 'yesterday' })])).rejects.toThrow(
      new ProductionLogError('row 0: predictedAt "yesterday" is not a valid time: pass a Date or an ISO 8601 string'),
    );
    await expect(appendOutcomes(lineage.db, [click(null, 0)])).rejects.toThrow('row 0: an outcome needs requestId or unitId to be joined to a prediction');
  });
});

describe('with the simulator as the application', () => {
  it('labels match the ground truth: clicked within 30 minutes, pending near the reference time', async () => {
    const options = { task: 'ctr' as const, modelName: 'm', start: '2026-02-01T00:00:00Z', days: 2, rowsPerDay: 5_000, seed: 9 };
    const summary = await simulateDays(lineage.db, options);
    expect(summary.predictions).toBe(10_000);
    const reference = new Date('2026-02-03T00:00:00Z');
    const counts = await run(within(), reference, new Date('2026-02-01T00:00:00Z'));

    // Expected labels from the simulator's own record of what happened and when.
    let positives = 0;
    let negatives = 0;
    let pending = 0;
    let late = 0;
    for (const day of [0, 1]) {
      const generated = generateDay(options, day);
      const clickAt = new Map(generated.outcomes.map((o) => [o.requestId, new Date(o.occurredAt).getTime()]));
      for (const p of generated.predictions) {
        const t = new Date(p.predictedAt).getTime();
        const c = clickAt.get(p.requestId);
        if (t + 30 * MIN > reference.getTime()) pending++;
        else if (c !== undefined && c < t + 30 * MIN) positives++;
        else {
          negatives++;
          if (c !== undefined && c < reference.getTime()) late++;
        }
      }
    }
    expect(counts).toMatchObject({ predictions: 10_000, positives, negatives, pending, late });
    expect(pending).toBeGreaterThan(50);
    expect(late).toBeGreaterThan(10);
  });
});
