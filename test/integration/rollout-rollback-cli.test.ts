// Rolling the champion back "from the CLI and the client API", on the real stack (PostgreSQL, the
// Temporal dev server with the rollout worker, the prediction server following the routing
// table): champions v1 → v2 → v3 through real rollouts; `flywheel rollout rollback` puts v2 back,
// FlywheelClient.rollback puts v1 back; each time the server answers with the restored version,
// the deployment history records the rollback with its reason, and the answer names both
// versions. Plus the operator commands `rollout status --json` and `rollout abort --json` on a
// rollout under traffic, and the CLI's refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlywheelClient } from '../../client/index';
import { getRolloutState, rolloutHandle, startRollout } from '../../serving/rollout-control';
import { runCli, userLines } from '../support/cli';
import { ROLLOUT_TEST_QUEUE, startRolloutStack, type RolloutStack } from '../support/rollout-stack';
import { createAgent, postJson, registerVersion, runPredictTraffic, seedChampion, type PredictResponseBody } from '../support/traffic';

const MODEL = 'rb';
const FEATURES = { ad_relevance: 0.1, user_ctr_7d: 0.2, position: -0.3, hour_sin: 0.4 };
const guardrails = { minLabelled: 50, minRequests: 30, minPredictions: 50, latencySlackMs: 50, maxPredictionPsi: 5 };
const slowCanary = { checkInterval: '0.25s', labelEvent: 'click', labelWindow: '0.5s', phases: [{ kind: 'canary', steps: [10, 50, 100], stepDuration: '60s', maxStepDuration: '120s', minLabelledPerStep: 10, guardrails }] };

describe('rollback to the previous champion from the CLI and the client API', () => {
  let stack: RolloutStack;
  let env: NodeJS.ProcessEnv;

  const cliJson = async (args: string[]) => {
    const result = await runCli([...args, '--json'], env);
    expect(result.code, `${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
    const lines = userLines(result.stdout);
    expect(lines, args.join(' ')).toHaveLength(1);
    return JSON.parse(lines[0]);
  };

  /** What the prediction server answers once it has followed the routing table (LISTEN/NOTIFY or its refresh). */
  const servedVersion = async (expected: string, timeoutMs = 10_000): Promise<string> => {
    const agent = createAgent();
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        const res = await postJson<PredictResponseBody>(agent, stack.server.url, '/predict', { model: MODEL, unitId: 'after-rollback', features: FEATURES });
        expect(res.status).toBe(200);
        if (res.body.version === expected || Date.now() > deadline) return res.body.version;
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      agent.destroy();
    }
  };

  const activeRoutes = () => stack.lineage.db.selectFrom('deployments').select(['version_id', 'mode', 'traffic_percent']).where('model_name', '=', MODEL).where('ended_at', 'is', null).execute();

  beforeAll(async () => {
    stack = await startRolloutStack();
    env = { DATABASE_URL: stack.database.url, TEMPORAL_ADDRESS: stack.temporal.server.address, TEMPORAL_NAMESPACE: 'default' };
    await seedChampion(stack.lineage.db, stack.store, MODEL, 'fair');
    for (let v = 2; v <= 4; v++) await registerVersion(stack.lineage.db, stack.store, MODEL, `v${v}`, 'good');
    // Champions v1 → v2 → v3 through real rollouts (no phases: a plain promotion).
    for (const candidate of ['rb@v2', 'rb@v3']) {
      const handle = await startRollout(stack.temporal.client, { model: MODEL, candidateVersionId: candidate, rollout: { checkInterval: '0.25s', phases: [] }, taskQueue: ROLLOUT_TEST_QUEUE });
      const result = await handle.result();
      expect(result.outcome, result.reason).toBe('promoted');
    }
    expect(await servedVersion('rb@v3')).toBe('rb@v3');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('`flywheel rollout rollback <model> --reason … --json` puts the previous champion back', async () => {
    const before = new Date();
    const answer = await cliJson(['rollout', 'rollback', MODEL, '--reason', 'incident 7: conversion dropped']);
    expect(answer).toMatchObject({ model: MODEL, from: 'rb@v3', to: 'rb@v2', revision: expect.any(Number) });

    expect(await activeRoutes()).toEqual([{ version_id: 'rb@v2', mode: 'champion', traffic_percent: expect.anything() }]);
    expect(Number((await activeRoutes())[0].traffic_percent)).toBe(100);
    expect(await servedVersion('rb@v2')).toBe('rb@v2');

    const { db } = stack.lineage;
    // Deployment history: a new champion row for v2 whose reason carries the operator's words,
    // and v3's champion row ended by the same rollback.
    const restored = await db.selectFrom('deployments').selectAll().where('version_id', '=', 'rb@v2').where('ended_at', 'is', null).executeTakeFirstOrThrow();
    expect(restored.reason).toBe('rollback to previous champion rb@v2: incident 7: conversion dropped');
    expect(new Date(restored.started_at).getTime()).toBeGreaterThanOrEqual(before.getTime() - 1_000);
    const ended = await db.selectFrom('deployments').selectAll().where('version_id', '=', 'rb@v3').where('mode', '=', 'champion').executeTakeFirstOrThrow();
    expect(ended.ended_at).not.toBeNull();
    expect(ended.end_reason).toMatch(/incident 7: conversion dropped/);
    const change = await db.selectFrom('routing_changes').selectAll().where('model_name', '=', MODEL).where('kind', '=', 'rollback_champion').executeTakeFirstOrThrow();
    expect(change.reason).toMatch(/incident 7: conversion dropped/);
    expect(change.detail).toMatchObject({ from: 'rb@v3', to: 'rb@v2' });
    const statuses = Object.fromEntries((await db.selectFrom('model_versions').select(['id', 'status']).where('model_name', '=', MODEL).execute()).map((r) => [r.id, r.status]));
    expect(statuses).toMatchObject({ 'rb@v3': 'rolled_back', 'rb@v2': 'champion' });

    // The routing history the CLI shows lists the rollback too.
    const history = (await cliJson(['rollout', 'history', MODEL])) as Array<{ versionId: string; mode: string; reason: string; endedAt: string | null }>;
    expect(history.at(-1)).toMatchObject({ versionId: 'rb@v2', mode: 'champion', reason: expect.stringMatching(/incident 7/), endedAt: null });
  });

  it('FlywheelClient.rollback puts the champion before that back', async () => {
    const client = await FlywheelClient.connect({ temporalAddress: stack.temporal.server.address, namespace: 'default', databaseUrl: stack.database.url });
    try {
      const result = await client.rollback(MODEL, 'incident 8: latency');
      expect(result).toMatchObject({ model: MODEL, from: 'rb@v2', to: 'rb@v1', revision: expect.any(Number) });
      expect((await client.champion(MODEL))?.id).toBe('rb@v1');
      const whoServes = await client.whoServed(MODEL, 'any-unit', new Date());
      expect(whoServes.routed).toMatchObject({ versionId: 'rb@v1', mode: 'champion' });
    } finally {
      await client.close();
    }
    expect((await activeRoutes()).map((r) => [r.version_id, r.mode])).toEqual([['rb@v1', 'champion']]);
    expect(await servedVersion('rb@v1')).toBe('rb@v1');
    const rows = await stack.lineage.db.selectFrom('routing_changes').select(['reason', 'detail']).where('model_name', '=', MODEL).where('kind', '=', 'rollback_champion').orderBy('id').execute();
    expect(rows).toHaveLength(2);
    expect(rows[1].reason).toBe('rollback to previous champion rb@v1: incident 8: latency');
    expect(rows[1].detail).toMatchObject({ from: 'rb@v2', to: 'rb@v1' });
  });

  it('refuses a rollback without a reason, with nothing to roll back to, or for an unknown model, changing nothing', async () => {
    const routesBefore = await activeRoutes();
    const noReason = await runCli(['rollout', 'rollback', MODEL, '--json'], env);
    expect(noReason.code).not.toBe(0);
    expect(noReason.stderr).toMatch(/rollback needs --reason/);
    // v2 and v3 are rolled back now, so v1 has no eligible predecessor.
    const nothing = await runCli(['rollout', 'rollback', MODEL, '--reason', 'again', '--json'], env);
    expect(nothing.code).not.toBe(0);
    expect(nothing.stderr).toMatch(/rb@v1 is the only champion it has had/);
    const unknown = await runCli(['rollout', 'rollback', 'nope', '--reason', 'x', '--json'], env);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/nope/);
    expect(await activeRoutes()).toEqual(routesBefore);
  });

  it('`rollout status --json` reports a running canary and `rollout abort --json` ends it on the champion', async () => {
    const handle = await startRollout(stack.temporal.client, { model: MODEL, candidateVersionId: 'rb@v4', rollout: slowCanary, taskQueue: ROLLOUT_TEST_QUEUE });
    let done = false;
    const outcome = handle.result().finally(() => (done = true));
    const traffic = runPredictTraffic({ url: stack.server.url, model: MODEL, clients: 2, requests: 50_000, units: 2_000, pauseMs: 1, seed: 3, stop: () => done });
    try {
      const deadline = Date.now() + 20_000;
      while ((await getRolloutState(rolloutHandle(stack.temporal.client, MODEL, 'rb@v4'))).position?.trafficPercent !== 10) {
        if (Date.now() > deadline) throw new Error('the canary never reached its 10% step');
        await new Promise((r) => setTimeout(r, 100));
      }
      const status = await cliJson(['rollout', 'status', MODEL, 'rb@v4']);
      expect(status).toMatchObject({ status: 'running', candidate: 'rb@v4', champion: 'rb@v1', position: { kind: 'canary', step: 0, trafficPercent: 10 } });
      const human = await runCli(['rollout', 'status', MODEL, 'rb@v4'], env);
      expect(human.code).toBe(0);
      expect(userLines(human.stdout).join('\n')).toMatch(/^rb@v4 vs champion rb@v1: running, canary 10% for \d+ s/);

      const noReason = await runCli(['rollout', 'abort', MODEL, 'rb@v4', '--json'], env);
      expect(noReason.code).not.toBe(0);
      expect(noReason.stderr).toMatch(/abort needs --reason/);

      const aborted = await cliJson(['rollout', 'abort', MODEL, 'rb@v4', '--reason', 'customer complaint']);
      expect(aborted).toMatchObject({ candidate: 'rb@v4', champion: 'rb@v1' });
    } catch (error) {
      // Do not leave the rollout (and the traffic loop) running on a failed assertion.
      await handle.terminate('test failed').catch(() => undefined);
      done = true;
      throw error;
    }
    const result = await outcome;
    const stats = await traffic;
    expect(result.outcome).toBe('aborted');
    expect(result.reason).toBe('aborted by an operator: customer complaint');
    expect(stats.failures).toEqual([]);
    expect(stats.versions['rb@v4']).toBeGreaterThan(0);
    expect((await activeRoutes()).map((r) => [r.version_id, r.mode])).toEqual([['rb@v1', 'champion']]);
    const { db } = stack.lineage;
    expect((await db.selectFrom('model_versions').select('status').where('id', '=', 'rb@v4').executeTakeFirstOrThrow()).status).toBe('rolled_back');
    const canaryRow = await db.selectFrom('deployments').select(['ended_at', 'end_reason']).where('version_id', '=', 'rb@v4').executeTakeFirstOrThrow();
    expect(canaryRow.ended_at).not.toBeNull();
    expect(canaryRow.end_reason).toMatch(/customer complaint/);
    expect(await servedVersion('rb@v1')).toBe('rb@v1');
  });
});
