// End to end on the real stack: Temporal dev server, PostgreSQL (fresh database), file:// artifact
// store. Runs the retrain DAG, then checks lineage, the snapshot (no validation row earlier than a
// training row), the artifact, and that onnxruntime-node's
// predictions for the promoted model match the TypeScript forward pass — both with the weights read
// back from the ONNX file and with the trainer's own float64 weights from its final checkpoint, so
// an export that wrote wrong weights cannot pass.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRetrain } from '../../client/retrain';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { currentChampion } from '../../lineage/models';
import { createMatrix } from '../../ml/dataset-matrix';
import { predictProba } from '../../ml/logistic-regression';
import { logisticRegressionFromOnnx } from '../../ml/onnx';
import { OnnxModel } from '../../ml/onnx-runtime';
import { createRng } from '../../ml/random';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { decodeCheckpoint } from '../../training/checkpoint';
import { HISTORY_END, seedModel } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, startTestWorkers, type RunningWorkers, type TestTemporal } from '../support/temporal';

describe('retrain DAG on Temporal + PostgreSQL + file:// store', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let store: ArtifactStore;
  let temporal: TestTemporal;
  let workers: RunningWorkers;

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-e2e-'))).toString());
    temporal = await startTestTemporal();
    workers = await startTestWorkers(temporal.server.address, { db: lineage.db, store });
    await seedModel(lineage.db, 'ctr', 1500);
  });

  afterAll(async () => {
    await workers?.stop();
    await temporal?.stop();
    await lineage?.close();
    await database?.drop();
  });

  it('pulls, snapshots, trains, evaluates, registers and promotes a champion', async () => {
    const handle = await startRetrain(temporal.client, { model: 'ctr', referenceTime: HISTORY_END.toISOString(), idempotencyKey: 'first' });
    expect(handle.workflowId).toBe('retrain/ctr/first');
    const result = await handle.result();

    expect(result.decision).toBe('promoted');
    expect(result.versionId).toBe('ctr@v1');
    expect(result.metrics.auc).toBeGreaterThan(0.75);

    const { db } = lineage;
    const run = await db.selectFrom('pipeline_runs').selectAll().where('id', '=', 'retrain/ctr/first').executeTakeFirstOrThrow();
    expect(run).toMatchObject({ status: 'succeeded', current_step: 'done', trigger: 'manual', stage: 1, candidate_version_id: 'ctr@v1' });
    expect(Object.keys(run.timings).sort()).toEqual(['dataset', 'evaluate', 'promote', 'pull', 'register', 'train', 'validate']);

    const version = await db.selectFrom('model_versions').selectAll().where('id', '=', 'ctr@v1').executeTakeFirstOrThrow();
    expect(version).toMatchObject({ status: 'champion', training_mode: 'stateless', parent_version_id: null, dataset_id: result.datasetId, pipeline_run_id: run.id });
    expect(version.samples_seen).toBeGreaterThanOrEqual(1200);
    expect(version.metrics.auc).toBeCloseTo(result.metrics.auc, 12);

    const dataset = await db.selectFrom('datasets').selectAll().where('id', '=', result.datasetId).executeTakeFirstOrThrow();
    expect(dataset.row_count).toBe(1350);
    expect(dataset.window_end.toISOString()).toBe(HISTORY_END.toISOString());
    expect(await store.exists(dataset.uri)).toBe(true);
    expect(await store.exists(dataset.uri.replace(/data\.arrow$/, 'manifest.json'))).toBe(true);

    // No leakage in the snapshot the promoted version trained and was validated on: read its Arrow
    // IPC file with apache-arrow itself (not the project's decoder). Every validation row (split 1)
    // is strictly later than every training row (split 0), as the manifest says.
    expect(version.dataset_id).toBe(dataset.id);
    const manifest = JSON.parse((await store.get(dataset.uri.replace(/data\.arrow$/, 'manifest.json'))).toString('utf8')) as { trainRows: number; validationRows: number; validationStartsAt: string };
    const snapshot = tableFromIPC(await store.get(dataset.uri));
    expect(snapshot.numRows).toBe(dataset.row_count);
    const eventTimes = snapshot.getChild('event_time_ms')!.toArray() as Float64Array;
    const split = snapshot.getChild('split')!.toArray() as Int8Array;
    let latestTrain = -Infinity;
    let earliestValidation = Infinity;
    let trainRows = 0;
    let validationRows = 0;
    for (let i = 0; i < snapshot.numRows; i++) {
      expect([0, 1], `row ${i}: split ${split[i]}`).toContain(split[i]);
      if (split[i] === 0) {
        trainRows += 1;
        latestTrain = Math.max(latestTrain, eventTimes[i]);
      } else {
        validationRows += 1;
        earliestValidation = Math.min(earliestValidation, eventTimes[i]);
      }
    }
    expect([trainRows, validationRows]).toEqual([manifest.trainRows, manifest.validationRows]);
    expect(trainRows).toBeGreaterThan(0);
    expect(validationRows).toBeGreaterThan(0);
    expect(earliestValidation, `earliest validation row ${new Date(earliestValidation).toISOString()} vs latest training row ${new Date(latestTrain).toISOString()}`).toBeGreaterThan(latestTrain);
    expect(new Date(earliestValidation).toISOString()).toBe(manifest.validationStartsAt);

    const evaluation = await db.selectFrom('evaluations').selectAll().where('version_id', '=', 'ctr@v1').executeTakeFirstOrThrow();
    expect(evaluation.decision).toBe('pass');
    expect(evaluation.reasons).toEqual([expect.stringMatching(/^\[backtest\] all \d+ checks passed/), expect.stringMatching(/^\[static\] all \d+ checks passed/)]);
    // The report card is stored as JSON and HTML; the first model is judged without a champion, and says so.
    const card = JSON.parse((await store.get(evaluation.report_json_uri!)).toString());
    expect(card.decision).toBe('pass');
    expect(card.cards.map((c: { evaluationSet: { kind: string } }) => c.evaluationSet.kind)).toEqual(['backtest', 'static']);
    expect(card.cards[0].notes.join(' ')).toContain('no champion');
    const html = (await store.get(evaluation.report_uri!)).toString();
    expect(html).toContain('<svg');
    expect(result.reportHtmlUri).toBe(evaluation.report_uri);

    // The static test set is frozen once, in lineage, and its rows never train.
    const testSet = await db.selectFrom('test_sets').selectAll().where('model_name', '=', 'ctr').executeTakeFirstOrThrow();
    expect(testSet).toMatchObject({ id: 'ts-ctr-v1', version: 1, row_count: 150, frozen_by_run: 'retrain/ctr/first' });
    expect(result.rows.total).toBe(1500 - 150);

    const deployments = await db.selectFrom('deployments').selectAll().where('model_name', '=', 'ctr').execute();
    expect(deployments).toHaveLength(1);
    expect(deployments[0]).toMatchObject({ version_id: 'ctr@v1', mode: 'champion', traffic_percent: 100, ended_at: null });
    expect((await currentChampion(db, 'ctr'))?.id).toBe('ctr@v1');

    // The promoted artifact serves through onnxruntime-node and agrees with the TypeScript forward pass.
    const bytes = await store.get(version.artifact_uri);
    const model = logisticRegressionFromOnnx(bytes);
    const rng = createRng(99);
    const rows = 500;
    const data = new Float64Array(rows * model.featureNames.length);
    for (let i = 0; i < data.length; i++) data[i] = Math.fround(rng.normal() * 3);
    const X = createMatrix(model.featureNames, rows, data);
    const served = await OnnxModel.load(bytes);
    try {
      const fromOrt = await served.predictProba(X);
      const fromTs = predictProba(model, X);
      let worst = 0;
      for (let i = 0; i < rows; i++) worst = Math.max(worst, Math.abs(fromOrt[i] - fromTs[i]));
      expect(worst).toBeLessThan(1e-5);

      // The weights above came out of the ONNX file itself. Check the export against what the trainer
      // learned: the final checkpoint the training step wrote (training/checkpoint.ts: JSON, float64
      // model with standardisation and dense layers, weights row-major [inputs, outputs]).
      expect(version.checkpoint_uri).toMatch(/\/checkpoint\.json$/);
      const checkpoint = decodeCheckpoint((await store.get(version.checkpoint_uri!)).toString('utf8'), version.checkpoint_uri!);
      expect(checkpoint.run).toBeNull();
      const trained = checkpoint.model;
      expect(trained).toMatchObject({ kind: 'logistic_regression', task: 'binary_classification', categorical: [] });
      // The spec's features (examples/ctr.model.json), in the column order the ONNX metadata names.
      expect(trained.numericFeatures).toEqual(['ad_relevance', 'user_ctr_7d', 'position', 'hour_sin']);
      expect(trained.numericFeatures).toEqual([...model.featureNames]);
      expect(trained.layers).toHaveLength(1);
      const [layer] = trained.layers;
      const f = trained.numericFeatures.length;
      expect(layer).toMatchObject({ inputs: f, outputs: 1 });
      expect(layer.weights.some((w) => w !== 0)).toBe(true);
      const { mean, std } = trained.standardization;
      let worstVsTrainer = 0;
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < rows; i++) {
        // p = sigmoid(bias + sum_j w_j (x_j - mean_j) / std_j), in float64 from the checkpoint's numbers.
        let z = layer.bias[0];
        for (let j = 0; j < f; j++) z += layer.weights[j] * ((data[i * f + j] - mean[j]) / std[j]);
        const p = 1 / (1 + Math.exp(-z));
        worstVsTrainer = Math.max(worstVsTrainer, Math.abs(fromOrt[i] - p));
        lo = Math.min(lo, p);
        hi = Math.max(hi, p);
      }
      // The probe rows spread the probabilities, so the comparison sees the weights, not a constant.
      expect(hi - lo).toBeGreaterThan(0.5);
      console.log(`onnxruntime-node vs forward pass over ${rows} rows: max |diff| ${worst.toExponential(2)} (ONNX weights), ${worstVsTrainer.toExponential(2)} (checkpoint weights)`);
      expect(worstVsTrainer).toBeLessThan(1e-5);
    } finally {
      await served.release();
    }
  });

  it('is idempotent: the same key returns the same run and adds no rows', async () => {
    const again = await startRetrain(temporal.client, { model: 'ctr', referenceTime: HISTORY_END.toISOString(), idempotencyKey: 'first' });
    const result = await again.result();
    expect(result.versionId).toBe('ctr@v1');
    const counts = await Promise.all(
      (['model_versions', 'datasets', 'deployments', 'pipeline_runs', 'evaluations'] as const).map(async (table) =>
        Number((await lineage.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
      ),
    );
    expect(counts).toEqual([1, 1, 1, 1, 1]);
  });

  it('a second run on the same window reuses the snapshot and replaces the champion', async () => {
    const result = await (await startRetrain(temporal.client, { model: 'ctr', referenceTime: HISTORY_END.toISOString(), idempotencyKey: 'second' })).result();
    expect(result.versionId).toBe('ctr@v2');
    const datasets = await lineage.db.selectFrom('datasets').select('id').execute();
    expect(datasets.map((d) => d.id)).toEqual([result.datasetId]);
    const v1 = await lineage.db.selectFrom('model_versions').select('status').where('id', '=', 'ctr@v1').executeTakeFirstOrThrow();
    expect(v1.status).toBe('retired');
    // The run report and the model page are written and name what happened.
    const runPage = (await store.get(result.runReportUri)).toString();
    expect(runPage).toContain('Candidate ctr@v2');
    expect(runPage).toContain('aria-label="lineage graph"');
    expect(runPage).toContain(result.datasetId);
    const modelPage = (await store.get(result.modelPageUri)).toString();
    expect(modelPage).toContain('2 versions (v1, v2)');
    expect(modelPage).toContain('aria-label="ctr: auc by version"');
    const history = await lineage.db.selectFrom('deployments').selectAll().where('model_name', '=', 'ctr').orderBy('id').execute();
    expect(history.map((d) => [d.version_id, d.ended_at === null])).toEqual([
      ['ctr@v1', false],
      ['ctr@v2', true],
    ]);
  });

  it('tags runs with search attributes the Temporal UI filters on', async () => {
    const found: string[] = [];
    // Visibility is eventually consistent; poll briefly.
    for (let attempt = 0; attempt < 40 && found.length < 2; attempt++) {
      found.length = 0;
      for await (const wf of temporal.client.workflow.list({ query: `ModelName = "ctr" AND PipelineStep = "done" AND MaturityStage = 1` })) found.push(wf.workflowId);
      if (found.length < 2) await new Promise((r) => setTimeout(r, 250));
    }
    expect(found.sort()).toEqual(['retrain/ctr/first', 'retrain/ctr/second']);
  });
});
