// The value-of-freshness experiment as a workflow on a real Temporal dev server and PostgreSQL:
// on a stream with gradual concept drift the metric falls with staleness, the workflow stores the
// curve (JSON, HTML report, a freshness_experiments lineage row) and a recommended interval; the
// same id runs once; an unknown model fails at once; `flywheel freshness` prints the curve.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FreshnessResult } from '../../workflows/freshness';
import { simulatedHistory } from '../../lifecycle/backtest/simulated-history';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { insertLabelledExamples } from '../../lineage/labelled-examples';
import { applyModelSpec } from '../../lineage/models';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { ModelName } from '../../workflows/search-attributes';
import { ORCHESTRATION_QUEUE } from '../../workflows/task-queues';
import { runCli, userLines } from '../support/cli';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, startTestWorkers, type RunningWorkers, type TestTemporal } from '../support/temporal';

const DAYS = 30;

/** The innermost cause's message: the activity's ApplicationFailure under the workflow and activity failures. */
function rootMessage(error: unknown): string {
  let current = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}
const NUMERIC = ['ad_relevance', 'user_ctr_7d', 'position', 'hour_sin'];

describe('freshnessExperimentWorkflow on Temporal', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let store: ArtifactStore;
  let temporal: TestTemporal;
  let workers: RunningWorkers;

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-freshness-'))).toString());
    temporal = await startTestTemporal();
    workers = await startTestWorkers(temporal.server.address, { db: lineage.db, store }, ['orchestration']);
    await applyModelSpec(lineage.db, { name: 'fresh', features: NUMERIC.map((name) => ({ name })), data: { windowDays: 5, minRows: 100 } });
    // 30 days in which the effect of ad relevance turns from +1.2 to -1.2, on a balanced click rate.
    const history = simulatedHistory({
      days: DAYS,
      rowsPerDay: 250,
      seed: 3,
      drift: [
        { kind: 'label', factor: 5, profile: { shape: 'sudden', atDay: 0 } },
        { kind: 'concept', feature: 'ad_relevance', weight: -1.2, profile: { shape: 'gradual', fromDay: 0, toDay: DAYS } },
      ],
    });
    const rows = Array.from(history.eventTimeMs, (t, i) => ({
      entityId: history.entityIds[i],
      eventTime: new Date(t),
      features: Object.fromEntries(NUMERIC.map((name) => [name, history.numeric[name][i]])),
      label: history.labels[i],
    }));
    await insertLabelledExamples(lineage.db, 'fresh', rows);
  });

  afterAll(async () => {
    await workers?.stop();
    await temporal?.stop();
    await lineage?.close();
    await database?.drop();
  });

  const start = (modelName: string, key: string, extra: Record<string, unknown> = {}) =>
    temporal.client.workflow.start('freshnessExperimentWorkflow', {
      taskQueue: ORCHESTRATION_QUEUE,
      workflowId: `freshness/${modelName}/${key}`,
      args: [{ modelName, agesDays: [0, 3, 10, 20], ...extra }],
      typedSearchAttributes: [{ key: ModelName, value: modelName }],
      // As `flywheel freshness` starts it: one experiment per id, ever.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });

  it('produces a decreasing metric-vs-staleness curve, a recommendation, the artifacts and one lineage row', async () => {
    const handle = await start('fresh', 'drift');
    const result = (await handle.result()) as FreshnessResult;
    expect(result.experimentId).toBe('freshness/fresh/drift');
    expect(result.metric).toBe('auc');
    // Reference: just after the latest labelled row; the test window is its last day.
    expect(result.test.rows).toBeGreaterThan(200);
    expect(result.points.map((p) => p.ageDays)).toEqual([0, 3, 10, 20]);
    const values = result.points.map((p) => p.value!);
    expect(values.every((v) => Number.isFinite(v))).toBe(true);
    expect(values[0]).toBeGreaterThan(values[2]);
    expect(values[2]).toBeGreaterThan(values[3]);
    expect(values[0] - values[3]).toBeGreaterThan(0.1);
    for (const p of result.points) expect(p.rows.pulled).toBeGreaterThan(1000);
    const r = result.recommendation;
    expect(r.slopePerDay!).toBeLessThan(0);
    expect(r.recommendedIntervalDays === null || r.recommendedIntervalDays < 10).toBe(true);
    expect(r.reason.length).toBeGreaterThan(20);

    const curve = JSON.parse(Buffer.from(await store.get(result.artifactUri)).toString('utf8'));
    expect(curve).toMatchObject({ format: 'flywheel-freshness/1', modelName: 'fresh', metric: 'auc', recommendation: { recommendedIntervalDays: r.recommendedIntervalDays } });
    expect(curve.points).toHaveLength(4);
    const html = Buffer.from(await store.get(result.reportUri)).toString('utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('Value of data freshness: fresh');

    const rows = await lineage.db.selectFrom('freshness_experiments').selectAll().where('model_name', '=', 'fresh').execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: 'freshness/fresh/drift', metric: 'auc', recommended_interval_days: r.recommendedIntervalDays, report_uri: result.reportUri });
    expect((rows[0].curve as Array<{ ageDays: number }>).map((p) => p.ageDays)).toEqual([0, 3, 10, 20]);

    // The same id is the same experiment: no second run, no second row.
    await expect(start('fresh', 'drift')).rejects.toThrow(/already started/i);
    expect(await lineage.db.selectFrom('freshness_experiments').select('id').execute()).toHaveLength(1);
  });

  it('fails at once, naming the problem, for an unknown model or an impossible window', async () => {
    const unknown = await (await start('ghost', 'x')).result().catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(WorkflowFailedError);
    expect(rootMessage(unknown)).toMatch(/unknown model "ghost": apply its spec first/);
    const duplicate = await (await start('fresh', 'dup', { agesDays: [0, 0] })).result().catch((e: unknown) => e);
    expect(rootMessage(duplicate)).toMatch(/agesDays has duplicates: \[0, 0\]/);
  });

  it('`flywheel freshness` starts the workflow and prints the curve and the recommendation', async () => {
    const cli = await runCli(['freshness', 'fresh', '--ages', '0,3,10,20', '--key', 'cli', '--tolerance', '0.02'], { TEMPORAL_ADDRESS: temporal.server.address }, 120_000);
    expect(cli.stderr.trim() === '' || userLines(cli.stderr).length === 0).toBe(true);
    expect(cli.code).toBe(0);
    const lines = userLines(cli.stdout);
    expect(lines[0]).toMatch(/^freshness\/fresh\/cli: auc on the latest data \[/);
    expect(lines.slice(2, 6).map((l) => l.trim().split(/\s+/)[0])).toEqual(['0', '3', '10', '20']);
    expect(lines.find((l) => l.startsWith('recommendation: '))).toBeDefined();
    expect(lines.find((l) => l.startsWith('report file://'))).toBeDefined();
  });
});
