// The data-validation gate on a real PostgreSQL: a window like the champion's training data passes
// (the reference is found through lineage), and each check fails on a crafted bad window with a
// non-retryable DataValidationFailed failure whose message names that check and its numbers, with
// the JSON report stored in the artifact store.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetActivities } from '../../activities/dataset';
import { pullActivities } from '../../activities/pull';
import { DATA_VALIDATION_FAILED, validateActivities } from '../../activities/validate';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { applyModelSpec } from '../../lineage/models';
import { createRng } from '../../ml/random';
import { featureLayout } from '../../spec/feature-layout';
import { parseModelSpec, type ModelSpec } from '../../spec/model-spec';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

const START = '2026-01-01T00:00:00.000Z';
const END = '2026-01-31T00:00:00.000Z';
const DAY = 86_400_000;

interface Row {
  x: number | string | null;
  c: string | null;
  label: number;
}

let database: TestDatabase;
let lineage: LineageDb;
let store: ArtifactStore;
let referenceUri: string;

const specFor = (name: string): ModelSpec => parseModelSpec({ name, features: [{ name: 'x' }, { name: 'c', type: 'categorical' }], data: { windowDays: 30, minRows: 10 } });

/** n rows over the 30-day window: x ~ N(0, 1), c in a/b/c, ~30% positives; `tweak` crafts the bad ones. */
async function seed(model: string, n: number, tweak: (i: number, row: Row) => void = () => {}): Promise<ModelSpec> {
  const spec = specFor(model);
  await applyModelSpec(lineage.db, spec);
  const rng = createRng(model.length * 31 + n);
  const rows = Array.from({ length: n }, (_, i) => {
    const row: Row = { x: rng.normal(), c: ['a', 'b', 'c'][rng.nextInt(3)], label: rng.next() < 0.3 ? 1 : 0 };
    tweak(i, row);
    return {
      model_name: model,
      entity_id: `e${i}`,
      event_time: new Date(Date.parse(START) + ((i + 0.5) / n) * 30 * DAY),
      features: JSON.stringify({ x: row.x, c: row.c }),
      label: row.label,
    };
  });
  for (let i = 0; i < rows.length; i += 1_000) await lineage.db.insertInto('labelled_examples').values(rows.slice(i, i + 1_000)).execute();
  return spec;
}

async function pullAndValidate(spec: ModelSpec, runId: string, reference: string | null | undefined) {
  const deps = { db: lineage.db, store };
  const request = { pipelineRunId: runId, modelName: spec.name, layout: featureLayout(spec.features), windowStart: START, windowEnd: END, minRows: 10, spec };
  const pulled = await pullActivities(deps).pullLabelledWindow(request);
  return { pulled, outcome: validateActivities(deps).validateDataWindow({ pipelineRunId: runId, modelName: spec.name, stagingUri: pulled.stagingUri, windowStart: START, windowEnd: END, spec, referenceUri: reference }) };
}

async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApplicationFailure) return error;
    throw error;
  }
  throw new Error('expected the gate to fail');
}

const CHECKS = ['schema', 'null_rate', 'numeric_range', 'unseen_categories', 'row_count', 'label_rate'];
const failedChecks = (message: string) => CHECKS.filter((name) => message.includes(`${name}: `) && !message.includes(`${name}: skipped`));

beforeAll(async () => {
  database = await createTestDatabase();
  lineage = await openLineageDb({ url: database.url });
  store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-gate-'))).toString());
  // The champion of model "gate" was trained on a snapshot of 3,000 good rows.
  const spec = await seed('gate', 3_000);
  const deps = { db: lineage.db, store };
  const request = { pipelineRunId: 'gate-train', modelName: 'gate', layout: featureLayout(spec.features), windowStart: START, windowEnd: END, minRows: 10, spec };
  const pulled = await pullActivities(deps).pullLabelledWindow(request);
  const dataset = await datasetActivities(deps).formDatasetSnapshot({ ...request, stagingUri: pulled.stagingUri, validationFraction: 0.2 });
  referenceUri = dataset.uri;
  const { db } = lineage;
  await db.insertInto('pipeline_runs').values({ id: 'gate-train', run_id: 'r', model_name: 'gate', trigger: 'manual', stage: 1, status: 'succeeded', current_step: 'done', timings: '{}', started_at: new Date() }).execute();
  await db
    .insertInto('model_versions')
    .values({ id: 'gate@v1', model_name: 'gate', version: 'v1', major: 1, minor: 0, parent_version_id: null, training_mode: 'stateless', iteration_kind: 'model', spec_hash: 'h', dataset_id: dataset.datasetId, artifact_uri: 'file:///m', status: 'champion', metrics: '{}', samples_seen: 1, high_water_mark: new Date(), pipeline_run_id: 'gate-train' })
    .execute();
  await db.insertInto('deployments').values({ model_name: 'gate', version_id: 'gate@v1', mode: 'champion', traffic_percent: 100, reason: 'test', pipeline_run_id: 'gate-train', started_at: new Date() }).execute();
});

afterAll(async () => {
  await lineage?.close();
  await database?.drop();
});

describe('validation gate', () => {
  it('passes a window like the champion training data, found through lineage, and stores the report', async () => {
    const { outcome } = await pullAndValidate(specFor('gate'), 'gate-retrain', undefined);
    const result = await outcome;
    expect(result.referenceUri).toBe(referenceUri);
    expect(result.checks.map((c) => [c.name, c.passed, c.skipped])).toEqual([
      ['schema', true, false],
      ['null_rate', true, false],
      ['numeric_range', true, false],
      ['unseen_categories', true, false],
      ['row_count', true, true], // the only earlier dataset is this same window
      ['label_rate', true, false],
    ]);
    const report = JSON.parse((await store.get(result.reportUri)).toString());
    expect(report).toMatchObject({ modelName: 'gate', passed: true, referenceUri });
    expect(report.current.rows).toBe(3_000);
  });

  const cases: { check: string; rows: number; tweak: (i: number, row: Row) => void; message: RegExp; setup?: (model: string) => Promise<void> }[] = [
    {
      check: 'schema',
      rows: 2_000,
      tweak: (i, row) => {
        if (i === 17) row.x = 'abc';
      },
      message: /schema: feature "x" has 1 value\(s\) of the wrong type, expected a finite number \(first: row \d+ = "abc"\)/,
    },
    {
      check: 'null_rate',
      rows: 2_000,
      tweak: (i, row) => {
        if (i % 5 === 0) row.c = null;
      },
      message: /null_rate: feature "c" is missing in 20\.0% of rows \(400 of 2000\), above data\.validation\.maxNullRate 5\.0%/,
    },
    {
      check: 'numeric_range',
      rows: 2_000,
      tweak: (_, row) => {
        row.x = (row.x as number) * 1000; // seconds became milliseconds upstream
      },
      message: /numeric_range: feature "x" has \d+\.\d% of values outside the reference range \[-?\d+\.\d+, \d+\.\d+\] \(max 5\.0%\); feature "x" p\d+ moved [\d.]+ reference IQRs/,
    },
    {
      check: 'unseen_categories',
      rows: 2_000,
      tweak: (i, row) => {
        if (i % 10 < 3) row.c = 'vr_headset';
      },
      message: /unseen_categories: feature "c" has 30\.0% of rows with values the reference never saw \(e\.g\. "vr_headset"\), above data\.validation\.maxUnseenCategoryShare 10\.0%/,
    },
    {
      check: 'row_count',
      rows: 300,
      tweak: () => {},
      message: /row_count: 10 rows\/day \(300 rows over 30 days\) is 10\.0% of the median 100 rows\/day of the last 1 dataset\(s\), outside the allowed 50\.0%–300\.0%/,
      setup: async (model) => {
        // An earlier 30-day window of this model pulled 3,000 rows: 100 rows/day.
        await lineage.db
          .insertInto('datasets')
          .values({ id: `ds-${model}-old`, model_name: model, window_start: '2025-12-01T00:00:00Z', window_end: '2025-12-31T00:00:00Z', row_count: 2_400, source_rows: 3_000, content_hash: 'old', uri: 'file:///old', manifest: '{}' })
          .execute();
      },
    },
    {
      check: 'label_rate',
      rows: 2_000,
      tweak: (i, row) => {
        row.label = i === 0 ? 1 : 0;
      },
      message: /label_rate: positive rate 0\.05% is below data\.validation\.minLabelRate 0\.1%/,
    },
  ];

  for (const { check, rows, tweak, message, setup } of cases) {
    it(`fails ${check} on a crafted bad window, naming it and its numbers`, async () => {
      const model = `bad-${check.replace(/_/g, '-')}`;
      const spec = await seed(model, rows, tweak);
      await setup?.(model);
      const { outcome } = await pullAndValidate(spec, `${model}-run`, referenceUri);
      const error = await failure(outcome);
      expect(error.type).toBe(DATA_VALIDATION_FAILED);
      expect(error.nonRetryable).toBe(true);
      expect(error.message).toMatch(new RegExp(`^data validation failed for model "${model}" window \\[${START.replace(/[.]/g, '\\.')}, ${END.replace(/[.]/g, '\\.')}\\): `));
      expect(error.message).toMatch(message);
      expect(failedChecks(error.message)).toEqual([check]);
      const reportUri = /\(report: (\S+)\)$/.exec(error.message)![1];
      const report = JSON.parse((await store.get(reportUri)).toString());
      expect(report.passed).toBe(false);
      expect(report.checks.find((c: { name: string }) => c.name === check).passed).toBe(false);
    });
  }

  it('can be switched off in the spec', async () => {
    const spec = parseModelSpec({ ...specFor('bad-null-rate'), data: { ...specFor('bad-null-rate').data, validation: { enabled: false } } });
    const { outcome } = await pullAndValidate(spec, 'gate-off', referenceUri);
    expect((await outcome).checks).toEqual([]);
  });
});
