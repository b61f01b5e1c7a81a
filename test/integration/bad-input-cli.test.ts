// Bad input through the real CLI: each case ends with one clear line naming the problem (no stack
// trace), a non-zero exit, and no partial lineage rows.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../infra/ports';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { applyModelSpec } from '../../lineage/models';
import { openArtifactStore } from '../../storage/artifact-store';
import { runCli, userLines } from '../support/cli';
import { exampleSpec, HISTORY_END } from '../support/fixtures';
import { createTestDatabase, nonexistentDatabaseUrl, type TestDatabase } from '../support/postgres';
import { startTestTemporal, startTestWorkers, type RunningWorkers, type TestTemporal } from '../support/temporal';

function expectOneCleanLine(stderr: string): string {
  const lines = userLines(stderr);
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
  return lines[0];
}

describe('bad input through the CLI', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let temporal: TestTemporal;
  let workers: RunningWorkers;
  let artifactDir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    artifactDir = mkdtempSync(path.join(tmpdir(), 'flywheel-bad-'));
    temporal = await startTestTemporal();
    workers = await startTestWorkers(temporal.server.address, { db: lineage.db, store: openArtifactStore(`file://${artifactDir}`) });
    await applyModelSpec(lineage.db, exampleSpec({ name: 'empty' }));
  });

  afterAll(async () => {
    await workers?.stop();
    await temporal?.stop();
    await lineage?.close();
    await database?.drop();
  });

  it('a database that does not exist', async () => {
    const url = nonexistentDatabaseUrl();
    const result = await runCli(['models', 'apply', path.join(__dirname, '..', '..', 'examples', 'ctr.model.json')], { DATABASE_URL: url });
    expect(result.code).toBe(1);
    const line = expectOneCleanLine(result.stderr);
    expect(line).toMatch(/^flywheel: cannot open lineage database postgres:\/\/postgres@127\.0\.0\.1:5432\/flywheel_missing_[0-9a-f]+: database "flywheel_missing_[0-9a-f]+" does not exist — create it/);
  });

  it('an unreachable Temporal address', async () => {
    const port = await freePort();
    const result = await runCli(['retrain', 'ctr'], { TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
    expect(result.code).toBe(1);
    const line = expectOneCleanLine(result.stderr);
    expect(line).toContain(`flywheel: cannot reach Temporal at 127.0.0.1:${port}`);
    expect(line).toContain('set TEMPORAL_ADDRESS');
  });

  it('an empty data window stops the run and leaves no partial rows', async () => {
    const result = await runCli(['retrain', 'empty', '--reference-time', HISTORY_END.toISOString(), '--key', 'empty-window', '--json'], {
      TEMPORAL_ADDRESS: temporal.server.address,
    });
    expect(result.code).toBe(1);
    const line = expectOneCleanLine(result.stderr);
    expect(line).toBe(
      'flywheel: workflow failed in pullLabelledWindow [EmptyDataWindow]: no labelled rows for model "empty" in window [2026-01-01T00:00:00.000Z, 2026-01-31T00:00:00.000Z): load data (flywheel data import) or widen data.windowDays',
    );
    const { db } = lineage;
    for (const table of ['datasets', 'model_versions', 'evaluations', 'deployments'] as const) {
      expect(await db.selectFrom(table).selectAll().execute(), table).toEqual([]);
    }
    const run = await db.selectFrom('pipeline_runs').selectAll().where('id', '=', 'retrain/empty/empty-window').executeTakeFirstOrThrow();
    expect(run.status).toBe('failed');
    expect(run.current_step).toBe('pull');
    expect(run.error).toContain('no labelled rows for model "empty"');
  });

  it('an unknown model', async () => {
    const result = await runCli(['retrain', 'nope', '--key', 'unknown'], { TEMPORAL_ADDRESS: temporal.server.address });
    expect(result.code).toBe(1);
    expect(expectOneCleanLine(result.stderr)).toBe(
      'flywheel: workflow failed in startPipelineRun [UnknownModel]: unknown model "nope": apply its spec first (flywheel models apply <spec.json>); known models: empty',
    );
  });

  it('an invalid spec names every bad field and stores nothing', async () => {
    const file = path.join(artifactDir, 'bad.json');
    writeFileSync(file, JSON.stringify({ name: 'Bad Name', features: [], trainer: { learningRate: -1 }, extra: true }));
    const result = await runCli(['models', 'apply', file], { DATABASE_URL: database.url });
    expect(result.code).toBe(1);
    const line = expectOneCleanLine(result.stderr);
    expect(line).toContain('flywheel: invalid model spec:');
    expect(line).toContain('name: use lowercase letters');
    expect(line).toContain('features: declare at least one feature');
    expect(line).toContain('trainer.learningRate');
    expect(line).toContain('extra');
    expect(await lineage.db.selectFrom('models').select('name').execute()).toEqual([{ name: 'empty' }]);
  });
});
