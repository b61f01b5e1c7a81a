// --gate: the offline gate (judgeCandidate under the spec's evaluation rules) decides promotion in
// the replay; a rejected candidate leaves the champion serving and is counted, with the gate's reason.
import { describe, expect, it } from 'vitest';
import { runBacktest } from '../../lifecycle/backtest/engine';
import { defaultBacktestSpec } from '../../lifecycle/backtest/model-spec';
import { backtestScenario } from '../../lifecycle/backtest/scenarios';
import { simulatedHistory, simulatorFeatureSpecs } from '../../lifecycle/backtest/simulated-history';
import { parseStrategies } from '../../lifecycle/backtest/strategy';

describe('runBacktest with --gate', () => {
  it('rejects a recalibration that would undo the adaptation to a drift, and keeps the champion', () => {
    const scenario = backtestScenario('sudden', 16);
    const history = simulatedHistory({ days: 16, rowsPerDay: 400, seed: 1, drift: scenario.drift });
    const spec = defaultBacktestSpec(simulatorFeatureSpecs(), 'binary_classification');
    const strategies = parseStrategies(['stage3:period=1d,recalibrate=3']);
    const gated = runBacktest({ history, spec, strategies, settings: { onsets: scenario.onsets, gate: true, warmupDays: 4 } }).strategies[0];
    const open = runBacktest({ history, spec, strategies, settings: { onsets: scenario.onsets, warmupDays: 4 } }).strategies[0];

    expect(gated.events).toHaveLength(11);
    expect(gated.retrains.total + gated.retrains.rejected).toBe(11);
    expect(gated.retrains.rejected).toBeGreaterThan(0);
    for (const e of gated.events) expect(e.detail).toMatch(e.outcome === 'promoted' ? /^pass/ : /^fail: max_regression\.auc: candidate - champion = -/);
    // A rejected full retrain after the drift: the champion (adapted by stateful updates) keeps serving.
    const rejected = gated.events.filter((e) => e.outcome === 'rejected');
    expect(rejected.every((e) => new Date(e.at) > new Date('2026-01-09T00:00:00Z'))).toBe(true);
    const firstRejected = gated.events.findIndex((e) => e.outcome === 'rejected');
    expect(gated.events[firstRejected].mode).toBe('stateless');
    // ...and does not stall the champion: the next runs are stateful updates again (not the same
    // recalibration retried every day), until recalibrateEvery more have been tried.
    const after = gated.events.slice(firstRejected + 1, firstRejected + 4);
    expect(after.length).toBeGreaterThan(0);
    for (const e of after) expect(e.mode, e.planReason).toBe('stateful');
    expect(after[0].planReason).toMatch(/recalibration postponed: the last full retrain was not promoted; 0 stateful update\(s\) since, of 3 before the next/);
    expect(gated.prequential.value!).toBeGreaterThanOrEqual(open.prequential.value!);
    // Without the gate every candidate is promoted and events carry no gate detail.
    expect(open.retrains.rejected).toBe(0);
    expect(open.events.every((e) => e.outcome === 'promoted' && e.detail === undefined)).toBe(true);
  });
});
