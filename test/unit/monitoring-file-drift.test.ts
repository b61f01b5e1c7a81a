// Drift between two files, in process: which columns are compared by default, the label column
// when asked for, projections, and the one-line errors for columns that are missing, typed
// differently in the two files, or empty.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readTableFile } from '../../datasets/table-files';
import { fileDriftReport } from '../../monitoring/file-drift';
import { createRng } from '../../ml/random';

let dir: string;

function write(name: string, header: string[], rows: Array<Array<string | number>>): string {
  const file = path.join(dir, name);
  writeFileSync(file, [header.join(','), ...rows.map((r) => r.join(','))].join('\n'));
  return file;
}

function rows(seed: number, n: number, shift: number): Array<Array<string | number>> {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => [`2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`, `u${i}`, (rng.normal() + shift).toFixed(4), rng.normal().toFixed(4), rng.next() < 0.5 ? 'a' : 'b', rng.next() < 0.2 ? 1 : 0]);
}

const HEADER = ['event_time', 'entity_id', 'x', 'y', 'group', 'label'];
let reference: string;
let current: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'flywheel-file-drift-'));
  reference = write('ref.csv', HEADER, rows(1, 1500, 0));
  current = write('cur.csv', HEADER, rows(2, 1200, 1));
});

describe('fileDriftReport', () => {
  it('compares the shared columns except time and entity ids; the label is a column like any other', async () => {
    const result = fileDriftReport(await readTableFile(reference), await readTableFile(current));
    expect(result.features).toEqual([
      { name: 'x', kind: 'numeric' },
      { name: 'y', kind: 'numeric' },
      { name: 'group', kind: 'categorical' },
      { name: 'label', kind: 'numeric' },
    ]);
    expect(result.report.firedFeatures).toEqual(['x']);
    expect(result.reference.rows).toBe(1500);
    expect(result.current.rows).toBe(1200);
  });

  it('chosen columns and projections', async () => {
    const result = fileDriftReport(await readTableFile(reference), await readTableFile(current), { features: ['x', 'y'], projections: 3 });
    expect(result.report.signals.map((s) => s.feature)).toEqual(['x', 'y', 'projection:0', 'projection:1', 'projection:2']);
    expect(result.report.projectionShareDrifted).toBeGreaterThan(0);
  });

  it('one-line errors naming the column and the file', async () => {
    const ref = await readTableFile(reference);
    const cur = await readTableFile(current);
    expect(() => fileDriftReport(ref, cur, { features: ['x', 'tenure'] })).toThrow(`column 'tenure' is not in ${reference} (columns: event_time, entity_id, x, y, group, label)`);
    expect(() => fileDriftReport(ref, cur, { features: ['x', 'x'] })).toThrow("--features lists 'x' twice");
    const text = await readTableFile(write('text.csv', ['x'], [['low'], ['high']]));
    expect(() => fileDriftReport(ref, text, { features: ['x'] })).toThrow(`column 'x' holds numbers in ${reference} but text in ${path.join(dir, 'text.csv')}: fix the values or leave the column out with --features`);
    const empty = await readTableFile(write('empty.csv', ['x', 'z'], [['', 1], ['', 2]]));
    expect(() => fileDriftReport(ref, empty, { features: ['x'] })).toThrow(`${path.join(dir, 'empty.csv')}: column 'x' has no values (every row is empty or not a number); leave it out with --features`);
    const other = await readTableFile(write('other.csv', ['w'], [[1]]));
    expect(() => fileDriftReport(ref, other)).toThrow('share no column to compare');
  });
});
