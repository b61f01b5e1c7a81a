// Staged rollout end to end on the real stack (Temporal dev server, PostgreSQL, the prediction
// server, and the drifting-data simulator (scenarios/simulator.ts, its CTR task) as traffic: its
// requests' features and its own click draws): a better candidate goes shadow → canary
// 10/50/100% → champion; a broken one is rolled back automatically during its first canary step,
// with all traffic back on the champion, the reason recorded, and no user request failing. The
// other guardrails act end to end too: a candidate whose ONNX graph fails on every request is rolled
// back by the error-rate guardrail within the first look or two, its failures bounded to that step.
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeOnnxModel, OnnxGraphBuilder, TensorDataType } from '../../ml/onnx';
import { routingHistory, whoServed } from '../../lineage/routing';
import { startRollout } from '../../serving/rollout-control';
import { createAgent, postJson, registerVersion, runPredictTraffic, seedSimulatorChampion, SIMULATOR_SERVED_FEATURES, SIMULATOR_WEIGHTS, type PredictResponseBody, type TrafficStats } from '../support/traffic';
import { ROLLOUT_TEST_QUEUE, startRolloutStack, type RolloutStack } from '../support/rollout-stack';

// Seconds instead of minutes; guardrail minimums scaled to a few hundred requests. The prediction
// PSI limit is loosened: the better candidate is sharper than the champion (PSI about 0.2 at 10 bins).
const canary = {
  kind: 'canary',
  steps: [10, 50, 100],
  stepDuration: '1s',
  maxStepDuration: '45s',
  minLabelledPerStep: 150,
  guardrails: { metric: 'log_loss', minLabelled: 150, minRequests: 50, minPredictions: 80, latencySlackMs: 50, maxPredictionPsi: 1 },
};
const FAST = {
  checkInterval: '0.3s',
  labelEvent: 'click',
  labelWindow: '0.5s',
  phases: [{ kind: 'shadow', minDuration: '1s', maxDuration: '45s', minLabelled: 300, maxPredictionPsi: 1 }, canary],
};

const FEATURES = { ad_relevance: 0.1, user_ctr_7d: 0.2, position: 3, hour_sin: 0.4 };

/**
 * A candidate that loads and validates like any other (same inputs, Flywheel's feature metadata) but
 * whose graph fails at run time on every request: it reshapes the [N, 4] features to [3, -1].
 */
function failingOnnx(): Uint8Array {
  const graph = new OnnxGraphBuilder('flywheel_broken_candidate');
  const features = graph.input('features', TensorDataType.FLOAT, ['N', SIMULATOR_SERVED_FEATURES.length]);
  const shape = graph.int64Initializer('impossible_shape', [2], [3, -1]);
  graph.node('Sigmoid', [graph.node('Reshape', [features, shape], ['reshaped'])], ['probability']);
  graph.output('probability', TensorDataType.FLOAT, ['N', 1]);
  return encodeOnnxModel(graph.build(), {
    irVersion: 7,
    opsetVersion: 13,
    producerName: 'flywheel-test',
    producerVersion: '0',
    metadata: { 'flywheel.model_kind': 'logistic_regression', 'flywheel.feature_names': JSON.stringify(SIMULATOR_SERVED_FEATURES) },
  });
}

/** Starts the rollout and replays the simulator's CTR users on the server (bounded) until it ends. */
async function rolloutUnderSimulator(stack: RolloutStack, candidate: string, rollout: unknown, seed: number) {
  const started = Date.now();
  const handle = await startRollout(stack.temporal.client, { model: 'ctr', candidateVersionId: candidate, rollout, taskQueue: ROLLOUT_TEST_QUEUE });
  let done = false;
  const outcome = handle.result().finally(() => (done = true));
  const load = runPredictTraffic({ url: stack.server.url, model: 'ctr', clients: 2, requests: 60_000, units: 3_000, seed, pauseMs: 1, stop: () => done, source: 'simulator' });
  const [result, traffic] = await Promise.all([outcome, load]);
  return { handle, result, traffic: traffic as TrafficStats, wallMs: Date.now() - started };
}

describe('staged rollout: shadow → canary → champion, and automatic rollback', () => {
  let stack: RolloutStack;

  beforeAll(async () => {
    stack = await startRolloutStack();
    // Versions of known quality in the simulator's world (log loss on its CTR task: good 0.33,
    // fair 0.36, bad 0.86; see SIMULATOR_WEIGHTS).
    await seedSimulatorChampion(stack.lineage.db, stack.store, 'ctr', 'fair');
    await registerVersion(stack.lineage.db, stack.store, 'ctr', 'v2', SIMULATOR_WEIGHTS.good);
    await registerVersion(stack.lineage.db, stack.store, 'ctr', 'v3', SIMULATOR_WEIGHTS.bad);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('promotes a better candidate through shadow and every canary step', async () => {
    const run = await rolloutUnderSimulator(stack, 'ctr@v2', FAST, 5);
    const traffic = run.traffic;
    expect(run.result.outcome, run.result.reason).toBe('promoted');
    expect(run.result.champion).toBe('ctr@v2');
    expect(run.result.history.map((h) => [h.kind, h.trafficPercent, h.result])).toEqual([
      ['shadow', 100, 'passed'],
      ['canary', 10, 'passed'],
      ['canary', 50, 'passed'],
      ['canary', 100, 'passed'],
    ]);
    expect(traffic.failures).toEqual([]);
    expect(traffic.modes.canary).toBeGreaterThan(0);
    // The traffic was the simulator's: its click rate (about 16% on these features) and its
    // features as logged (position is a slot 1..5; no feature outside the simulator's).
    expect(traffic.feedbackSent / traffic.sent).toBeGreaterThan(0.1);
    expect(traffic.feedbackSent / traffic.sent).toBeLessThan(0.25);

    const { db } = stack.lineage;
    const logged = await db.selectFrom('prediction_log').select('features').where('model_name', '=', 'ctr').where('version_id', '=', 'ctr@v2').limit(500).execute();
    expect(logged.length).toBeGreaterThan(100);
    for (const row of logged) {
      expect(Object.keys(row.features).sort()).toEqual([...SIMULATOR_SERVED_FEATURES].sort());
      expect([1, 2, 3, 4, 5]).toContain(row.features.position);
    }
    const versions = await db.selectFrom('model_versions').select(['id', 'status']).where('model_name', '=', 'ctr').orderBy('id').execute();
    expect(versions).toEqual([
      { id: 'ctr@v1', status: 'retired' },
      { id: 'ctr@v2', status: 'champion' },
      { id: 'ctr@v3', status: 'candidate' },
    ]);
    const routes = await routingHistory(db, 'ctr');
    const rollout = routes.filter((h) => h.rolloutId);
    expect(rollout.map((h) => [h.mode, h.trafficPercent, h.endedAt !== null])).toEqual([
      ['shadow', 100, true],
      ['canary', 10, true],
      ['canary', 50, true],
      ['canary', 100, true],
      ['champion', 100, false],
    ]);
    expect(routes.find((h) => h.versionId === 'ctr@v1' && h.mode === 'champion')?.endReason).toMatch(/^rollout rollout\/ctr\/ctr@v2#.*: passed 4 rollout step/);
    const record = await db.selectFrom('rollouts').selectAll().where('candidate_version_id', '=', 'ctr@v2').executeTakeFirstOrThrow();
    expect(record).toMatchObject({ status: 'promoted', champion_version_id: 'ctr@v1', model_name: 'ctr' });

    // The servers follow: every new request goes to the new champion.
    await new Promise((r) => setTimeout(r, 300));
    const agent = createAgent();
    const res = await postJson<PredictResponseBody>(agent, stack.server.url, '/predict', { model: 'ctr', unitId: 'after', features: FEATURES });
    agent.destroy();
    expect(res.body).toMatchObject({ version: 'ctr@v2', mode: 'champion' });

    // "Which version served unit X at time t" for a time inside the 10% canary step.
    const step10 = rollout.find((h) => h.mode === 'canary' && h.trafficPercent === 10)!;
    const during = new Date((Date.parse(step10.startedAt) + Date.parse(step10.endedAt!)) / 2);
    const answers = await Promise.all(Array.from({ length: 200 }, (_, u) => whoServed(db, 'ctr', `u${u}`, during)));
    const canaryUnits = answers.filter((a) => a.routed?.mode === 'canary');
    expect(canaryUnits.length).toBeGreaterThan(5);
    expect(canaryUnits.length).toBeLessThan(45);
    expect(canaryUnits.every((a) => a.routed?.versionId === 'ctr@v2')).toBe(true);
    // The recorded history replays against the current workflow code (determinism guard).
    const history = await run.handle.fetchHistory();
    await Worker.runReplayHistory({ workflowsPath: path.join(__dirname, '..', '..', 'workflows', 'rollout.ts') }, history, run.handle.workflowId);
    // Its Event History reads as the rollout's steps: every scheduled activity carries a summary
    // (user metadata). Repeated checks of one step collapse to one line here.
    const summaries = (history.events ?? [])
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => (e.userMetadata?.summary ? defaultPayloadConverter.fromPayload<string>(e.userMetadata.summary) : `(none: ${e.activityTaskScheduledEventAttributes!.activityType!.name})`));
    expect(summaries.filter((line, i) => line !== summaries[i - 1])).toEqual([
      'plan the staged rollout of ctr@v2',
      'shadow ctr@v2 beside ctr@v1',
      "check shadow: ctr@v2's predictions vs ctr@v1's",
      "end the shadow's routes",
      'route 10% of traffic to ctr@v2 (canary)',
      'check canary step 10%: guardrails ctr@v2 vs ctr@v1',
      'route 50% of traffic to ctr@v2 (canary)',
      'check canary step 50%: guardrails ctr@v2 vs ctr@v1',
      'route 100% of traffic to ctr@v2 (canary)',
      'check canary step 100%: guardrails ctr@v2 vs ctr@v1',
      'promote ctr@v2 to champion',
      'record the rollout as promoted',
    ]);
    console.log(`good candidate: promoted in ${run.wallMs} ms; ${traffic.sent} requests, ${traffic.feedbackSent} clicks; ${run.result.history.map((h) => `${h.kind}${h.trafficPercent}%: ${h.summary.slice(0, 140)}`).join(' | ')}`);
  });

  it('rolls a broken candidate back during the canary: all traffic on the champion, the reason recorded', async () => {
    const run = await rolloutUnderSimulator(stack, 'ctr@v3', { ...FAST, phases: [canary] }, 9);
    const traffic = run.traffic;
    expect(run.result.outcome).toBe('rolled_back');
    expect(run.result.reason).toMatch(/^canary guardrail breached at 10%: log_loss candidate [\d.]+ vs champion [\d.]+ \(worse by [\d.]+, always-valid p=/);
    expect(run.result.champion).toBe('ctr@v2');
    expect(traffic.failures).toEqual([]);
    expect(traffic.versions['ctr@v3']).toBeGreaterThan(0);

    const { db } = stack.lineage;
    expect((await db.selectFrom('model_versions').select('status').where('id', '=', 'ctr@v3').executeTakeFirstOrThrow()).status).toBe('rolled_back');
    const active = await db.selectFrom('deployments').select(['version_id', 'mode']).where('model_name', '=', 'ctr').where('ended_at', 'is', null).execute();
    expect(active).toEqual([{ version_id: 'ctr@v2', mode: 'champion' }]);
    const canaryRow = await db.selectFrom('deployments').selectAll().where('version_id', '=', 'ctr@v3').executeTakeFirstOrThrow();
    expect(canaryRow.end_reason).toMatch(/canary guardrail breached at 10%: log_loss/);
    const change = await db.selectFrom('routing_changes').selectAll().where('kind', '=', 'rollback').executeTakeFirstOrThrow();
    expect(change.reason).toMatch(/canary guardrail breached/);
    expect((change.detail as { checks: Array<{ name: string; status: string }> }).checks.find((c) => c.name === 'metric')?.status).toBe('breach');
    expect((await db.selectFrom('rollouts').select('status').where('candidate_version_id', '=', 'ctr@v3').executeTakeFirstOrThrow()).status).toBe('rolled_back');

    // Units that were in the canary are back on the champion.
    await new Promise((r) => setTimeout(r, 300));
    const agent = createAgent();
    const served = new Set<string>();
    for (let u = 0; u < 100; u++) served.add((await postJson<PredictResponseBody>(agent, stack.server.url, '/predict', { model: 'ctr', unitId: `u${u}`, features: FEATURES })).body.version);
    agent.destroy();
    expect([...served]).toEqual(['ctr@v2']);
    console.log(`bad candidate: rolled back in ${run.wallMs} ms after ${traffic.versions['ctr@v3']} candidate requests: ${run.result.reason}`);
  });

  it('rolls back a candidate that fails requests on the error-rate guardrail, within the first step', async () => {
    await registerVersion(stack.lineage.db, stack.store, 'ctr', 'v4', SIMULATOR_WEIGHTS.good);
    const broken = await stack.store.put('models/ctr/v4/broken.onnx', failingOnnx());
    await stack.lineage.db.updateTable('model_versions').set({ artifact_uri: broken }).where('id', '=', 'ctr@v4').execute();
    const run = await rolloutUnderSimulator(stack, 'ctr@v4', { ...FAST, phases: [canary] }, 11);
    const traffic = run.traffic;
    expect(run.result.outcome, run.result.reason).toBe('rolled_back');
    // The reason names the guardrail that breached; no label was needed (the metric was never judged).
    expect(run.result.reason).toMatch(/^canary guardrail breached at 10%: error rate candidate 1 \((\d+)\/\1\) vs champion 0; limit 0\.01$/);
    expect(run.result.history.map((h) => [h.kind, h.trafficPercent, h.result])).toEqual([['canary', 10, 'failed']]);
    expect(run.result.champion).toBe('ctr@v2');
    // Only the canary's units saw failures, and only until the rollback: the champion's never failed.
    expect(traffic.versions['ctr@v4'] ?? 0).toBe(0);
    expect(traffic.statuses[500]).toBeGreaterThan(0);
    expect(traffic.statuses[500]).toBeLessThan(traffic.sent * 0.2);
    for (const failure of traffic.failures) {
      expect(failure).toMatchObject({ status: 500, body: { error: { code: 'inference_failed', message: expect.stringContaining('version ctr@v4 of "ctr" failed to score the request') } } });
    }

    const { db } = stack.lineage;
    expect((await db.selectFrom('model_versions').select('status').where('id', '=', 'ctr@v4').executeTakeFirstOrThrow()).status).toBe('rolled_back');
    const active = await db.selectFrom('deployments').select(['version_id', 'mode']).where('model_name', '=', 'ctr').where('ended_at', 'is', null).execute();
    expect(active).toEqual([{ version_id: 'ctr@v2', mode: 'champion' }]);
    const canaryRow = await db.selectFrom('deployments').selectAll().where('version_id', '=', 'ctr@v4').executeTakeFirstOrThrow();
    expect(canaryRow).toMatchObject({ mode: 'canary', traffic_percent: 10 });
    expect(canaryRow.end_reason).toMatch(/canary guardrail breached at 10%: error rate candidate 1 /);
    const record = await db.selectFrom('rollouts').selectAll().where('candidate_version_id', '=', 'ctr@v4').executeTakeFirstOrThrow();
    expect(record).toMatchObject({ status: 'rolled_back', phase: 'canary:10%' });
    const change = await db.selectFrom('routing_changes').selectAll().where('kind', '=', 'rollback').where('rollout_id', '=', record.id).executeTakeFirstOrThrow();
    expect(change.reason).toMatch(/canary guardrail breached at 10%: error rate/);
    const checks = (change.detail as { checks: Array<{ name: string; status: string; observed: number | null }> }).checks;
    expect(checks.filter((c) => c.status === 'breach').map((c) => c.name)).toEqual(['error_rate']);
    expect(checks.find((c) => c.name === 'error_rate')?.observed).toBe(1);
    // Units that were in the canary are served by the champion again.
    await new Promise((r) => setTimeout(r, 300));
    const agent = createAgent();
    const served = new Set<string>();
    for (let u = 0; u < 100; u++) {
      const res = await postJson<PredictResponseBody>(agent, stack.server.url, '/predict', { model: 'ctr', unitId: `u${u}`, features: FEATURES });
      served.add(`${res.status} ${res.body.version}`);
    }
    agent.destroy();
    expect([...served]).toEqual(['200 ctr@v2']);
    // Every failure is in the prediction log against the candidate, with the runtime's error.
    const logged = await db.selectFrom('prediction_log').select(['prediction', 'prediction_detail']).where('version_id', '=', 'ctr@v4').execute();
    expect(logged.length).toBe(traffic.statuses[500]);
    expect(logged.every((r) => r.prediction === null && /cannot be reshaped/.test(String((r.prediction_detail as { error?: string }).error)))).toBe(true);
    console.log(`failing candidate: rolled back in ${run.wallMs} ms after ${traffic.statuses[500]} failed requests of ${traffic.sent}: ${run.result.reason}`);
  });
});
