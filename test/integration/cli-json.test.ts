// Every lineage/control command's --json output, through the real CLI against a real Temporal dev
// server and PostgreSQL: one JSON document on stdout that scripts can parse.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { insertLabelledExamples } from '../../lineage/labelled-examples';
import { generateCtrHistory } from '../../scenarios/ctr-history';
import { openArtifactStore } from '../../storage/artifact-store';
import { runCli } from '../support/cli';
import { HISTORY_END } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, startTestWorkers, type RunningWorkers, type TestTemporal } from '../support/temporal';

const SPEC = path.join(__dirname, '..', '..', 'examples', 'ctr.model.json');

describe('flywheel --json', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let temporal: TestTemporal;
  let workers: RunningWorkers;
  let env: Record<string, string>;

  const json = async (args: string[]) => {
    const result = await runCli([...args, '--json'], env);
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines, args.join(' ')).toHaveLength(1);
    return JSON.parse(lines[0]);
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    const artifacts = pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-cli-json-'))).toString();
    temporal = await startTestTemporal();
    workers = await startTestWorkers(temporal.server.address, { db: lineage.db, store: openArtifactStore(artifacts) });
    await insertLabelledExamples(lineage.db, 'ctr', generateCtrHistory({ seed: 7, rows: 1500, end: HISTORY_END, days: 30 }));
    env = { DATABASE_URL: database.url, TEMPORAL_ADDRESS: temporal.server.address, FLYWHEEL_ARTIFACT_ROOT: artifacts };
  });

  afterAll(async () => {
    await workers?.stop();
    await temporal?.stop();
    await lineage?.close();
    await database?.drop();
  });

  it('models apply, retrain, models list/show, status, lineage, rollout history', async () => {
    expect(await json(['models', 'apply', SPEC])).toMatchObject({ model: 'ctr', outcome: 'created', stage: 1, schedule: 'none', continual: 'none' });
    expect(await json(['models', 'apply', SPEC])).toMatchObject({ outcome: 'unchanged' });

    const retrain = await json(['retrain', 'ctr', '--reference-time', HISTORY_END.toISOString(), '--key', 'cli']);
    expect(retrain).toMatchObject({ workflowId: 'retrain/ctr/cli', versionId: 'ctr@v1', decision: 'promoted', trainingMode: 'stateless' });

    expect(await json(['models', 'list'])).toEqual([{ model: 'ctr', stage: 1, specHash: expect.any(String), champion: 'ctr@v1' }]);
    expect(await json(['models', 'show', 'ctr'])).toMatchObject({ model: 'ctr', stage: 1, champion: 'ctr@v1', spec: { name: 'ctr' } });

    const status = await json(['status', 'ctr']);
    expect(status[0]).toMatchObject({ model: 'ctr', champion: 'ctr@v1', runs: [{ id: 'retrain/ctr/cli', status: 'succeeded', step: 'done', candidate: 'ctr@v1' }] });

    const ancestry = await json(['lineage', 'ctr']);
    expect(ancestry.ancestry[0]).toMatchObject({ version: 'ctr@v1', status: 'champion', trainingMode: 'stateless', evaluation: { decision: 'pass' } });
    const at = await json(['lineage', 'ctr', '--at', new Date().toISOString()]);
    expect(at.ancestry[0].version).toBe('ctr@v1');

    const history = await json(['rollout', 'history', 'ctr']);
    expect(JSON.stringify(history)).toContain('ctr@v1');

    const started = await json(['retrain', 'ctr', '--reference-time', HISTORY_END.toISOString(), '--key', 'cli-async', '--no-wait']);
    expect(started).toEqual({ workflowId: 'retrain/ctr/cli-async' });
  });

  it('errors stay one line on stderr with a non-zero exit, even with --json', async () => {
    const result = await runCli(['lineage', 'nope', '--json'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim()).toBe('flywheel: model "nope" has no versions yet');
  });

  it('usage errors (missing argument, unknown option) are one line, no help dump, non-zero exit', async () => {
    const missing = await runCli(['retrain'], env);
    expect(missing.code).not.toBe(0);
    expect(missing.stdout).toBe('');
    expect(missing.stderr.trim().split('\n')).toEqual(["error: missing required argument 'model' (see flywheel retrain --help)"]);
    const unknown = await runCli(['schedule', 'pause', 'ctr', '--bogus'], env);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trim().split('\n')).toEqual(["error: unknown option '--bogus' (see flywheel schedule pause --help)"]);
  });
});
