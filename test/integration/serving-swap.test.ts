// Version swaps under load: 4 concurrent loopback clients send at least 8,000 predictions while the
// champion changes 5 times (each time to a version the server has not loaded yet). Not one request
// may fail, every answer must come from a version that was routed at some point, each swap must
// be picked up, and every acknowledged prediction must be in the log afterwards.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { applyRoutingChange } from '../../lineage/routing';
import { startPredictionServer, type PredictionServer } from '../../serving/server';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { percentile, registerVersion, runPredictTraffic, seedChampion, type Quality } from '../support/traffic';

describe('routing swaps under concurrent load', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let store: ArtifactStore;
  let server: PredictionServer;

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-swap-'))).toString());
    await seedChampion(lineage.db, store, 'ctr', 'fair');
    const qualities: Quality[] = ['good', 'fair', 'good', 'bad', 'good'];
    for (let v = 2; v <= 6; v++) await registerVersion(lineage.db, store, 'ctr', `v${v}`, qualities[v - 2]);
    server = await startPredictionServer({ db: lineage.db, readArtifact: (uri) => store.get(uri), listenUrl: database.url, refreshMs: 2_000 });
  });

  afterAll(async () => {
    await server?.close();
    await lineage?.close();
    await database?.drop();
  });

  it('4 clients, at least 8,000 requests spanning 5 swaps, zero failed requests', async () => {
    let done = false;
    let swapsDone = false;
    const swaps: Array<{ to: string; pickedUpMs: number }> = [];
    const swapper = (async () => {
      for (let v = 2; v <= 6 && !done; v++) {
        await new Promise((r) => setTimeout(r, 400));
        const to = `ctr@v${v}`;
        const started = Date.now();
        await applyRoutingChange(lineage.db, {
          model: 'ctr',
          changeKey: `swap/${v}`,
          kind: 'promote',
          reason: `swap ${v - 1} under load`,
          end: [{ mode: 'champion' }],
          start: [{ versionId: to, mode: 'champion', trafficPercent: 100 }],
        });
        while (server.routing.get('ctr')?.routing.champion?.versionId !== to) await new Promise((r) => setTimeout(r, 5));
        swaps.push({ to, pickedUpMs: Date.now() - started });
      }
      swapsDone = true;
    })();
    const started = performance.now();
    // The load lasts until every swap has happened and at least 8,000 requests were sent, however
    // fast this machine serves (a fixed request count can finish before the last swap).
    // It goes on for 400 requests after the last swap, so the last version serves too.
    let attempts = 0;
    let attemptsAtLastSwap = Infinity;
    const stop = () => {
      attempts++;
      if (swapsDone && attemptsAtLastSwap === Infinity) attemptsAtLastSwap = attempts;
      return attempts > 8_000 && attempts > attemptsAtLastSwap + 400;
    };
    const stats = await runPredictTraffic({ url: server.url, model: 'ctr', clients: 4, requests: 50_000, units: 5_000, seed: 3, feedback: false, stop });
    const seconds = (performance.now() - started) / 1000;
    done = true;
    await swapper;

    expect(stats.failures).toEqual([]);
    expect(stats.sent).toBeGreaterThanOrEqual(8_000);
    expect(stats.statuses).toEqual({ 200: stats.sent });
    expect(swaps.map((s) => s.to)).toEqual(['ctr@v2', 'ctr@v3', 'ctr@v4', 'ctr@v5', 'ctr@v6']);
    for (const s of swaps) expect(s.pickedUpMs).toBeLessThan(2_000);
    // Every answer came from a routed version, and the load saw several of them.
    expect(Object.keys(stats.versions).every((v) => /^ctr@v[1-6]$/.test(v))).toBe(true);
    expect(Object.keys(stats.versions).length).toBeGreaterThanOrEqual(4);
    expect(await server.flush(20_000)).toBe(0);
    const logged = await lineage.db.selectFrom('prediction_log').select((eb) => eb.fn.countAll<number>().as('n')).where('mode', '=', 'served').executeTakeFirstOrThrow();
    expect(Number(logged.n)).toBe(stats.sent);
    // Versions no longer routed were released (only the current champion stays loaded).
    expect([...server.routing.snapshot().get('ctr')!.models.keys()]).toEqual(['ctr@v6']);
    console.log(
      `swap test: ${stats.sent} requests in ${seconds.toFixed(1)} s (${(stats.sent / seconds).toFixed(0)}/s), p50 ${percentile(stats.latenciesMs, 0.5).toFixed(2)} ms, p99 ${percentile(stats.latenciesMs, 0.99).toFixed(2)} ms; swaps picked up in ${swaps.map((s) => s.pickedUpMs).join(', ')} ms; served ${JSON.stringify(stats.versions)}`,
    );
  });
});
