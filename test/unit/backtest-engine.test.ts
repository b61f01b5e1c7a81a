// The strategy backtest on the seeded simulator: after a sudden concept drift, daily stateful
// (stage 3) and triggered (stage 4) retraining recover faster than a weekly full retrain (stage 2);
// the same seed gives the same numbers; the drift trigger fires on a covariate shift only after it
// happens; counts and compute add up.
import { describe, expect, it } from 'vitest';
import { runBacktest, type BacktestResult } from '../../lifecycle/backtest/engine';
import { defaultBacktestSpec } from '../../lifecycle/backtest/model-spec';
import { backtestScenario } from '../../lifecycle/backtest/scenarios';
import { simulatedHistory, simulatorFeatureSpecs } from '../../lifecycle/backtest/simulated-history';
import { parseStrategies } from '../../lifecycle/backtest/strategy';

const DAYS = 36;
const SPEC = defaultBacktestSpec(simulatorFeatureSpecs(), 'binary_classification');

function backtest(scenarioName: string, seed: number, strategies: string[], spec = SPEC): BacktestResult {
  const scenario = backtestScenario(scenarioName, DAYS);
  const history = simulatedHistory({ days: DAYS, rowsPerDay: 800, seed, drift: scenario.drift });
  return runBacktest({ history, spec, strategies: parseStrategies(strategies), settings: { onsets: scenario.onsets, recoveryEpsilon: 0.03 } });
}

/** Everything but CPU time, which is the one measurement that is not deterministic. */
function withoutCpu(result: BacktestResult): unknown {
  return JSON.parse(JSON.stringify(result, (key, value) => (key === 'cpuSeconds' ? undefined : value)));
}

const recoveryDays = (result: BacktestResult, name: string) => result.strategies.find((s) => s.name === name)!.recovery[0].daysToRecover ?? Infinity;

describe('runBacktest', () => {
  const strategies = ['stage2:period=7d,name=weekly stage 2', 'stage3:period=1d,recalibrate=7,name=daily stage 3', 'stage4:performance=accuracy<0.68,cooldown=12h,name=stage 4'];
  const sudden = backtest('sudden', 5, strategies);

  it('stage 3 and stage 4 recover from a sudden drift faster than a weekly stage 2', () => {
    expect(sudden.settings.onsets).toEqual([18]);
    const weekly = recoveryDays(sudden, 'weekly stage 2');
    expect(recoveryDays(sudden, 'daily stage 3')).toBeLessThan(weekly);
    expect(recoveryDays(sudden, 'stage 4')).toBeLessThan(weekly);
    // A 30-day full-retrain window is mostly pre-drift for weeks: the weekly retrain is still wrong at the end.
    expect(recoveryDays(sudden, 'stage 4')).toBeLessThanOrEqual(3);
    const [stage2, stage3, stage4] = sudden.strategies;
    expect(stage3.prequential.value!).toBeGreaterThan(stage2.prequential.value!);
    expect(stage4.prequential.value!).toBeGreaterThan(stage2.prequential.value!);
    // Every strategy saw the drift: the day after the onset is far below the pre-drift level for the weekly retrain.
    expect(stage2.recovery[0].worstAfter!).toBeLessThan(stage2.recovery[0].preDriftLevel! - 0.15);
  });

  it('counts retrains, modes and compute consistently with the events', () => {
    const [stage2, stage3, stage4] = sudden.strategies;
    // Weekly from the end of the 7-day warm-up: days 14, 21, 28, 35.
    expect(stage2.retrains).toMatchObject({ total: 4, stateless: 4, stateful: 0, failed: 0 });
    expect(stage2.events.map((e) => e.at.slice(0, 10))).toEqual(['2026-01-15', '2026-01-22', '2026-01-29', '2026-02-05']);
    // Daily stateful, a full retrain after 7 stateful updates (planTraining's recalibration).
    expect(stage3.retrains.total).toBe(DAYS - 7 - 1);
    expect(stage3.events.filter((e) => e.mode === 'stateless').map((e) => e.planReason)).toEqual(
      Array(stage3.retrains.stateless).fill('periodic recalibration: 7 stateful updates since the last full retrain (stateful.recalibrateEvery = 7)'),
    );
    expect(stage3.retrains.stateful).toBe(stage3.retrains.total - stage3.retrains.stateless);
    // Stage 4 retrains only when the champion's accuracy drops: around the drift, not before it.
    expect(stage4.retrains.total).toBeGreaterThan(0);
    expect(stage4.retrains.total).toBeLessThan(stage3.retrains.total);
    for (const e of stage4.events) {
      expect(e.trigger).toBe('performance');
      expect(new Date(e.at).getTime()).toBeGreaterThanOrEqual(Date.parse('2026-01-19T00:00:00Z'));
    }
    expect(stage4.checks!.run).toBe((DAYS - 7) * 24 - 1);
    for (const s of sudden.strategies) {
      expect(s.compute.samplesProcessed).toBe(s.events.reduce((sum, e) => sum + e.samplesSeen, 0));
      expect(s.prequential.rows).toBe((DAYS - 7) * 800);
      expect(s.prequential.daily).toHaveLength(DAYS - 7);
    }
    // Stateful updates touch a day of data; full retrains the whole window.
    expect(stage3.compute.samplesProcessed / stage3.retrains.total).toBeLessThan(stage2.compute.samplesProcessed / stage2.retrains.total);
  });

  it('gives the same numbers for the same seed, and different ones for another', () => {
    const again = backtest('sudden', 5, strategies);
    expect(withoutCpu(again)).toEqual(withoutCpu(sudden));
    const other = backtest('sudden', 6, strategies.slice(0, 1));
    expect(other.strategies[0].prequential.value).not.toBe(sudden.strategies[0].prequential.value);
  });

  it('the drift trigger fires on a covariate shift, after it happens, and stays quiet without drift', () => {
    // 1600 rows = two whole days of traffic: the time-of-day feature matches its reference (README).
    const strategy = ['stage4:drift=0.2,drift-window=1600,cooldown=1d,check=3h,name=drift'];
    const covariate = backtest('covariate', 3, strategy).strategies[0];
    expect(covariate.retrains.total).toBeGreaterThan(0);
    const onset = Date.parse('2026-01-19T00:00:00Z');
    for (const e of covariate.events) {
      expect(e.trigger).toBe('drift');
      expect(new Date(e.at).getTime()).toBeGreaterThan(onset);
    }
    expect(backtest('none', 3, strategy).strategies[0].retrains.total).toBe(0);
    // The spec's monitoring.drift policy replays as production applies it: thresholds no shift
    // reaches keep the same covariate shift from firing.
    const lenient = { ...SPEC, monitoring: { drift: { defaults: { thresholds: { wasserstein: 100, js: 0.99, psi: 100 } } } } } as typeof SPEC;
    expect(backtest('covariate', 3, strategy, lenient).strategies[0].retrains.total).toBe(0);
  });
});
