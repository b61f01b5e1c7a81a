// Another service starts a retrain in Python: test/reference/start_retrain.py (the temporalio
// Python SDK, in the project's venv) starts `retrainWorkflow` by name on task queue `flywheel`
// against a real dev server, and TypeScript workers run the DAG into a fresh PostgreSQL database.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { openArtifactStore } from '../../storage/artifact-store';
import { ModelName, PipelineStep, TriggerReason } from '../../workflows/search-attributes';
import type { RetrainResult } from '../../workflows/types';
import { HISTORY_END, seedModel } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, startTestWorkers, type RunningWorkers, type TestTemporal } from '../support/temporal';

const ROOT = path.join(__dirname, '..', '..');
const PYTHON = path.join(ROOT, '.tools', 'venv', 'bin', 'python');
const SCRIPT = path.join(ROOT, 'test', 'reference', 'start_retrain.py');
const MODEL = 'pyctr';

interface PythonRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Asynchronous on purpose: the workers run in this process and must keep polling meanwhile. */
function startRetrainInPython(args: string[], timeoutMs = 90_000): Promise<PythonRun> {
  if (!existsSync(PYTHON)) throw new Error(`no Python venv at ${PYTHON}; run npm run setup`);
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`start_retrain.py ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function parseResult(run: PythonRun): RetrainResult {
  if (run.code !== 0) throw new Error(`start_retrain.py exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as RetrainResult;
}

describe('a Python service starts the retrain DAG (temporalio SDK → TypeScript workers)', () => {
  let database: TestDatabase;
  let artifactDir: string;
  let lineage: LineageDb;
  let temporal: TestTemporal;
  let workers: RunningWorkers;

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    artifactDir = mkdtempSync(path.join(tmpdir(), 'flywheel-py-'));
    const store = openArtifactStore(pathToFileURL(artifactDir).toString());
    temporal = await startTestTemporal();
    workers = await startTestWorkers(temporal.server.address, { db: lineage.db, store });
    await seedModel(lineage.db, MODEL, 1500);
  });

  afterAll(async () => {
    await workers?.stop();
    await temporal?.stop();
    await lineage?.close();
    await database?.drop();
    if (artifactDir) rmSync(artifactDir, { recursive: true, force: true });
  });

  it('starts retrainWorkflow by name, waits, and prints the promoted result as JSON', async () => {
    const run = await startRetrainInPython([temporal.server.address, MODEL, '--key', 'first', '--reference-time', HISTORY_END.toISOString()]);
    const result = parseResult(run);
    expect(result).toMatchObject({
      workflowId: `retrain/${MODEL}/py-first`,
      model: MODEL,
      trigger: 'python-service',
      decision: 'promoted',
      version: 'v1',
      versionId: `${MODEL}@v1`,
      rows: { total: 1350 },
    });
    expect(result.metrics.auc).toBeGreaterThan(0.75);

    // Lineage records who started it.
    const { db } = lineage;
    const runRow = await db.selectFrom('pipeline_runs').selectAll().where('id', '=', `retrain/${MODEL}/py-first`).executeTakeFirstOrThrow();
    expect(runRow).toMatchObject({ trigger: 'python-service', status: 'succeeded', model_name: MODEL, candidate_version_id: `${MODEL}@v1`, run_id: result.runId });
    const version = await db.selectFrom('model_versions').selectAll().where('id', '=', `${MODEL}@v1`).executeTakeFirstOrThrow();
    expect(version).toMatchObject({ status: 'champion', pipeline_run_id: runRow.id, dataset_id: result.datasetId });

    // The typed search attributes Python set (and the ones the workflow upserted) on the same run.
    const description = await temporal.client.workflow.getHandle(result.workflowId).describe();
    expect(description.type).toBe('retrainWorkflow');
    expect(description.taskQueue).toBe('flywheel');
    expect(description.runId).toBe(result.runId);
    expect(description.typedSearchAttributes.get(ModelName)).toBe(MODEL);
    expect(description.typedSearchAttributes.get(TriggerReason)).toBe('python-service');
    expect(description.typedSearchAttributes.get(PipelineStep)).toBe('done');
  });

  it('is idempotent per key: the same key returns the same run and adds no version', async () => {
    const again = parseResult(await startRetrainInPython([temporal.server.address, MODEL, '--key', 'first', '--reference-time', HISTORY_END.toISOString()]));
    expect(again).toMatchObject({ workflowId: `retrain/${MODEL}/py-first`, versionId: `${MODEL}@v1` });
    const versions = await lineage.db.selectFrom('model_versions').select('id').where('model_name', '=', MODEL).execute();
    expect(versions.map((v) => v.id)).toEqual([`${MODEL}@v1`]);
  });

  it('an unknown model fails with one line on stderr naming it, and exit code 1', async () => {
    const run = await startRetrainInPython([temporal.server.address, 'nosuchmodel', '--key', 'first']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^start_retrain: workflow failed: .*unknown model "nosuchmodel"/);
  });
});
