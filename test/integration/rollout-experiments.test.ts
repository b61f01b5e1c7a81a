// A/B and interleaving rollouts end to end on traffic with a known effect: simulated users whose
// clicks follow a true model, versions whose quality against it is known (test/support/traffic.ts).
// The A/B test sizes itself from the minimum detectable effect and picks the better model, in
// fixed-horizon and in sequential (mSPRT) mode; interleaving credits clicks to the ranker that
// placed each item and prefers the better ranker.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routingHistory } from '../../lineage/routing';
import type { RolloutPlan } from '../../serving/rollout-spec';
import { rolloutUnderTraffic, startRolloutStack, type RolloutStack } from '../support/rollout-stack';
import { registerVersion, seedChampion, type RankStats, type TrafficStats } from '../support/traffic';

const guardrails = { metric: 'accuracy', minLabelled: 100, minRequests: 50, minPredictions: 100, latencySlackMs: 50, maxPredictionPsi: 5, maxDegradation: 0.3 };
const ab = (extra: Record<string, unknown>) => ({
  checkInterval: '0.3s',
  labelEvent: 'click',
  labelWindow: '0.5s',
  phases: [{ kind: 'ab', metric: 'accuracy', mde: 0.06, alpha: 0.05, power: 0.8, minDuration: '1s', maxDuration: '90s', guardrails, ...extra }],
});

describe('A/B and interleaving rollouts on traffic with a known effect', () => {
  let stack: RolloutStack;

  beforeAll(async () => {
    stack = await startRolloutStack();
    // ctr: poor champion (accuracy 0.666), good candidate (0.790), then a poor challenger to the new champion.
    await seedChampion(stack.lineage.db, stack.store, 'ctr', 'poor');
    await registerVersion(stack.lineage.db, stack.store, 'ctr', 'v2', 'good');
    await registerVersion(stack.lineage.db, stack.store, 'ctr', 'v3', 'poor');
    await seedChampion(stack.lineage.db, stack.store, 'ranker', 'poor');
    await registerVersion(stack.lineage.db, stack.store, 'ranker', 'v2', 'good');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('A/B (fixed horizon): runs to the planned sample size and promotes the better model', async () => {
    const run = await rolloutUnderTraffic(stack, { model: 'ctr', candidate: 'ctr@v2', rollout: ab({}) }, { kind: 'predict' });
    const traffic = run.traffic as TrafficStats;
    expect(run.result.outcome, run.result.reason).toBe('promoted');
    expect(run.result.history[0].summary).toMatch(/^A\/B: the candidate wins: accuracy treatment − control = 0\.\d+ .*two-proportion-z p=/);
    expect(traffic.failures).toEqual([]);
    const plan = (await stack.lineage.db.selectFrom('rollouts').select('plan').where('candidate_version_id', '=', 'ctr@v2').executeTakeFirstOrThrow()).plan as unknown as RolloutPlan;
    const phase = plan.phases[0];
    expect(phase.kind).toBe('ab');
    if (phase.kind !== 'ab') return;
    // Sized from the MDE: the observed arms reached the planned n before the verdict.
    expect(phase.settings.samplesPerArm).toBeGreaterThan(500);
    expect(phase.settings.samplesPerArm).toBeLessThan(1500);
    const last = run.result.history[0].summary.match(/at (\d+)\/(\d+)$/);
    expect(Number(last?.[1])).toBeGreaterThanOrEqual(phase.settings.samplesPerArm);
    // Both arms served: sticky halves of the units.
    expect(traffic.versions['ctr@v1']).toBeGreaterThan(300);
    expect(traffic.versions['ctr@v2']).toBeGreaterThan(300);
    const arms = (await routingHistory(stack.lineage.db, 'ctr')).filter((h) => h.mode === 'ab');
    expect(arms.map((h) => [h.arm, h.versionId, h.trafficPercent])).toEqual([
      ['control', 'ctr@v1', 50],
      ['treatment', 'ctr@v2', 50],
    ]);
    console.log(`A/B fixed: ${run.wallMs} ms, planned ${phase.settings.samplesPerArm}/arm (${phase.baselineSource}); ${run.result.history[0].summary}`);
  });

  it('A/B (sequential, always-valid p-values): stops early and keeps the better champion', async () => {
    const run = await rolloutUnderTraffic(stack, { model: 'ctr', candidate: 'ctr@v3', rollout: ab({ sequential: true, mde: 0.03 }) }, { kind: 'predict', seed: 11 });
    expect(run.result.outcome, run.result.reason).toBe('rolled_back');
    expect(run.result.reason).toMatch(/^A\/B: the champion wins: accuracy treatment − control = -0\.\d+, always-valid p=/);
    expect((run.traffic as TrafficStats).failures).toEqual([]);
    const plan = (await stack.lineage.db.selectFrom('rollouts').select('plan').where('candidate_version_id', '=', 'ctr@v3').executeTakeFirstOrThrow()).plan as unknown as RolloutPlan;
    const phase = plan.phases[0];
    if (phase.kind !== 'ab') throw new Error('expected an A/B phase');
    // The baseline came from the champion's own recent traffic this time.
    expect(phase.baselineSource).toMatch(/^champion's last \d+ labelled predictions$/);
    const perArm = Number(run.result.reason.match(/after (\d+) per arm/)?.[1]);
    expect(perArm).toBeLessThan(phase.settings.samplesPerArm);
    const status = await stack.lineage.db.selectFrom('model_versions').select(['id', 'status']).where('model_name', '=', 'ctr').orderBy('id').execute();
    expect(status).toEqual([
      { id: 'ctr@v1', status: 'retired' },
      { id: 'ctr@v2', status: 'champion' },
      { id: 'ctr@v3', status: 'rolled_back' },
    ]);
    console.log(`A/B sequential: ${run.wallMs} ms, stopped at ${perArm}/arm of a fixed-horizon ${phase.settings.samplesPerArm}: ${run.result.reason}`);
  });

  it('interleaving: users prefer the better ranker, which becomes champion', async () => {
    const rollout = { checkInterval: '0.3s', labelEvent: 'click', labelWindow: '0.5s', phases: [{ kind: 'interleaving', minImpressions: 150, minDuration: '1s', maxDuration: '90s' }] };
    const run = await rolloutUnderTraffic(stack, { model: 'ranker', candidate: 'ranker@v2', rollout }, { kind: 'rank' });
    const traffic = run.traffic as RankStats;
    expect(run.result.outcome, run.result.reason).toBe('promoted');
    expect(run.result.history[0].summary).toMatch(/^interleaving: users prefer the candidate: candidate won (\d+), champion (\d+), ties/);
    const [, won, lost] = run.result.history[0].summary.match(/candidate won (\d+), champion (\d+)/)!.map(Number);
    expect(won).toBeGreaterThan(lost);
    expect(traffic.failures).toEqual([]);
    expect(traffic.modes.interleaving).toBeGreaterThan(100);
    // Every shown item was logged with its team, and clicks were joined to the item rows.
    const teams = await sql<{ team: string; n: number }>`
      select prediction_detail->'rank'->>'team' as team, count(*)::int as n from prediction_log
      where model_name = 'ranker' and prediction_detail->'routing'->>'mode' = 'interleaving' group by 1 order by 1`.execute(stack.lineage.db);
    expect(teams.rows.map((r) => r.team)).toEqual(['A', 'B']);
    const clicks = await sql<{ n: number }>`select count(*)::int as n from outcome_events where model_name = 'ranker' and request_id like '%/%'`.execute(stack.lineage.db);
    expect(clicks.rows[0].n).toBeGreaterThanOrEqual(traffic.clicks - 50);
    console.log(`interleaving: ${run.wallMs} ms, ${traffic.sent} rankings, ${traffic.clicks} clicks: ${run.result.history[0].summary}`);
  });
});
