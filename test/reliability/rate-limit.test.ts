// The prediction server's per-client rate limit (serving/rate-limit.ts) is on by default, with a
// default generous enough for one busy client (above the serving benchmark's measured throughput),
// and configurable with FLYWHEEL_SERVE_RATE_LIMIT. Real PostgreSQL (prediction_log), real server
// on loopback: a client over its limit gets 429 with Retry-After and a body naming the limit, no
// prediction_log row is written for it, and another client (another X-API-Key) is served meanwhile.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { runPredictionServer } from '../../serving/main';
import { DEFAULT_RATE_LIMIT, parseRateLimit } from '../../serving/rate-limit';
import { startPredictionServer } from '../../serving/server';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { createAgent, FEATURES, postJson, seedChampion } from '../support/traffic';

const features = Object.fromEntries(FEATURES.map((f) => [f, 0.2]));
const agent = createAgent(4);

describe('serving rate limit per client', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let store: ArtifactStore;
  let artifactRoot: string;

  beforeAll(async () => {
    database = await createTestDatabase('flywheel_fault');
    lineage = await openLineageDb({ url: database.url });
    artifactRoot = pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-ratelimit-'))).toString();
    store = openArtifactStore(artifactRoot);
    await seedChampion(lineage.db, store, 'limited', 'good');
  });

  afterAll(async () => {
    agent.destroy();
    await lineage?.close();
    await database?.drop();
  });

  const logged = async (prefix: string) =>
    Number((await lineage.db.selectFrom('prediction_log').select((eb) => eb.fn.countAll<string>().as('n')).where('unit_id', 'like', `${prefix}%`).executeTakeFirstOrThrow()).n);

  it('FLYWHEEL_SERVE_RATE_LIMIT: <per second>[/<burst>], off, or unset for the default', () => {
    expect(parseRateLimit(undefined)).toBeUndefined();
    expect(parseRateLimit('  ')).toBeUndefined();
    for (const off of ['off', 'OFF', 'none', '0']) expect(parseRateLimit(off)).toBe(false);
    expect(parseRateLimit('50/100')).toEqual({ perSecond: 50, burst: 100 });
    expect(parseRateLimit('7.5')).toEqual({ perSecond: 7.5, burst: undefined });
    expect(() => parseRateLimit('fast')).toThrow('rate limit "fast": use <requests per second>[/<burst>], e.g. 50/100, or off');
  });

  it('is on by default, and the default does not throttle one busy client (the benchmark’s rate)', async () => {
    // The serving benchmark's published throughput (4 loopback clients = one bucket): the default must clear it with room.
    // Its median, not its best run: the best of five moves ±30% with the host (bench/README.md).
    const bench = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'bench', 'results.json'), 'utf8')) as { figures: Array<{ id: string; value: number; max: number }> };
    const benchServing = bench.figures.find((f) => f.id === 'serving_pred_per_s')!;
    expect(DEFAULT_RATE_LIMIT.perSecond).toBeGreaterThanOrEqual(2 * benchServing.value);
    expect(DEFAULT_RATE_LIMIT.perSecond).toBeGreaterThan(benchServing.max);
    const server = await startPredictionServer({ db: lineage.db, readArtifact: (uri) => store.get(uri), refreshMs: 500, log: { flushMs: 20 } });
    try {
      expect(server.rateLimit).toEqual({ perSecond: 20_000, burst: 40_000, maxClients: 10_000 });
      // One client (no API key: keyed by its address), 4 connections, closed loop for 1.5 s.
      const statuses = new Map<number, number>();
      const until = Date.now() + 1_500;
      await Promise.all(
        Array.from({ length: 4 }, async (_, c) => {
          for (let i = 0; Date.now() < until; i++) {
            const res = await postJson(agent, server.url, '/predict', { model: 'limited', features, unitId: `busy-${c}-${i}` });
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          }
        }),
      );
      const served = statuses.get(200) ?? 0;
      console.log(`default rate limit ${DEFAULT_RATE_LIMIT.perSecond}/s (burst ${DEFAULT_RATE_LIMIT.burst}); one client sent ${served} requests in 1.5 s (${Math.round(served / 1.5)}/s), statuses ${JSON.stringify(Object.fromEntries(statuses))}; benchmark median ${Math.round(benchServing.value)}/s, max ${Math.round(benchServing.max)}/s`);
      expect([...statuses.keys()]).toEqual([200]);
      expect(served).toBeGreaterThan(50);
    } finally {
      await server.close();
    }
  });

  it('a client over its limit gets 429 with a clear body and no log row; another client is served meanwhile', async () => {
    const before = { a: await logged('client-a-'), b: await logged('client-b-') };
    let url = '';
    let running!: Promise<void>;
    let stop!: () => void;
    const until = new Promise<void>((resolve) => (stop = resolve));
    const listening = new Promise<void>((resolve, reject) => {
      const previous = process.env.FLYWHEEL_SERVE_RATE_LIMIT;
      process.env.FLYWHEEL_SERVE_RATE_LIMIT = '5/10';
      running = runPredictionServer({ databaseUrl: database.url, artifactRoot, port: 0, refreshMs: 500, log: { flushMs: 20 }, until, say: () => {}, onListening: (u) => ((url = u), resolve()) });
      running.catch(reject).finally(() => (process.env.FLYWHEEL_SERVE_RATE_LIMIT = previous));
    });
    await listening;
    const a: Array<{ status: number; retryAfter?: string; body: { error?: { code: string; message: string } } }> = [];
    const b: number[] = [];
    try {
      for (let i = 0; i < 24; i++) {
        const res = await postJson<{ error?: { code: string; message: string } }>(agent, url, '/predict', { model: 'limited', features, unitId: `client-a-${i}` }, { 'x-api-key': 'client-a' });
        a.push({ status: res.status, body: res.body });
        // Every third request of A's, B asks once: well within its own bucket, whatever A does.
        if (i % 3 === 2) b.push((await postJson(agent, url, '/predict', { model: 'limited', features, unitId: `client-b-${i}` }, { 'x-api-key': 'client-b' })).status);
      }
      // Retry-After is a header: read one refused answer raw.
      const raw = await fetch(new URL('/predict', url), { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'client-a' }, body: JSON.stringify({ model: 'limited', features, unitId: 'client-a-raw' }) });
      expect(raw.status).toBe(429);
      expect(Number(raw.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      stop();
      await running; // closes the server and writes every queued log row
    }
    const okA = a.filter((r) => r.status === 200).length;
    const refused = a.filter((r) => r.status === 429);
    console.log(`rate limit 5/s burst 10: client A ${okA} served, ${refused.length} refused (429); client B ${b.filter((s) => s === 200).length}/${b.length} served; first refusal: ${refused[0]?.body.error?.message}`);
    expect(okA).toBeGreaterThanOrEqual(10);
    expect(okA).toBeLessThanOrEqual(12);
    expect(refused.length).toBe(24 - okA);
    expect(new Set(a.map((r) => r.status))).toEqual(new Set([200, 429]));
    for (const r of refused) {
      expect(r.body.error).toEqual({ code: 'rate_limited', message: expect.stringMatching(/^too many requests from this client \(its X-API-Key\): the limit is 5\/s with bursts of 10; retry after \d+ s$/) });
    }
    expect(b).toEqual(Array(8).fill(200));
    // prediction_log: a row for every served request and none for a refused one.
    expect((await logged('client-a-')) - before.a).toBe(okA);
    expect((await logged('client-b-')) - before.b).toBe(8);
  });
});
