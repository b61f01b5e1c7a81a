// Operators steering rollouts on the real stack: query the state, pause (the step holds), resume,
// approve (the step advances at once), abort (everything back on the champion); a manual approval
// gate; cancellation cleans up; continue-as-new on long rollouts keeps progress; bad requests fail
// fast with the field named; rolling the champion back to the previous one at any time; and a
// champion change made outside a running canary (a champion rollback, the retrain DAG's direct
// promotion) supersedes the rollout, leaving only the new champion on the routes.
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerActivities } from '../../activities/register';
import { readRoutingAt, rollbackToPreviousChampion, routingHistory, RoutingError, whoServed } from '../../lineage/routing';
import { abortRollout, approveRollout, getRolloutState, pauseRollout, resumeRollout, startRollout, type RolloutHandle } from '../../serving/rollout-control';
import type { RolloutState } from '../../workflows/rollout';
import { ROLLOUT_TEST_QUEUE, rolloutUnderTraffic, startRolloutStack, type RolloutStack } from '../support/rollout-stack';
import { createAgent, postJson, registerVersion, runPredictTraffic, seedChampion, type PredictResponseBody, type TrafficStats } from '../support/traffic';

const guardrails = { minLabelled: 50, minRequests: 30, minPredictions: 50, latencySlackMs: 50, maxPredictionPsi: 5 };
const slowCanary = { checkInterval: '0.25s', labelEvent: 'click', labelWindow: '0.5s', phases: [{ kind: 'canary', steps: [10, 50, 100], stepDuration: '60s', maxStepDuration: '120s', minLabelledPerStep: 10, guardrails }] };
const FEATURES = { ad_relevance: 0.1, user_ctr_7d: 0.2, position: -0.3, hour_sin: 0.4 };

/** An update refused by its validator fails with "Workflow Update failed"; the reason is its cause. */
function refusedWith(pattern: RegExp) {
  return { cause: { message: expect.stringMatching(pattern) } };
}

async function until(handle: RolloutHandle, check: (s: RolloutState) => boolean, timeoutMs = 20_000): Promise<RolloutState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await getRolloutState(handle);
    if (check(state)) return state;
    if (Date.now() > deadline) throw new Error(`rollout state never matched; last: ${JSON.stringify({ status: state.status, position: state.position, lastCheck: state.lastCheck?.reason })}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('operating rollouts', () => {
  let stack: RolloutStack;

  beforeAll(async () => {
    stack = await startRolloutStack();
    await seedChampion(stack.lineage.db, stack.store, 'ops', 'fair');
    for (let v = 2; v <= 7; v++) await registerVersion(stack.lineage.db, stack.store, 'ops', `v${v}`, 'good');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('pause holds the step, approve advances it, abort puts all traffic back on the champion', async () => {
    const run = await rolloutUnderTraffic(stack, { model: 'ops', candidate: 'ops@v2', rollout: slowCanary }, { kind: 'predict' }, async (handle) => {
      const first = await until(handle, (s) => s.position?.trafficPercent === 10 && s.checks >= 2);
      expect(first).toMatchObject({ status: 'running', candidate: 'ops@v2', champion: 'ops@v1', position: { kind: 'canary', step: 0 } });
      expect(first.lastCheck?.checks.map((c) => c.name)).toEqual(['metric', 'error_rate', 'latency_p99', 'prediction_shift']);

      const paused = await pauseRollout(handle, 'looking at a dashboard');
      expect(paused).toMatchObject({ status: 'paused', paused: true, reason: 'looking at a dashboard' });
      await expect(approveRollout(handle)).rejects.toMatchObject(refusedWith(/paused: resume it before approving/));
      await expect(pauseRollout(handle)).rejects.toMatchObject(refusedWith(/already paused/));
      const checksBefore = (await getRolloutState(handle)).checks;
      await new Promise((r) => setTimeout(r, 1_000));
      const held = await getRolloutState(handle);
      // Guardrails keep running while paused; the step does not move.
      expect(held.checks).toBeGreaterThan(checksBefore);
      expect(held.position?.step).toBe(0);

      expect((await resumeRollout(handle)).status).toBe('running');
      await expect(resumeRollout(handle)).rejects.toMatchObject(refusedWith(/not paused/));
      await approveRollout(handle, 'looks fine');
      const advanced = await until(handle, (s) => s.position?.trafficPercent === 50);
      expect(advanced.history[0]).toMatchObject({ trafficPercent: 10, result: 'approved' });

      await abortRollout(handle, 'customer complaint');
    });
    expect(run.result.outcome).toBe('aborted');
    expect(run.result.reason).toBe('aborted by an operator: customer complaint');
    expect((run.traffic as TrafficStats).failures).toEqual([]);
    const { db } = stack.lineage;
    const active = await db.selectFrom('deployments').select(['version_id', 'mode']).where('model_name', '=', 'ops').where('ended_at', 'is', null).execute();
    expect(active).toEqual([{ version_id: 'ops@v1', mode: 'champion' }]);
    expect((await db.selectFrom('model_versions').select('status').where('id', '=', 'ops@v2').executeTakeFirstOrThrow()).status).toBe('rolled_back');
    await expect(abortRollout(run.handle, 'again')).rejects.toThrow();
    await expect(abortRollout(run.handle, '  ')).rejects.toThrow();
  });

  it('under manual approval, a passed last step keeps being watched until an operator approves', async () => {
    const rollout = { ...slowCanary, approval: 'manual', approvalTimeout: '60s', phases: [{ kind: 'canary', steps: [100], stepDuration: '1s', maxStepDuration: '60s', minLabelledPerStep: 10, guardrails }] };
    const run = await rolloutUnderTraffic(stack, { model: 'ops', candidate: 'ops@v3', rollout }, { kind: 'predict', seed: 4 }, async (handle) => {
      const waiting = await until(handle, (s) => s.status === 'awaiting_approval');
      await new Promise((r) => setTimeout(r, 2_500));
      const still = await getRolloutState(handle);
      expect(still.status).toBe('awaiting_approval');
      // Guardrails keep running while it waits.
      expect(still.checks).toBeGreaterThan(waiting.checks);
      await approveRollout(handle, 'ship it');
    });
    expect(run.result.outcome, run.result.reason).toBe('promoted');
    expect(run.result.history.map((h) => [h.trafficPercent, h.result])).toEqual([[100, 'approved']]);
    expect((run.traffic as TrafficStats).failures).toEqual([]);
  });

  it('with no phases, manual approval is a plain gate', async () => {
    const handle = await startRollout(stack.temporal.client, { model: 'ops', candidateVersionId: 'ops@v7', rollout: { checkInterval: '0.25s', approval: 'manual', approvalTimeout: '60s', phases: [] }, taskQueue: ROLLOUT_TEST_QUEUE });
    await until(handle, (s) => s.status === 'awaiting_approval');
    await approveRollout(handle, 'ship it');
    const result = await handle.result();
    expect(result.outcome).toBe('promoted');
    expect(result.champion).toBe('ops@v7');
  });

  it('a cancelled rollout takes the candidate off every route', async () => {
    const handle = await startRollout(stack.temporal.client, { model: 'ops', candidateVersionId: 'ops@v4', rollout: slowCanary, taskQueue: ROLLOUT_TEST_QUEUE });
    await until(handle, (s) => s.position?.trafficPercent === 10);
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
    const { db } = stack.lineage;
    const rows = await db.selectFrom('deployments').select(['mode', 'ended_at', 'end_reason']).where('version_id', '=', 'ops@v4').execute();
    expect(rows).toHaveLength(1);
    expect(rows[0].ended_at).not.toBeNull();
    expect(rows[0].end_reason).toMatch(/the rollout was cancelled/);
    expect((await db.selectFrom('rollouts').select(['status', 'reason']).where('candidate_version_id', '=', 'ops@v4').executeTakeFirstOrThrow()).status).toBe('failed');
  });

  it('continues as new on long rollouts without losing its place', async () => {
    const rollout = { checkInterval: '0.2s', labelEvent: 'click', labelWindow: '0.5s', phases: [{ kind: 'canary', steps: [20, 100], stepDuration: '4s', maxStepDuration: '60s', minLabelledPerStep: 10, guardrails }] };
    // A budget of 2 looks per run forces several continue-as-new hand-overs, mid-step included.
    // (The dev server fires timers about once a second, so each step takes about 4 looks.)
    const input = { modelName: 'ops', candidateVersionId: 'ops@v6', rollout, maxChecksPerRun: 2 };
    const h2 = await stack.temporal.client.workflow.start('rolloutWorkflow', { taskQueue: ROLLOUT_TEST_QUEUE, workflowId: 'rollout/ops/ops@v6', args: [input] });
    let done = false;
    const traffic = runPredictTraffic({ url: stack.server.url, model: 'ops', clients: 2, requests: 50_000, units: 2_000, pauseMs: 1, stop: () => done });
    const result = await h2.result().finally(() => (done = true));
    await traffic;
    expect(result.outcome, result.reason).toBe('promoted');
    expect(result.history.map((h: { trafficPercent: number; result: string }) => [h.trafficPercent, h.result])).toEqual([
      [20, 'passed'],
      [100, 'passed'],
    ]);
    // Visibility is eventually consistent: poll until the runs of the chain are listed.
    const runs: string[] = [];
    for (let attempt = 0; attempt < 50 && runs.length < 3; attempt++) {
      runs.length = 0;
      for await (const wf of stack.temporal.client.workflow.list({ query: `WorkflowId = "rollout/ops/ops@v6"` })) runs.push(wf.runId);
      if (runs.length < 3) await new Promise((r) => setTimeout(r, 200));
    }
    expect(runs.length).toBeGreaterThanOrEqual(3);
  });

  it('refuses bad rollouts at once, naming the problem', async () => {
    // The workflow fails with the activity's non-retryable failure; its innermost cause has the words.
    const failure = (candidate: string, rollout: unknown) =>
      startRollout(stack.temporal.client, { model: 'ops', candidateVersionId: candidate, rollout, taskQueue: ROLLOUT_TEST_QUEUE })
        .then((h) => h.result())
        .then(
          () => 'no failure',
          (error: unknown) => {
            expect(error).toBeInstanceOf(WorkflowFailedError);
            let current = error as { message: string; cause?: unknown };
            while (current.cause) current = current.cause as { message: string; cause?: unknown };
            return current.message;
          },
        );
    expect(await failure('ops@v5', { phases: [{ kind: 'canary', steps: [50, 10] }] })).toMatch(/rollout\.phases\[0\]\.steps\[1\]: canary steps must increase: 10 follows 50/);
    expect(await failure('ops@v99', {})).toMatch(/version "ops@v99" does not exist for model "ops"/);
    expect(await failure('ops@v6', {})).toMatch(/ops@v6 is champion, not a candidate/);
  });

  it('rolls the champion back to the previous one at any time', async () => {
    const { db } = stack.lineage;
    // Champions so far: v1, v3 (manual approval), v7 (plain gate), v6 (continue-as-new).
    const result = await rollbackToPreviousChampion(db, 'ops', 'incident 42: conversion dropped');
    expect(result).toMatchObject({ model: 'ops', from: 'ops@v6', to: 'ops@v7' });
    const statuses = Object.fromEntries((await db.selectFrom('model_versions').select(['id', 'status']).where('model_name', '=', 'ops').execute()).map((r) => [r.id, r.status]));
    expect(statuses).toMatchObject({ 'ops@v6': 'rolled_back', 'ops@v7': 'champion' });
    expect(await rollbackToPreviousChampion(db, 'ops', 'incident 43')).toMatchObject({ from: 'ops@v7', to: 'ops@v3' });
    expect(await rollbackToPreviousChampion(db, 'ops', 'incident 44')).toMatchObject({ from: 'ops@v3', to: 'ops@v1' });
    await expect(rollbackToPreviousChampion(db, 'ops', 'incident 45')).rejects.toThrow(/ops@v1 is the only champion it has had/);
    await expect(rollbackToPreviousChampion(db, 'nope', 'x')).rejects.toBeInstanceOf(RoutingError);
    await new Promise((r) => setTimeout(r, 300));
    const agent = createAgent();
    const res = await postJson<PredictResponseBody>(agent, stack.server.url, '/predict', { model: 'ops', unitId: 'x', features: FEATURES });
    agent.destroy();
    expect(res.body.version).toBe('ops@v1');
  });

  it('a champion change during a canary (direct promotion, champion rollback) supersedes the rollout', async () => {
    const { db } = stack.lineage;
    for (const v of ['v8', 'v9', 'v10']) await registerVersion(db, stack.store, 'ops', v, 'good');
    const activeRoutes = () => db.selectFrom('deployments').select(['version_id', 'mode']).where('model_name', '=', 'ops').where('ended_at', 'is', null).orderBy('id').execute();
    /** Polls the server until every unit gets `version` as champion (it follows the table by NOTIFY). */
    const servedBy = async (version: string) => {
      const agent = createAgent();
      try {
        for (const deadline = Date.now() + 10_000; ; ) {
          const versions = new Set<string>();
          for (let u = 0; u < 60; u++) {
            const res = await postJson<PredictResponseBody>(agent, stack.server.url, '/predict', { model: 'ops', unitId: `u${u}`, features: FEATURES });
            versions.add(`${res.status} ${res.body.version} ${res.body.mode}`);
          }
          if (versions.size === 1 && versions.has(`200 ${version} champion`)) return;
          if (Date.now() > deadline) throw new Error(`the server still serves ${[...versions].join(', ')}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      } finally {
        agent.destroy();
      }
    };
    // The champion is ops@v1 again (the test above rolled back to it).
    expect(await activeRoutes()).toEqual([{ version_id: 'ops@v1', mode: 'champion' }]);

    // 1. The retrain DAG promotes ops@v9 directly while ops@v8's canary runs against ops@v1.
    const run9 = (await db.selectFrom('model_versions').select('pipeline_run_id').where('id', '=', 'ops@v9').executeTakeFirstOrThrow()).pipeline_run_id;
    let duringCanary = new Date(0);
    const first = await rolloutUnderTraffic(stack, { model: 'ops', candidate: 'ops@v8', rollout: slowCanary }, { kind: 'predict', seed: 8 }, async (handle) => {
      await until(handle, (s) => s.position?.trafficPercent === 10 && s.checks >= 1);
      duringCanary = new Date();
      await registerActivities({ db, store: stack.store }).promoteToChampion({ pipelineRunId: run9, modelName: 'ops', versionId: 'ops@v9', reason: 'retrain without a rollout section' });
    });
    expect(first.result.outcome, first.result.reason).toBe('superseded');
    expect(first.result.reason).toMatch(/the candidate's routes were ended outside this rollout .* during canary step 10%/);
    expect(first.result.history.map((h) => [h.trafficPercent, h.result])).toEqual([[10, 'aborted']]);
    expect((first.traffic as TrafficStats).failures).toEqual([]);
    expect(await activeRoutes()).toEqual([{ version_id: 'ops@v9', mode: 'champion' }]);
    const canary8 = (await routingHistory(db, 'ops')).filter((h) => h.versionId === 'ops@v8');
    expect(canary8.map((h) => [h.mode, h.trafficPercent, h.endedAt !== null])).toEqual([['canary', 10, true]]);
    expect(canary8[0].endReason).toMatch(new RegExp(`^retrain ${run9} promoted ops@v9 over ops@v1`));
    expect(await db.selectFrom('rollouts').select(['status', 'phase']).where('candidate_version_id', '=', 'ops@v8').executeTakeFirstOrThrow()).toMatchObject({ status: 'superseded', phase: 'canary:10%' });
    // Superseded, not judged: the candidate keeps its status (it may be rolled out again against the new champion).
    const statuses = async () => Object.fromEntries((await db.selectFrom('model_versions').select(['id', 'status']).where('id', 'in', ['ops@v1', 'ops@v8', 'ops@v9', 'ops@v10']).execute()).map((r) => [r.id, r.status]));
    expect(await statuses()).toEqual({ 'ops@v1': 'retired', 'ops@v8': 'candidate', 'ops@v9': 'champion', 'ops@v10': 'candidate' });
    // Who served: canary units got ops@v8 during the canary, everyone gets ops@v9 now.
    const units = await Promise.all(Array.from({ length: 100 }, (_, u) => whoServed(db, 'ops', `u${u}`, duringCanary)));
    expect(new Set(units.map((a) => a.routed?.versionId))).toEqual(new Set(['ops@v1', 'ops@v8']));
    expect(units.filter((a) => a.routed?.mode === 'canary').every((a) => a.routed?.versionId === 'ops@v8')).toBe(true);
    expect(await readRoutingAt(db, 'ops', new Date())).toMatchObject({ champion: { versionId: 'ops@v9' }, canary: null, shadows: [], ab: null });
    await servedBy('ops@v9');

    // 2. An operator rolls the champion back while ops@v10's canary runs against ops@v9.
    const second = await rolloutUnderTraffic(stack, { model: 'ops', candidate: 'ops@v10', rollout: slowCanary }, { kind: 'predict', seed: 10 }, async (handle) => {
      await until(handle, (s) => s.position?.trafficPercent === 10 && s.checks >= 1);
      expect(await rollbackToPreviousChampion(db, 'ops', 'incident 46: checkout errors')).toMatchObject({ from: 'ops@v9', to: 'ops@v1' });
    });
    expect(second.result.outcome, second.result.reason).toBe('superseded');
    expect((second.traffic as TrafficStats).failures).toEqual([]);
    expect(await activeRoutes()).toEqual([{ version_id: 'ops@v1', mode: 'champion' }]);
    const canary10 = (await routingHistory(db, 'ops')).filter((h) => h.versionId === 'ops@v10');
    expect(canary10).toHaveLength(1);
    expect(canary10[0]).toMatchObject({ mode: 'canary', endReason: 'rollback to previous champion ops@v1: incident 46: checkout errors' });
    expect((await db.selectFrom('rollouts').select('status').where('candidate_version_id', '=', 'ops@v10').executeTakeFirstOrThrow()).status).toBe('superseded');
    expect(await statuses()).toEqual({ 'ops@v1': 'champion', 'ops@v8': 'candidate', 'ops@v9': 'rolled_back', 'ops@v10': 'candidate' });
    // The superseded rollouts wrote no rollback of their own: their routes were ended by the change that replaced the champion.
    const changes = await db.selectFrom('routing_changes').select(['kind', 'rollout_id']).where('model_name', '=', 'ops').where('kind', '=', 'rollback').execute();
    expect(changes.filter((c) => c.rollout_id?.includes('ops@v8') || c.rollout_id?.includes('ops@v10'))).toEqual([]);
    await servedBy('ops@v1');
  });
});
