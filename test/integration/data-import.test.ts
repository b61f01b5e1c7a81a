// `flywheel data import` on a real PostgreSQL: CSV, Parquet and Arrow files (fixtures written by
// pyarrow) become a model's labelled history in batched inserts; a file with a bad row is rejected
// whole, naming its lines (CSV) or rows (Parquet, Arrow) and columns, and nothing is inserted;
// importing the same file twice adds nothing.
// Also `data label` and `data used-by`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerDataCommands } from '../../client/commands/data-import';
import { TableFileError } from '../../datasets/table-files';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { importLabelledFile } from '../../lineage/labelled-import';
import { applyModelSpec } from '../../lineage/models';
import { appendOutcomes, appendPredictions } from '../../lineage/production-log';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

const PYTHON = path.join(__dirname, '..', '..', '.tools', 'venv', 'bin', 'python');
let database: TestDatabase;
let lineage: LineageDb;
let dir: string;
const savedUrl = process.env.DATABASE_URL;

/** Runs `flywheel data …` in-process and returns what it printed, or the error it threw. */
async function flywheelData(...args: string[]): Promise<{ out: string[]; error?: Error }> {
  const program = new Command('flywheel').exitOverride();
  registerDataCommands(program);
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    await program.parseAsync(['data', ...args], { from: 'user' });
    return { out: log.mock.calls.map((c) => String(c[0])) };
  } catch (error) {
    return { out: log.mock.calls.map((c) => String(c[0])), error: error as Error };
  } finally {
    log.mockRestore();
  }
}

async function countRows(model: string): Promise<number> {
  const row = await lineage.db.selectFrom('labelled_examples').select((eb) => eb.fn.countAll<number>().as('n')).where('model_name', '=', model).executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Runs a script with the project's Python venv (pyarrow writes the fixtures). Fails rather than skips
 * when the venv is missing: scripts/setup.mjs installs it on every `npm test`, so a missing one is a
 * broken setup, and skipping would leave Parquet and Arrow imports untested.
 */
function python(script: string, ...args: string[]): string {
  if (!existsSync(PYTHON)) throw new Error(`Parquet/Arrow fixtures need pyarrow from ${PYTHON}: run \`npm run setup\` to create the Python tools venv`);
  return execFileSync(PYTHON, ['-c', script, ...args]).toString('utf8');
}

function csv(name: string, lines: string[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

beforeAll(async () => {
  database = await createTestDatabase();
  lineage = await openLineageDb({ url: database.url });
  process.env.DATABASE_URL = database.url;
  dir = mkdtempSync(path.join(tmpdir(), 'flywheel-import-'));
  await applyModelSpec(lineage.db, { name: 'imp', features: [{ name: 'age' }, { name: 'score' }, { name: 'device', type: 'categorical' }] });
});

afterAll(async () => {
  if (savedUrl === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = savedUrl;
  await lineage?.close();
  await database?.drop();
});

afterEach(async () => {
  await lineage.db.deleteFrom('labelled_examples').execute();
});

describe('flywheel data import', () => {
  it('loads a CSV as labelled history, and a second import of the same file adds nothing', async () => {
    const rows = Array.from({ length: 2_500 }, (_, i) => `2026-01-${String(1 + (i % 28)).padStart(2, '0')}T10:00:${String(i % 60).padStart(2, '0')}Z,u${i},${20 + (i % 50)},${(i / 100).toFixed(2)},${i % 3 ? 'mobile' : 'desktop'},${i % 4 === 0 ? 1 : 0}`);
    const file = csv('history.csv', ['event_time,user,age,score,device,label', ...rows]);
    const { out, error } = await flywheelData('import', 'imp', file, '--entity-column', 'user', '--json');
    expect(error).toBeUndefined();
    const result = JSON.parse(out[0]);
    expect(result).toMatchObject({ model: 'imp', format: 'csv', outcome: 'imported', rows: 2_500, firstEventTime: '2026-01-01T10:00:00.000Z', lastEventTime: '2026-01-28T10:00:59.000Z' });
    expect(result.source).toMatch(/^import:[0-9a-f]{16}$/);
    expect(await countRows('imp')).toBe(2_500);
    const first = await lineage.db.selectFrom('labelled_examples').selectAll().where('entity_id', '=', 'u1').executeTakeFirstOrThrow();
    expect(first).toMatchObject({ features: { age: 21, score: 0.01, device: 'mobile' }, label: 0, label_source: result.source, request_id: null });

    const again = await flywheelData('import', 'imp', file, '--entity-column', 'user');
    expect(again.out).toEqual([`${file} was already imported for model imp (${result.source}): nothing added`]);
    expect(await countRows('imp')).toBe(2_500);
  });

  it('rejects a file with bad rows whole, naming the lines, and inserts nothing', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => `2026-01-02T00:00:00Z,${30 + i},0.5,mobile,0`);
    rows[15] = '2026-01-02T00:00:00Z,abc,0.5,mobile,0'; // line 17 (header is line 1)
    rows[3] = '2026-01-02T00:00:00Z,30,0.5,mobile,2'; // line 5: not a binary label
    const file = csv('bad.csv', ['event_time,age,score,device,label', ...rows]);
    const { out, error } = await flywheelData('import', 'imp', file, '--json');
    expect(error?.message).toBe(
      `rejected ${file}: 2 problems: line 17: column 'age' value 'abc' is not a number; line 5: column 'label' value '2' is not 0 or 1 (binary labels); nothing was imported`,
    );
    expect(JSON.parse(out[0])).toEqual({
      error: 'rejected',
      file,
      total: 2,
      problems: [
        { where: 'line 17', column: 'age', message: "column 'age' value 'abc' is not a number" },
        { where: 'line 5', column: 'label', message: "column 'label' value '2' is not 0 or 1 (binary labels)" },
      ],
    });
    expect(await countRows('imp')).toBe(0);
  });

  it('loads Parquet and Arrow files written by pyarrow, with custom timestamp and label columns', async () => {
    const script = `
import sys, datetime as dt, pyarrow as pa, pyarrow.parquet as pq
d = sys.argv[1]
n = 1000
base = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
t = pa.table({
  'ts': pa.array([base + dt.timedelta(minutes=i) for i in range(n)], pa.timestamp('ms', tz='UTC')),
  'age': pa.array([20 + i % 40 for i in range(n)], pa.int32()),
  'score': pa.array([i / 1000 for i in range(n)], pa.float64()),
  'device': pa.array(['mobile' if i % 2 else 'tablet' for i in range(n)]),
  'clicked': pa.array([i % 5 == 0 for i in range(n)]),
})
pq.write_table(t, d + '/history.parquet')
with pa.OSFile(d + '/history.arrow', 'wb') as f:
  with pa.ipc.new_file(f, t.schema) as w: w.write_table(t)
`;
    python(script, dir);
    for (const name of ['history.parquet', 'history.arrow']) {
      await lineage.db.deleteFrom('labelled_examples').execute();
      const { out, error } = await flywheelData('import', 'imp', path.join(dir, name), '--timestamp-column', 'ts', '--label-column', 'clicked', '--json');
      expect(error).toBeUndefined();
      expect(JSON.parse(out[0])).toMatchObject({ rows: 1000, format: name.endsWith('.arrow') ? 'arrow' : 'parquet', firstEventTime: '2026-01-01T00:00:00.000Z', lastEventTime: '2026-01-01T16:39:00.000Z' });
      const stats = await lineage.db.selectFrom('labelled_examples').select((eb) => [eb.fn.sum<number>('label').as('positives'), eb.fn.countAll<number>().as('n')]).executeTakeFirstOrThrow();
      expect([Number(stats.positives), Number(stats.n)]).toEqual([200, 1000]);
    }
  });

  it('rejects a Parquet or Arrow file with one bad row, naming the row and the column, and inserts nothing', async () => {
    // Two faults a warehouse export really has, each alone in a 50-row file written by pyarrow: a
    // numeric feature exported as text with one non-number in it, and a null event time.
    const script = `
import sys, datetime as dt, pyarrow as pa, pyarrow.parquet as pq
d = sys.argv[1]
n = 50
base = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
times = [base + dt.timedelta(minutes=i) for i in range(n)]
def table(age, ts):
  return pa.table({
    'ts': pa.array(ts, pa.timestamp('ms', tz='UTC')),
    'age': age,
    'score': pa.array([i / 10 for i in range(n)], pa.float64()),
    'device': pa.array(['mobile' if i % 2 else 'tablet' for i in range(n)]),
    'clicked': pa.array([i % 5 == 0 for i in range(n)]),
  })
def write(t, name):
  pq.write_table(t, d + '/' + name + '.parquet')
  with pa.OSFile(d + '/' + name + '.arrow', 'wb') as f:
    with pa.ipc.new_file(f, t.schema) as w: w.write_table(t)
ages = [str(20 + i) for i in range(n)]
ages[12] = 'forty'
write(table(pa.array(ages, pa.string()), times), 'bad-age')
missing = list(times)
missing[36] = None
write(table(pa.array([20 + i for i in range(n)], pa.int32()), missing), 'bad-time')
`;
    python(script, dir);
    const layout = { numeric: ['age', 'score'], categorical: ['device'] };
    const cases = [
      { name: 'bad-age', problem: { where: 'row 13', column: 'age', message: "column 'age' value 'forty' is not a number" } },
      { name: 'bad-time', problem: { where: 'row 37', column: 'ts', message: "column 'ts' is empty: use ISO 8601 (2026-01-31T12:00:00Z) or epoch milliseconds" } },
    ];
    for (const { name, problem } of cases) {
      for (const ext of ['parquet', 'arrow']) {
        const file = path.join(dir, `${name}.${ext}`);
        const summary = `${file}: 1 problem: ${problem.where}: ${problem.message}`;
        // The library call: a TableFileError with the row and the column, before any insert.
        const error = await importLabelledFile(lineage.db, { modelName: 'imp', file, layout, task: 'binary_classification', timestampColumn: 'ts', labelColumn: 'clicked' }).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error, `${name}.${ext}`).toBeInstanceOf(TableFileError);
        expect((error as TableFileError).problems).toEqual([problem]);
        expect((error as TableFileError).total).toBe(1);
        expect((error as TableFileError).message).toBe(summary);
        expect(await countRows('imp')).toBe(0);

        // The CLI: the same problem in its message and its JSON, and still nothing inserted.
        const { out, error: cliError } = await flywheelData('import', 'imp', file, '--timestamp-column', 'ts', '--label-column', 'clicked', '--json');
        expect(cliError?.message).toBe(`rejected ${summary}; nothing was imported`);
        expect(JSON.parse(out[0])).toEqual({ error: 'rejected', file, total: 1, problems: [problem] });
        expect(await countRows('imp')).toBe(0);
      }
    }
    const all = await lineage.db.selectFrom('labelled_examples').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(all.n)).toBe(0);
  });

  it('names an unknown model and a missing timestamp column with the flag to pass', async () => {
    const file = csv('nots.csv', ['when,age,score,device,label', '2026-01-02T00:00:00Z,1,1,a,0']);
    expect((await flywheelData('import', 'nope', file)).error?.message).toBe('unknown model "nope": apply its spec first (flywheel models apply <spec.json>); known models: imp');
    expect((await flywheelData('import', 'imp', file)).error?.message).toContain("no timestamp column found (columns: 'when', 'age', 'score', 'device', 'label'); pass --timestamp-column");
  });
});

describe('flywheel data label and used-by', () => {
  it('labels the prediction log under the spec rule and reports the counts', async () => {
    await applyModelSpec(lineage.db, { name: 'clicks', features: [{ name: 'x' }], labels: { kind: 'event_within', eventType: 'click', window: '30m' } });
    const t0 = Date.parse('2026-01-05T00:00:00Z');
    await appendPredictions(lineage.db, Array.from({ length: 10 }, (_, i) => ({ requestId: `q${i}`, modelName: 'clicks', versionId: 'clicks@v1', features: { x: i }, predictedAt: new Date(t0 + i * 60_000) })));
    await appendOutcomes(lineage.db, [0, 1, 2].map((i) => ({ requestId: `q${i}`, modelName: 'clicks', eventType: 'click', occurredAt: new Date(t0 + i * 60_000 + 5_000) })));
    const { out, error } = await flywheelData('label', 'clicks', '--reference-time', '2026-01-05T00:35:00Z', '--json');
    expect(error).toBeUndefined();
    expect(JSON.parse(out[0])).toMatchObject({ model: 'clicks', predictions: 10, labelled: 6, positives: 3, negatives: 3, pending: 4 });
    expect((await flywheelData('label', 'imp')).error?.message).toBe('model "imp" has no labels rule: add a "labels" section to its spec (e.g. { "kind": "event_within", "eventType": "click", "window": "30m" })');
  });

  it('used-by names an unknown dataset', async () => {
    expect((await flywheelData('used-by', 'ds-nope')).error?.message).toBe('unknown dataset "ds-nope": list a model\'s datasets in lineage (datasets table) or check the id');
  });
});
