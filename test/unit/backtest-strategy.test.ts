// Strategy strings for `flywheel backtest --strategy`: each stage's settings, stage 4 through the
// model spec's own continual schema (defaults and errors), and errors that name the fix.
import { describe, expect, it } from 'vitest';
import { parseStrategies, parseStrategy, stageOf } from '../../lifecycle/backtest/strategy';

describe('parseStrategy', () => {
  it('reads stages 1-3 with their periods, windows and recalibration', () => {
    expect(parseStrategy('stage1')).toMatchObject({ kind: 'stage1', name: 'stage1' });
    expect(parseStrategy('stage2:period=7d,window=14d')).toMatchObject({ kind: 'stage2', periodMs: 7 * 86_400_000, windowDays: 14 });
    expect(parseStrategy('stage2')).toMatchObject({ kind: 'stage2', periodMs: 86_400_000 });
    expect(parseStrategy('stage3:period=1d,recalibrate=7,name=daily stateful')).toMatchObject({ kind: 'stage3', recalibrateEvery: 7, name: 'daily stateful' });
    // The spec's default recalibration (statefulSpecSchema) when none is given.
    expect(parseStrategy('stage3:period=12h')).toMatchObject({ recalibrateEvery: 7, periodMs: 12 * 3_600_000 });
    expect(stageOf(parseStrategy('stage3'))).toBe(3);
  });

  it('reads the brief\'s stage-4 example into the continual spec, with its defaults', () => {
    const s = parseStrategy('stage4:volume=512,performance=auc<0.7,drift=0.25,cooldown=6h');
    if (s.kind !== 'stage4') throw new Error('expected stage4');
    expect(s.continual.cooldown).toBe('6h');
    expect(s.continual.checkEvery).toBe('1h');
    expect(s.continual.dailyBudget).toBe(24);
    expect(s.continual.triggers.volume).toEqual({ everyRows: 512 });
    expect(s.continual.triggers.performance).toEqual({ metric: 'auc', bound: 0.7, windowRows: 1000 });
    expect(s.continual.triggers.drift).toEqual({ shareDrifted: 0.25, windowRows: 2000 });
    expect(s.continual.triggers.upstream).toBe(false);
    expect(s.recalibrateEvery).toBe(7);
    const t = parseStrategy('stage4:time=7d,volume=5%,performance=log_loss>0.6,performance-window=500,check=30m,budget=3');
    if (t.kind !== 'stage4') throw new Error('expected stage4');
    expect(t.continual.triggers).toMatchObject({ time: { every: '7d' }, volume: { percentNew: 5 }, performance: { metric: 'log_loss', bound: 0.6, windowRows: 500 } });
    expect([t.continual.checkEvery, t.continual.dailyBudget]).toEqual(['30m', 3]);
  });

  it('refuses bad strategies with the setting and the fix', () => {
    expect(() => parseStrategy('stage5')).toThrow(/unknown kind "stage5"; use stage1, stage2, stage3 or stage4/);
    expect(() => parseStrategy('stage2:every=1d')).toThrow(/stage2 has no setting "every"; allowed: name, window, period/);
    expect(() => parseStrategy('stage2:period=daily')).toThrow(/period=daily is not a duration/);
    expect(() => parseStrategy('stage3:recalibrate=0')).toThrow(/recalibrate=0 must be an integer >= 1/);
    expect(() => parseStrategy('stage4:cooldown=6h')).toThrow(/stage4 needs at least one trigger/);
    expect(() => parseStrategy('stage4:performance=auc>0.7')).toThrow(/auc fires when it gets worse, which is auc<bound/);
    expect(() => parseStrategy('stage4:performance=f1<0.7')).toThrow(/must read <metric><op><bound>/);
    expect(() => parseStrategy('stage4:drift=1.5')).toThrow(/triggers.drift.shareDrifted/);
    expect(() => parseStrategy('stage4:drift-window=100')).toThrow(/drift-window needs drift=/);
    expect(() => parseStrategy('stage4:volume=0')).toThrow(/volume=0 must be an integer >= 1/);
    expect(() => parseStrategy('stage2:period=1d,period=2d')).toThrow(/period is given twice/);
    expect(() => parseStrategy('stage2:period')).toThrow(/"period" must be key=value/);
  });

  it('needs at least one strategy and unique names', () => {
    expect(() => parseStrategies([])).toThrow(/give at least one --strategy/);
    expect(() => parseStrategies(['stage2', 'stage2'])).toThrow(/two strategies are named "stage2": add name=<label>/);
    expect(parseStrategies(['stage2', 'stage2:name=again']).map((s) => s.name)).toEqual(['stage2', 'again']);
  });
});
