// The backtest benchmark suite's contract: the figure ids the runner expects (the two headline
// comparisons and four measures per strategy), and strategies that parse under the ids' names.
import { describe, expect, it } from 'vitest';
import { findSuite } from '../../bench/run';
import * as backtestSuite from '../../bench/suites/backtest';
import { parseStrategies } from '../../lifecycle/backtest/strategy';

describe('bench/suites/backtest', () => {
  it('exports a BenchSuite with the headline ids first and one figure per strategy and measure', () => {
    const suite = findSuite(backtestSuite);
    expect(suite).toBeDefined();
    expect(suite!.ids.slice(0, 2)).toEqual(['stage4_vs_stage2_accuracy_delta', 'stage4_vs_stage2_retrain_ratio']);
    expect(suite!.ids).toHaveLength(2 + 3 * 4);
    expect(new Set(suite!.ids).size).toBe(suite!.ids.length);
    expect(suite!.ids).toContain('backtest_stage4_cpu_s');
  });

  it('runs stage 2 daily stateless, stage 3 daily stateful and a triggered stage 4, named by stage', () => {
    const strategies = parseStrategies(Object.values(backtestSuite.STRATEGIES));
    expect(strategies.map((s) => [s.name, s.kind])).toEqual([
      ['stage2', 'stage2'],
      ['stage3', 'stage3'],
      ['stage4', 'stage4'],
    ]);
    expect(backtestSuite.SCENARIOS).toEqual(['sudden', 'gradual', 'cyclic']);
  });
});
