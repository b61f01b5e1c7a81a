// The committed benchmark results (bench/results.json, written by `npm run bench`): every figure
// issue 11's table asks for is there and well-formed, with the machine and the versions it was
// measured on. Also the rollout suite's timeline split (pure). No timing happens here.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RESULTS_JSON } from '../../bench/run';
import { breakdown, ids as rolloutIds } from '../../bench/suites/rollout';

/** The ids issue 11 requires ("at least these ids"). */
const REQUIRED_FIGURES = [
  'orchestration_overhead_ms_per_step',
  'dag_vs_script_ratio',
  'concurrent_pipelines',
  'concurrent_pipeline_failures',
  'pipelines_per_min',
  'serving_pred_per_s',
  'serving_p99_ms',
  'shadow_p99_ratio',
  'label_rows_per_s',
  'pull_rss_growth_mb',
  'drift_values_per_s',
  'stateful_compute_ratio',
  'stateful_accuracy_delta',
  'trigger_to_canary_s',
  'stage4_vs_stage2_accuracy_delta',
  'stage4_vs_stage2_retrain_ratio',
] as const;

interface StoredFigure {
  id: unknown;
  value: unknown;
  unit: unknown;
  min: unknown;
  max: unknown;
  runs: unknown;
  note: unknown;
}

interface StoredSuite {
  ids: unknown;
  quick: unknown;
  ok: unknown;
}

const results = JSON.parse(readFileSync(RESULTS_JSON, 'utf8')) as { machine?: unknown; versions?: unknown; figures?: StoredFigure[]; suites?: Record<string, StoredSuite> };

/** The size a figure's note says it was measured on (pattern's first group, e.g. "pulling 2000000 rows"); commas allowed. */
function countInNote(id: string, pattern: RegExp): number {
  const figure = (results.figures ?? []).find((f) => f.id === id);
  expect(figure, `${id} missing from bench/results.json`).toBeDefined();
  const match = pattern.exec(String(figure!.note));
  expect(match, `${id}: the note does not state the size it was measured on (${pattern}): ${String(figure!.note)}`).not.toBeNull();
  return Number(match![1].replace(/,/g, ''));
}

describe(`bench/results.json (${path.relative(process.cwd(), RESULTS_JSON)})`, () => {
  it('has the machine and the versions the figures were measured on', () => {
    const machine = results.machine as Record<string, unknown>;
    const versions = results.versions as Record<string, unknown>;
    expect(machine).toBeTypeOf('object');
    expect(machine).not.toBeNull();
    expect(typeof machine.cpuModel).toBe('string');
    expect(machine.cores).toBeTypeOf('number');
    expect(typeof machine.node).toBe('string');
    expect(versions).toBeTypeOf('object');
    expect(versions).not.toBeNull();
    expect(typeof versions.flywheel).toBe('string');
    expect(typeof versions.node).toBe('string');
    expect(versions.temporalio).toBeTypeOf('object');
  });

  it('has every figure the issue requires, each well-formed', () => {
    const figures = results.figures ?? [];
    expect(Array.isArray(figures)).toBe(true);
    const present = new Set(figures.map((f) => f.id));
    expect(REQUIRED_FIGURES.filter((id) => !present.has(id)), 'required figures missing from bench/results.json: run `npm run bench -- --only <id>`').toEqual([]);
    for (const id of REQUIRED_FIGURES) {
      const f = figures.find((x) => x.id === id)!;
      const value = f.value as number;
      const min = f.min as number;
      const max = f.max as number;
      expect(Number.isFinite(value), `${id}: value ${String(f.value)}`).toBe(true);
      expect(Number.isFinite(min) && Number.isFinite(max), `${id}: min ${String(f.min)}, max ${String(f.max)}`).toBe(true);
      expect(typeof f.unit === 'string' && f.unit.length > 0, `${id}: unit ${JSON.stringify(f.unit)}`).toBe(true);
      expect(min <= value && value <= max, `${id}: min ${min} ≤ value ${value} ≤ max ${max}`).toBe(true);
      expect(Number.isInteger(f.runs) && (f.runs as number) >= 1, `${id}: runs ${String(f.runs)}`).toBe(true);
      expect(typeof f.note, `${id}: note`).toBe('string');
    }
  });

  it('meets issue 11\'s bounds on the data figures, measured at full size by a full (not quick) run of the data suite', () => {
    // bench/suites/data.ts: a quick run pulls 200,000 rows and labels 100,000 predictions.
    const data = results.suites?.data;
    expect(data, 'bench/results.json has no record of the data suite').toBeDefined();
    expect(data).toMatchObject({ quick: false, ok: true });
    expect(data!.ids).toEqual(expect.arrayContaining(['label_rows_per_s', 'pull_rss_growth_mb']));

    const pull = (results.figures ?? []).find((f) => f.id === 'pull_rss_growth_mb')!;
    expect(pull.unit).toBe('MB');
    expect(pull.value as number, 'pull_rss_growth_mb: worker RSS growth while pulling must stay under 300 MB').toBeLessThan(300);
    expect(countInNote('pull_rss_growth_mb', /pulling ([\d,]+) rows/)).toBe(2_000_000);

    expect((results.figures ?? []).find((f) => f.id === 'label_rows_per_s')!.unit).toBe('rows/s');
    expect(countInNote('label_rows_per_s', /^([\d,]+) logged predictions/)).toBe(1_000_000);
  });

  it('has no figure id twice', () => {
    const idsSeen = (results.figures ?? []).map((f) => f.id);
    expect(idsSeen.filter((id, i) => idsSeen.indexOf(id) !== i)).toEqual([]);
  });
});

describe('bench/suites/rollout breakdown', () => {
  const t0 = Date.parse('2026-12-01T00:00:00Z');
  const times = { inserted: t0, fired: t0 + 500, retrainStarted: t0 + 650, rolloutStarted: t0 + 5650, shadowRouted: t0 + 5950, canaryRouted: t0 + 8950, served: t0 + 9100 };

  it('splits t_fire → t_served into parts that add up to it; detection lag is outside', () => {
    const parts = breakdown(times);
    expect(parts).toEqual({ totalS: 8.6, detectS: 0.5, fireToRetrainS: 0.15, dagS: 5, rolloutToShadowS: 0.3, shadowS: 3, canaryRouteToServedS: 0.15 });
    const sum = parts.fireToRetrainS + parts.dagS + parts.rolloutToShadowS + parts.shadowS + parts.canaryRouteToServedS;
    expect(sum).toBeCloseTo(parts.totalS, 9);
    expect(rolloutIds[0]).toBe('trigger_to_canary_s');
  });

  it('refuses a timeline out of order, naming both moments', () => {
    expect(() => breakdown({ ...times, canaryRouted: times.shadowRouted - 1 })).toThrow(/canaryRouted .* before shadowRouted/);
  });
});
