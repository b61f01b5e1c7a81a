// readTableFile: CSV, Parquet and Arrow files read into the same typed columns; bad values are
// reported by CSV line or file row, with the column, the value and what was expected.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ColumnSource } from 'hyparquet-writer';
import { readTableFile, TableFileError } from '../../datasets/table-files';

const PYTHON = path.join(__dirname, '..', '..', '.tools', 'venv', 'bin', 'python');
const layout = { numeric: ['age', 'score'], categorical: ['device'] };
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'flywheel-tables-'));
});

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

async function problemsOf(promise: Promise<unknown>): Promise<TableFileError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TableFileError) return error;
    throw error;
  }
  throw new Error('expected a TableFileError');
}

describe('CSV', () => {
  it('reads declared columns, timestamps (ISO, zone-less as UTC, epoch ms), labels and entities', async () => {
    const file = write(
      'ok.csv',
      'event_time,entity_id,age,score,device,label\n2026-01-01T00:00:00Z,u1,31,0.5,mobile,1\n2026-01-01 06:00:00,u2,,1.5,,0\n1767225600000,u3,40,-2e-1,"tab,let",0\n',
    );
    const table = await readTableFile(file, { layout });
    expect(table.format).toBe('csv');
    expect(table.rowCount).toBe(3);
    expect(Array.from(table.timestamps!)).toEqual([Date.parse('2026-01-01T00:00:00Z'), Date.parse('2026-01-01T06:00:00Z'), 1767225600000]);
    expect(table.numeric.age).toEqual(Float64Array.from([31, Number.NaN, 40]));
    expect(table.numeric.score).toEqual(Float64Array.from([0.5, 1.5, -0.2]));
    expect(table.categorical.device).toEqual(['mobile', null, 'tab,let']);
    expect(Array.from(table.labels!)).toEqual([1, 0, 0]);
    expect(table.entityIds).toEqual(['u1', 'u2', 'u3']);
    expect([0, 1, 2].map(table.rowLabel)).toEqual(['line 2', 'line 3', 'line 4']);
  });

  it('names each bad line, column and value; a quoted multi-line field keeps later line numbers right', async () => {
    const lines = ['ts,age,score,device,y', '2026-01-01T00:00:00Z,31,0.5,"multi', 'line",1'];
    for (let i = 0; i < 13; i++) lines.push(`2026-01-01T00:00:00Z,${20 + i},0.1,mobile,0`);
    lines.push('2026-01-02T00:00:00Z,abc,0.1,mobile,0'); // line 17
    lines.push('yesterday,30,0.1,mobile,1'); // line 18
    lines.push('2026-01-02T00:00:00Z,30,0.1,mobile'); // line 19
    const error = await problemsOf(readTableFile(write('bad.csv', `${lines.join('\n')}\n`), { layout, timestampColumn: 'ts', labelColumn: 'y' }));
    expect(error.problems.map((p) => `${p.where}: ${p.message}`)).toEqual([
      'line 19: has 4 fields, the header has 5',
      "line 17: column 'age' value 'abc' is not a number",
      "line 19: column 'y' has no label",
      "line 18: column 'ts' value 'yesterday' is not a timestamp: use ISO 8601 (2026-01-31T12:00:00Z) or epoch milliseconds",
    ]);
    expect(error.message).toContain("line 17: column 'age' value 'abc' is not a number");
  });

  it('lists the first N problems and counts the rest', async () => {
    const rows = Array.from({ length: 30 }, () => '2026-01-01T00:00:00Z,x,1,a,0');
    const error = await problemsOf(readTableFile(write('many.csv', `event_time,age,score,device,label\n${rows.join('\n')}\n`), { layout, maxErrors: 5 }));
    expect(error.total).toBe(30);
    expect(error.problems).toHaveLength(5);
    expect(error.message).toMatch(/^.*many\.csv: 30 problems: line 2: .*; … and 25 more$/);
  });

  it('names a missing feature or timestamp column and the flag that fixes it', async () => {
    const error = await problemsOf(readTableFile(write('cols.csv', 'when,age,label\n2026-01-01T00:00:00Z,1,0\n'), { layout, requireTimestamp: true }));
    expect(error.problems.map((p) => p.message)).toEqual([
      "no timestamp column found (columns: 'when', 'age', 'label'); pass --timestamp-column",
      "feature column 'score' is missing (columns: 'when', 'age', 'label'): add it or rename the file's column",
      "feature column 'device' is missing (columns: 'when', 'age', 'label'): add it or rename the file's column",
    ]);
  });

  it('infers column types without a layout', async () => {
    const table = await readTableFile(write('infer.csv', 'event_time,a,b,label\n2026-01-01T00:00:00Z,1,x,0\n2026-01-01T00:00:01Z,,2,1\n'));
    expect(Object.keys(table.numeric)).toEqual(['a']);
    expect(table.categorical.b).toEqual(['x', '2']);
  });

  it('rejects an unknown extension and a missing file', async () => {
    expect((await problemsOf(readTableFile(write('x.xlsx', '')))).message).toContain('unknown file type ".xlsx": use .csv, .parquet or .arrow');
    expect((await problemsOf(readTableFile(path.join(dir, 'nope.csv')))).message).toContain('nope.csv: 1 problem: no such file');
  });
});

describe('Parquet and Arrow', () => {
  it('reads a Parquet file written by hyparquet-writer, with row numbers in messages', async () => {
    const { parquetWriteBuffer } = await import('hyparquet-writer');
    const columnData: ColumnSource[] = [
      { name: 'event_time', data: [new Date(1767225600000), new Date(1767229200000)], type: 'TIMESTAMP' },
      { name: 'age', data: [31, 40], type: 'DOUBLE' },
      { name: 'score', data: [0.5, 1.5], type: 'DOUBLE' },
      { name: 'device', data: ['mobile', 'desktop'], type: 'STRING' },
      { name: 'label', data: [1, 7], type: 'DOUBLE' },
    ];
    const buffer = parquetWriteBuffer({ columnData });
    const file = path.join(dir, 'w.parquet');
    writeFileSync(file, Buffer.from(buffer));
    const table = await readTableFile(file, { layout });
    expect(table.format).toBe('parquet');
    expect(Array.from(table.timestamps!)).toEqual([1767225600000, 1767229200000]);
    expect(table.categorical.device).toEqual(['mobile', 'desktop']);
    expect(table.rowLabel(1)).toBe('row 2');
  });

  it('reads Parquet and Arrow files written by pyarrow (timestamps with a zone, nulls, int columns)', async () => {
    // Fail rather than skip: scripts/setup.mjs installs the venv on every `npm test`, so a missing one
    // is a broken setup, and skipping would leave pyarrow-written files untested.
    if (!existsSync(PYTHON)) throw new Error(`pyarrow fixtures need ${PYTHON}: run \`npm run setup\` to create the Python tools venv`);
    const script = `
import sys, datetime as dt, pyarrow as pa, pyarrow.parquet as pq
d = sys.argv[1]
utc = dt.timezone.utc
t = pa.table({
  'event_time': pa.array([dt.datetime(2026,1,1,tzinfo=utc), dt.datetime(2026,1,2,12,tzinfo=utc)], pa.timestamp('us', tz='UTC')),
  'entity_id': ['u1', 'u2'], 'age': pa.array([31, None], pa.int64()), 'score': [0.5, 1.5],
  'device': ['mobile', None], 'label': pa.array([1, 0], pa.int8()),
})
pq.write_table(t, d + '/py.parquet')
with pa.OSFile(d + '/py.arrow', 'wb') as f:
  with pa.ipc.new_file(f, t.schema) as w: w.write_table(t)
bad = t.set_column(2, 'age', pa.array(['31', 'old']))
pq.write_table(bad, d + '/bad.parquet')
`;
    execFileSync(PYTHON, ['-c', script, dir]);
    for (const name of ['py.parquet', 'py.arrow']) {
      const table = await readTableFile(path.join(dir, name), { layout });
      expect(Array.from(table.timestamps!)).toEqual([Date.parse('2026-01-01T00:00:00Z'), Date.parse('2026-01-02T12:00:00Z')]);
      expect(table.numeric.age).toEqual(Float64Array.from([31, Number.NaN]));
      expect(table.categorical.device).toEqual(['mobile', null]);
      expect(Array.from(table.labels!)).toEqual([1, 0]);
      expect(table.entityIds).toEqual(['u1', 'u2']);
    }
    const error = await problemsOf(readTableFile(path.join(dir, 'bad.parquet'), { layout }));
    expect(error.problems.map((p) => `${p.where}: ${p.message}`)).toEqual(["row 2: column 'age' value 'old' is not a number"]);
  });
});
