// A backtest of a labelled CSV file: features inferred from its columns, rows missing a numeric
// value dropped and counted, onsets given as dates; the table and the HTML chart; and the source
// options' errors, each naming the flag to fix.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backtestHtml, loadBacktestSource, parseStrategies, renderBacktestTable, runBacktest } from '../../lifecycle/backtest';
import { backtestScenario } from '../../lifecycle/backtest/scenarios';
import { simulatedHistory } from '../../lifecycle/backtest/simulated-history';

function writeHistoryCsv(dir: string): string {
  const scenario = backtestScenario('sudden', 20);
  const h = simulatedHistory({ days: 20, rowsPerDay: 300, seed: 2, drift: scenario.drift });
  const lines = ['t,y,ad_relevance,user_ctr_7d,position,hour_sin,device'];
  for (let i = 0; i < h.eventTimeMs.length; i++) {
    const n = (name: string) => h.numeric[name][i];
    // Row 5 misses a numeric value: it cannot be served, so the backtest drops it.
    lines.push([new Date(h.eventTimeMs[i]).toISOString(), h.labels[i], i === 5 ? '' : n('ad_relevance'), n('user_ctr_7d'), n('position'), n('hour_sin'), h.categorical.device[i]].join(','));
  }
  const file = path.join(dir, 'history.csv');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('backtest of a labelled file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flywheel-backtest-'));
  const file = writeHistoryCsv(dir);

  it('infers the features and task, drops incomplete rows and replays the strategies', async () => {
    const source = await loadBacktestSource({ file, timestampColumn: 't', labelColumn: 'y', onsets: ['2026-01-11', '12'] });
    expect(source.spec.features.map((f) => `${f.name}:${f.type}`)).toEqual(['ad_relevance:numeric', 'user_ctr_7d:numeric', 'position:numeric', 'hour_sin:numeric', 'device:categorical']);
    expect(source.spec.task).toBe('binary_classification');
    expect(source.history.eventTimeMs.length).toBe(20 * 300 - 1);
    expect(source.description).toMatch(/1 rows with a missing numeric feature dropped/);
    expect(source.onsets).toEqual([10, 12]);

    const result = runBacktest({ history: source.history, spec: source.spec, strategies: parseStrategies(['stage1', 'stage3:period=1d']), settings: { onsets: source.onsets, warmupDays: 5 } });
    expect(result.days).toBe(20);
    expect(result.strategies[1].retrains.total).toBe(14);
    // The sudden drift at day 10: the static model never recovers, daily updates do.
    expect(result.strategies[0].recovery[0].daysToRecover).toBeNull();
    expect(result.strategies[1].prequential.value!).toBeGreaterThan(result.strategies[0].prequential.value!);

    const table = renderBacktestTable(result, source.description);
    expect(table).toMatch(/^strategy\s+prequential accuracy\s+retrains\s+full\s+stateful\s+failed\s+samples\s+CPU s\s+recover \(day 10, 12\)$/m);
    expect(table).toMatch(/^stage1\s+0\.\d{4}\s+0\s+0\s+0\s+0\s+0\s+0\.00\s+never, /m);
    const html = backtestHtml(result, 'Backtest', source.description);
    expect(html).toContain('<svg');
    expect(html.match(/stroke-dasharray/g)).toHaveLength(2);
    expect(html).toContain('drift onset, day 10');
  });

  it('reads a model spec for the features and trainer, and replays only the first --days', async () => {
    const specFile = path.join(dir, 'model.json');
    writeFileSync(specFile, JSON.stringify({ name: 'clicks', features: [{ name: 'ad_relevance' }, { name: 'position' }], data: { windowDays: 7, minRows: 100 } }));
    const source = await loadBacktestSource({ file, timestampColumn: 't', labelColumn: 'y', specFile, days: 12 });
    expect(source.history.layout).toEqual({ numeric: ['ad_relevance', 'position'], categorical: [] });
    expect(source.spec.data.windowDays).toBe(7);
    expect(Math.max(...source.history.eventTimeMs)).toBeLessThan(Date.parse('2026-01-13T00:00:00Z'));
  });

  it('names the flag to fix', async () => {
    await expect(loadBacktestSource({})).rejects.toThrow(/exactly one of --simulate <scenario> or --file/);
    await expect(loadBacktestSource({ simulate: 'sudden', file })).rejects.toThrow(/exactly one of/);
    await expect(loadBacktestSource({ simulate: 'earthquake' })).rejects.toThrow(/unknown scenario "earthquake"; use one of none, sudden/);
    await expect(loadBacktestSource({ simulate: 'sudden', onsets: ['3'] })).rejects.toThrow(/--onset is for --file/);
    await expect(loadBacktestSource({ file, timestampColumn: 't', labelColumn: 'y', seed: 3 })).rejects.toThrow(/--rows-per-day and --seed are for --simulate/);
    await expect(loadBacktestSource({ file, timestampColumn: 't', labelColumn: 'label' })).rejects.toThrow(/label column 'label' is not in the file/);
    await expect(loadBacktestSource({ file, timestampColumn: 't', labelColumn: 'y', onsets: ['99'] })).rejects.toThrow(/--onset day 99 is outside the history's 20 days/);
    await expect(loadBacktestSource({ file, timestampColumn: 't', labelColumn: 'y', onsets: ['soon'] })).rejects.toThrow(/--onset soon must be a day index/);
    await expect(loadBacktestSource({ file: path.join(dir, 'missing.csv') })).rejects.toThrow(/no such file/);
    const source = await loadBacktestSource({ file, timestampColumn: 't', labelColumn: 'y' });
    expect(() => runBacktest({ history: source.history, spec: source.spec, strategies: parseStrategies(['stage1']), settings: { warmupDays: 20 } })).toThrow(/covers 20 day\(s\); warm-up takes 20/);
    expect(() => runBacktest({ history: source.history, spec: source.spec, strategies: parseStrategies(['stage1']), settings: { metric: 'mae' } })).toThrow(/--metric mae does not apply to binary_classification/);
  });
});
