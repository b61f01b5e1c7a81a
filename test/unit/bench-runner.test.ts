// The benchmark runner's pure parts: arguments, suite discovery and selection, figure checks,
// merging a run into results.json, the Markdown table, and the summarize helper every suite uses.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { summarize, type BenchSuite, type Figure } from '../../bench/figure';
import {
  figureProblems,
  findSuite,
  formatNumber,
  loadSuites,
  mergeFigures,
  mergeResults,
  parseArgs,
  renderMarkdown,
  runSuite,
  selectSuites,
  suiteFiles,
  UsageError,
  type DiscoveredSuite,
  type ResultsFile,
  type RunRecord,
} from '../../bench/run';

const fig = (id: string, value: number, extra: Partial<Figure> = {}): Figure => ({ id, value, unit: 'ms', min: value, max: value, runs: 1, note: `note ${id}`, ...extra });
const suite = (ids: string[], run: BenchSuite['run'] = async () => ids.map((id) => fig(id, 1))): BenchSuite => ({ ids, run });

describe('parseArgs', () => {
  it('defaults to every suite, full mode', () => {
    expect(parseArgs([])).toEqual({ only: null, quick: false, help: false });
  });

  it('reads --quick and --only in both spellings, comma-separated and repeated, without duplicates', () => {
    expect(parseArgs(['--only', 'a,b', '--quick', '--only=c', '--only', ' b , d '])).toEqual({ only: ['a', 'b', 'c', 'd'], quick: true, help: false });
  });

  it('accepts suite file names with path and extension', () => {
    expect(parseArgs(['--only', 'bench/suites/scale.ts,orchestration.ts']).only).toEqual(['scale', 'orchestration']);
  });

  it('refuses a missing or empty --only value and unknown arguments, naming them', () => {
    expect(() => parseArgs(['--only'])).toThrow(UsageError);
    expect(() => parseArgs(['--only', '--quick'])).toThrow(/--only needs a value/);
    expect(() => parseArgs(['--only', ' , '])).toThrow(/got no ids/);
    expect(() => parseArgs(['--fast'])).toThrow(/unknown argument "--fast"/);
    expect(() => parseArgs(['scale'])).toThrow(/unknown argument "scale"/);
  });

  it('reads --help', () => {
    expect(parseArgs(['-h']).help).toBe(true);
  });
});

describe('suite discovery and selection', () => {
  it('finds a BenchSuite exported as default, as `suite`, or as top-level ids + run', () => {
    const s = suite(['x']);
    expect(findSuite({ default: s })).toBe(s);
    expect(findSuite({ suite: s, ids: ['x'] })).toBe(s);
    const mod = { ids: ['y'], run: s.run };
    expect(findSuite(mod)).toBe(mod);
    expect(findSuite({ ids: 'y', run: s.run })).toBeUndefined();
    expect(findSuite({ helper: () => 1 })).toBeUndefined();
    expect(findSuite(undefined)).toBeUndefined();
  });

  it('lists .ts modules in file-name order, skipping declarations, tests and folders', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-suites-'));
    for (const f of ['b.ts', 'a.ts', 'types.d.ts', 'a.test.ts', 'notes.md']) writeFileSync(path.join(dir, f), '');
    mkdirSync(path.join(dir, 'sub.ts'), { recursive: true });
    expect(suiteFiles(dir).map((f) => path.basename(f))).toEqual(['a.ts', 'b.ts']);
    expect(suiteFiles(path.join(dir, 'missing'))).toEqual([]);
  });

  it('reports a module that throws on import or exports no suite, and loads the others', () => {
    const s = suite(['ok_figure']);
    const loaded = loadSuites(['/x/good.ts', '/x/broken.ts', '/x/helper.ts'], (file) => {
      if (file.endsWith('broken.ts')) throw new SyntaxError('Unexpected token');
      return file.endsWith('good.ts') ? { default: s } : { util: 1 };
    });
    expect(loaded.map((l) => [l.name, !!l.suite])).toEqual([
      ['good', true],
      ['broken', false],
      ['helper', false],
    ]);
    expect(loaded[1].loadError).toMatch(/import failed: Unexpected token/);
    expect(loaded[2].loadError).toMatch(/exports no BenchSuite/);
  });

  it('selects by suite name or by any figure id, and names what matches nothing', () => {
    const suites: DiscoveredSuite[] = [
      { name: 'orchestration', file: 'o.ts', suite: suite(['orchestration_overhead_ms_per_step', 'dag_vs_script_ratio']) },
      { name: 'scale', file: 's.ts', suite: suite(['concurrent_pipelines']) },
      { name: 'drift', file: 'd.ts', suite: suite(['drift_values_per_s']) },
      { name: 'broken', file: 'b.ts', loadError: 'import failed' },
    ];
    expect(selectSuites(suites, null).selected).toHaveLength(4);
    const picked = selectSuites(suites, ['orchestration_overhead_ms_per_step', 'concurrent_pipelines']);
    expect(picked.selected.map((s) => s.name)).toEqual(['orchestration', 'scale']);
    expect(picked.unknown).toEqual([]);
    expect(selectSuites(suites, ['dag_vs_script_ratio', 'orchestration']).selected.map((s) => s.name)).toEqual(['orchestration']);
    expect(selectSuites(suites, ['broken']).selected.map((s) => s.name)).toEqual(['broken']);
    expect(selectSuites(suites, ['drift', 'nope']).unknown).toEqual(['nope']);
  });
});

describe('running one suite', () => {
  const log = () => {};

  it('returns its figures and time', async () => {
    const out = await runSuite({ name: 's', file: 's.ts', suite: suite(['a', 'b']) }, true, log);
    expect(out.error).toBeUndefined();
    expect(out.figures.map((f) => f.id)).toEqual(['a', 'b']);
  });

  it('turns a throw into an error outcome instead of crashing', async () => {
    const out = await runSuite({ name: 's', file: 's.ts', suite: suite(['a'], async () => Promise.reject(new Error('database gone'))) }, false, log);
    expect(out).toMatchObject({ name: 's', ids: ['a'], figures: [], error: 'database gone' });
  });

  it('refuses invalid figures and reports a module that did not load', async () => {
    const bad = await runSuite({ name: 's', file: 's.ts', suite: suite(['a'], async () => [fig('a', NaN)]) }, false, log);
    expect(bad.error).toMatch(/a: value is NaN, not a finite number/);
    const broken = await runSuite({ name: 'b', file: 'b.ts', loadError: 'import failed: boom' }, false, log);
    expect(broken.error).toBe('import failed: boom');
  });

  it('warns about figures that are returned but not declared, or declared but not returned', async () => {
    const lines: string[] = [];
    await runSuite({ name: 's', file: 's.ts', suite: suite(['a', 'b'], async () => [fig('a', 1), fig('c', 1)]) }, false, (l) => lines.push(l));
    expect(lines.join('\n')).toMatch(/not in the suite's ids: c/);
    expect(lines.join('\n')).toMatch(/declared but not returned: b/);
  });
});

describe('figure checks', () => {
  it('accepts summarize output and names every problem otherwise', () => {
    expect(figureProblems(summarize('x', 'ms', [3, 1, 2], 'n'))).toEqual([]);
    expect(figureProblems(fig('x', 5, { min: 6 }))).toEqual(['value 5 outside [min 6, max 5]']);
    expect(figureProblems(fig('x', 1, { runs: 0 }))).toEqual(['runs 0 is not a positive integer']);
    expect(figureProblems(fig('x', Infinity))).toContain('value is Infinity, not a finite number');
    expect(figureProblems({ id: 'x' } as Figure)).toEqual(expect.arrayContaining(['unit missing', 'note missing']));
  });
});

describe('summarize', () => {
  it('takes the median of an odd count, and the mean of the middle two of an even count', () => {
    expect(summarize('a', 'ms', [5, 1, 3], 'n')).toEqual({ id: 'a', value: 3, unit: 'ms', min: 1, max: 5, runs: 3, note: 'n' });
    expect(summarize('a', 'ms', [4, 1, 3, 10], 'n')).toMatchObject({ value: 3.5, min: 1, max: 10, runs: 4 });
    expect(summarize('a', 'x', [2], 'n')).toMatchObject({ value: 2, min: 2, max: 2, runs: 1 });
  });

  it('does not reorder the caller’s samples and refuses none', () => {
    const samples = [3, 1, 2];
    summarize('a', 'ms', samples, '');
    expect(samples).toEqual([3, 1, 2]);
    expect(() => summarize('empty', 'ms', [], '')).toThrow(/empty produced no samples/);
  });
});

describe('merging results', () => {
  it('replaces figures by id in place and appends new ones', () => {
    const merged = mergeFigures([fig('a', 1), fig('b', 2), fig('c', 3)], [fig('d', 40), fig('b', 20)]);
    expect(merged.map((f) => [f.id, f.value])).toEqual([
      ['a', 1],
      ['b', 20],
      ['c', 3],
      ['d', 40],
    ]);
  });

  const machine = { cpuModel: 'CPU', cores: 2 };
  const versions = { flywheel: '0.1.0' };
  const record = (over: Partial<RunRecord>): RunRecord => ({ machine, versions, host: 'host A', quick: false, at: '2026-02-01T00:00:00.000Z', full: false, outcomes: [], ...over });
  const previous: ResultsFile = {
    machine: { cpuModel: 'old' },
    versions: {},
    figures: [fig('drift_values_per_s', 9), fig('orchestration_overhead_ms_per_step', 50), fig('dag_vs_script_ratio', 2)],
    suites: {
      drift: { ids: ['drift_values_per_s'], measuredAt: '2026-01-01T00:00:00.000Z', seconds: 10, quick: false, ok: true, host: 'host B' },
      orchestration: { ids: ['orchestration_overhead_ms_per_step', 'dag_vs_script_ratio'], measuredAt: '2026-01-01T00:00:00.000Z', seconds: 30, quick: false, ok: true, host: 'host B' },
    },
    updatedAt: '2026-01-01T00:00:00.000Z',
  };

  it('with --only keeps the figures of suites not re-run and replaces the re-run ones', () => {
    const out = mergeResults(previous, record({ outcomes: [{ name: 'orchestration', ids: ['orchestration_overhead_ms_per_step', 'dag_vs_script_ratio'], figures: [fig('orchestration_overhead_ms_per_step', 20), fig('dag_vs_script_ratio', 1.2)], seconds: 31 }] }));
    expect(out.figures.map((f) => [f.id, f.value])).toEqual([
      ['drift_values_per_s', 9],
      ['orchestration_overhead_ms_per_step', 20],
      ['dag_vs_script_ratio', 1.2],
    ]);
    expect(out.machine).toBe(machine);
    expect(out.suites.drift).toEqual(previous.suites.drift);
    expect(out.suites.orchestration).toMatchObject({ measuredAt: '2026-02-01T00:00:00.000Z', seconds: 31, ok: true, host: 'host A' });
    expect(out.updatedAt).toBe('2026-02-01T00:00:00.000Z');
  });

  it('keeps a failed suite’s earlier figures, marked failed with the error and the old measurement time', () => {
    const out = mergeResults(previous, record({ outcomes: [{ name: 'orchestration', ids: ['orchestration_overhead_ms_per_step'], figures: [], seconds: 2, error: 'dev server did not start' }] }));
    expect(out.figures.find((f) => f.id === 'orchestration_overhead_ms_per_step')?.value).toBe(50);
    expect(out.suites.orchestration).toMatchObject({ ok: false, error: 'dev server did not start', measuredAt: '2026-01-01T00:00:00.000Z', host: 'host B' });
  });

  it('records a suite that failed on its first run, without figures', () => {
    const out = mergeResults(undefined, record({ quick: true, outcomes: [{ name: 'scale', ids: ['concurrent_pipelines'], figures: [], seconds: 5, error: 'boom' }] }));
    expect(out.figures).toEqual([]);
    expect(out.suites.scale).toMatchObject({ ids: ['concurrent_pipelines'], ok: false, quick: true, error: 'boom' });
  });

  it('after a full run drops suites and figures that no longer exist', () => {
    const out = mergeResults(previous, record({ full: true, outcomes: [{ name: 'drift', ids: ['drift_values_per_s'], figures: [fig('drift_values_per_s', 10)], seconds: 9 }] }));
    expect(out.figures.map((f) => f.id)).toEqual(['drift_values_per_s']);
    expect(Object.keys(out.suites)).toEqual(['drift']);
  });
});

describe('RESULTS.md', () => {
  it('renders machine, versions, one row per figure with its suite, and marks quick and stale figures', () => {
    const results: ResultsFile = {
      machine: { cpuModel: 'Test CPU', cores: 2, availableParallelism: 2, cgroupCpuLimit: null, memoryGiB: 24, cgroupMemoryLimitGiB: null, os: 'Linux', kernel: '6', arch: 'x64', node: 'v20' },
      versions: { flywheel: '0.1.0', commit: 'abc', node: 'v20', temporalCli: 'temporal version 1.5.1', temporalio: { '@temporalio/worker': '1.24.0' }, onnxruntimeNode: '1.30.0', postgres: '15.20' },
      figures: [fig('a_ms', 12.3456, { note: 'x | y' }), fig('b', 3)],
      suites: {
        sa: { ids: ['a_ms'], measuredAt: 't1', seconds: 3, quick: true, ok: true, host: 'Test CPU, 2 CPUs, 24 GiB, Node v20', cpu: { benchPercent: 80, postgresPercent: 5, otherPercent: 12.5 } },
        sb: { ids: ['b'], measuredAt: 't0', seconds: 4, quick: false, ok: false, error: 'boom', host: 'Other CPU' },
      },
      updatedAt: 't1',
    };
    const md = renderMarkdown(results);
    expect(md).toContain('| CPU | Test CPU |');
    expect(md).toContain('| @temporalio/worker | 1.24.0 |');
    expect(md).toContain('| a_ms | 12.3 | ms | 12.3 | 12.3 | 1 | sa (quick) | x \\| y |');
    expect(md).toContain('| b | 3 | ms | 3 | 3 | 1 | sb (stale: last re-run failed) |');
    expect(md).toContain('| sa | a_ms | t1 | quick | 3 s | 80% / 5% / 12.5% | ok |');
    expect(md).toContain('| sb | b | t0 on Other CPU | full | 4 s | ? | FAILED: boom |');
    expect(md).toContain('npm run bench -- --only');
  });

  it('formats numbers to about 3 significant digits', () => {
    expect([formatNumber(1234.56), formatNumber(123.456), formatNumber(12.3456), formatNumber(0.012345), formatNumber(7)]).toEqual(['1235', '123.5', '12.3', '0.0123', '7']);
  });
});
