// The spec's data and labels sections: documented defaults, durations, and errors that name the
// field and the fix.
import { describe, expect, it } from 'vitest';
import { parseDurationMs } from '../../spec/data-spec';
import { InvalidSpecError, parseModelSpec } from '../../spec/model-spec';

const base = { name: 'm', features: [{ name: 'a' }, { name: 'dev', type: 'categorical' }] };

function problems(extra: Record<string, unknown>): string[] {
  try {
    parseModelSpec({ ...base, ...extra });
  } catch (error) {
    if (error instanceof InvalidSpecError) return error.problems;
    throw error;
  }
  throw new Error('expected the spec to be rejected');
}

describe('data section', () => {
  it('fills documented defaults and keeps the existing ones', () => {
    const spec = parseModelSpec(base);
    expect(spec.data).toEqual({
      source: 'labelled_examples',
      windowDays: 30,
      validationFraction: 0.2,
      minRows: 50,
      sampling: { kind: 'none' },
      rebalance: { kind: 'none' },
      dedupe: { key: 'entity_time' },
      validation: {
        enabled: true,
        maxNullRate: 0.05,
        maxOutOfRangeShare: 0.05,
        maxQuantileShift: 2,
        maxUnseenCategoryShare: 0.1,
        rowCountHistory: 5,
        minRowCountRatio: 0.5,
        maxRowCountRatio: 3,
        minLabelRate: 0.001,
        maxLabelRate: 0.999,
      },
      seed: 42,
    });
    expect(spec.labels).toBeUndefined();
  });

  it('accepts a table source and names a missing field of it', () => {
    const spec = parseModelSpec({ ...base, data: { source: { kind: 'table', table: 'wh.events', timestampColumn: 'ts', labelColumn: 'clicked', columns: { a: 'col_a' } } } });
    expect(spec.data.source).toEqual({ kind: 'table', table: 'wh.events', timestampColumn: 'ts', labelColumn: 'clicked', columns: { a: 'col_a' } });
    expect(problems({ data: { source: { kind: 'table', table: 'x', labelColumn: 'y' } } })).toEqual(['data.source.timestampColumn: Invalid input: expected string, received undefined']);
    expect(problems({ data: { source: 'warehouse' } })[0]).toBe('data.source: use "labelled_examples" or { "kind": "table", "table": …, "timestampColumn": …, "labelColumn": … }');
    expect(problems({ data: { source: { kind: 'table', table: 'x; drop table y', timestampColumn: 't', labelColumn: 'y' } } })[0]).toContain('data.source.table: use "table" or "schema.table"');
    expect(problems({ data: { source: { kind: 'table', table: 'x', timestampColumn: 't', labelColumn: 'y', columns: { nope: 'c' } } } })).toEqual([
      'data.source.columns.nope: no feature named "nope": map declared features to columns',
    ]);
  });

  it('checks sampling, rebalance and validation settings', () => {
    expect(problems({ data: { sampling: { kind: 'uniform' } } })).toEqual(['data.sampling: uniform sampling takes exactly one of "fraction" (0-1] or "rows"']);
    expect(problems({ data: { sampling: { kind: 'stratified', column: 'zz', rows: 10 } } })).toEqual(['data.sampling.column: no feature named "zz": stratify by "label" or a declared feature']);
    expect(problems({ data: { sampling: { kind: 'reservoir', rows: 0 } } })[0]).toMatch(/^data\.sampling\.rows:/);
    expect(problems({ data: { rebalance: { kind: 'downsample', targetPositiveRate: 1.5 } } })[0]).toMatch(/^data\.rebalance\.targetPositiveRate:/);
    expect(problems({ data: { validation: { minLabelRate: 0.5, maxLabelRate: 0.1 } } })).toEqual(['data.validation.minLabelRate: minLabelRate 0.5 is above maxLabelRate 0.1']);
    const spec = parseModelSpec({ ...base, data: { sampling: { kind: 'importance', weightColumn: 'w', rows: 100 }, rebalance: { kind: 'upsample', targetPositiveRate: 0.3 } } });
    expect(spec.data.sampling).toEqual({ kind: 'importance', weightColumn: 'w', rows: 100 });
  });
});

describe('labels section', () => {
  it('parses durations', () => {
    expect(parseDurationMs('30m')).toBe(1_800_000);
    expect(parseDurationMs('1.5h')).toBe(5_400_000);
    expect(parseDurationMs('7d')).toBe(604_800_000);
    expect(parseDurationMs('45s')).toBe(45_000);
    expect(parseDurationMs('0m')).toBeNull();
    expect(parseDurationMs('30 minutes')).toBeNull();
  });

  it('accepts an event_within rule with defaults', () => {
    const spec = parseModelSpec({ ...base, labels: { kind: 'event_within', eventType: 'click', window: '30m' } });
    expect(spec.labels).toEqual({ kind: 'event_within', eventType: 'click', window: '30m', joinOn: 'request_id' });
  });

  it('names a bad window, kind or task mismatch', () => {
    expect(problems({ labels: { kind: 'event_within', eventType: 'click', window: '30x' } })).toEqual(['labels.window: use a positive number and a unit s, m, h or d, e.g. "30m", "2h", "7d"']);
    expect(problems({ labels: { kind: 'event_value', eventType: 'arrived', window: '2h' } })).toEqual([
      'labels.kind: event_value gives numeric labels; a binary_classification model needs event_within',
    ]);
    expect(problems({ labels: { kind: 'soon' } })[0]).toMatch(/^labels\.kind:/);
    expect(problems({ labels: { kind: 'event_within', eventType: 'click', window: '30m', joinOn: 'session' } })[0]).toMatch(/^labels\.joinOn:/);
  });
});
