// `flywheel backtest` as a user runs it: the table, --json with every strategy's daily points and
// retrain events, the --chart HTML page, and one-line errors for bad strategies and sources.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, userLines } from '../support/cli';

const SMALL = ['--simulate', 'sudden', '--days', '24', '--rows-per-day', '400', '--warmup', '5'];

describe('flywheel backtest', () => {
  it('prints one row per strategy, and the chart', async () => {
    const chart = path.join(mkdtempSync(path.join(tmpdir(), 'flywheel-backtest-cli-')), 'out.html');
    const result = await runCli(['backtest', ...SMALL, '--strategy', 'stage2:period=7d', '--strategy', 'stage3:period=1d,recalibrate=7', '--strategy', 'stage4:performance=accuracy<0.68,cooldown=12h', '--chart', chart], {}, 180_000);
    expect(result.code, result.stderr).toBe(0);
    const lines = userLines(result.stdout);
    expect(lines[0]).toMatch(/^simulated scenario "sudden" \(seed 1, 400 rows\/day\): sudden concept drift/);
    expect(lines[1]).toMatch(/^24 days from 2026-01-01 \(9,600 rows\); warm-up 5 days/);
    expect(lines[2]).toMatch(/^strategy\s+prequential accuracy\s+retrains\s+full\s+stateful\s+failed\s+samples\s+CPU s\s+recover \(day 12\)$/);
    expect(lines.slice(4, 7).map((l) => l.split(/\s{2,}/)[0])).toEqual(['stage2:period=7d', 'stage3:period=1d,recalibrate=7', 'stage4:performance=accuracy<0.68,cooldown=12h']);
    expect(lines[4]).toMatch(/^stage2:period=7d\s+0\.\d{4}\s+2\s+2\s+0\s+0\s/);
    expect(lines.at(-1)).toBe(`chart ${chart}`);
    expect(existsSync(chart)).toBe(true);
    expect(readFileSync(chart, 'utf8')).toMatch(/<svg[^>]*aria-label="daily prequential accuracy"/);
    // Progress goes to stderr, so stdout stays the table.
    expect(result.stderr).toMatch(/initial model: \d+ training rows/);
  });

  it('--json prints the whole result as one object', async () => {
    const result = await runCli(['backtest', ...SMALL, '--strategy', 'stage1', '--strategy', 'stage4:volume=400,cooldown=1d', '--json'], {}, 180_000);
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({ days: 24, rows: 9600, settings: { warmupDays: 5, metric: 'accuracy', onsets: [12], recoveryEpsilon: 0.02, gate: false } });
    const [stage1, stage4] = out.strategies;
    expect(stage1).toMatchObject({ name: 'stage1', kind: 'stage1', retrains: { total: 0 }, events: [] });
    expect(stage1.prequential.daily).toHaveLength(19);
    // Every new day's 400 rows fire the volume trigger; the one-day cooldown admits one a day.
    expect(stage4.retrains.total).toBeGreaterThanOrEqual(17);
    expect(stage4.events[0]).toMatchObject({ trigger: 'volume', mode: 'stateful', outcome: 'promoted', signals: expect.stringMatching(/^volume: \d+ new labelled rows/) });
    expect(result.stderr).toBe('');
  });

  it('fails with one line naming the problem', async () => {
    const bad = await runCli(['backtest', '--simulate', 'sudden', '--strategy', 'stage4:performance=auc>0.7']);
    expect(bad.code).toBe(1);
    expect(userLines(bad.stderr)).toEqual(['flywheel: strategy "stage4:performance=auc>0.7": auc fires when it gets worse, which is auc<bound; got performance=auc>0.7']);
    const none = await runCli(['backtest', '--strategy', 'stage1']);
    expect(userLines(none.stderr)).toEqual(['flywheel: give exactly one of --simulate <scenario> or --file <labelled history (csv, parquet or arrow)>']);
    const nostrategy = await runCli(['backtest', '--simulate', 'sudden']);
    expect(userLines(nostrategy.stderr)[0]).toMatch(/^flywheel: give at least one --strategy/);
  });
});
