// The champion/challenger gate inside the real DAG: a worse candidate is rejected with the rule
// named and never touches the champion; a candidate that needs approval waits for a person (an
// update through the CLI's client function) or for the timeout policy.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyModel } from '../../client/apply';
import { approveModelCandidate, pendingApprovals } from '../../client/approvals';
import { startRetrain } from '../../client/retrain';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { insertLabelledExamples } from '../../lineage/labelled-examples';
import { currentChampion } from '../../lineage/models';
import { generateCtrHistory } from '../../scenarios/ctr-history';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { exampleSpec, HISTORY_END } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, startTestWorkers, type RunningWorkers, type TestTemporal } from '../support/temporal';

describe('offline gate in the retrain DAG', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let temporal: TestTemporal;
  let workers: RunningWorkers;
  let store: ArtifactStore;
  const reference = HISTORY_END.toISOString();

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-gate-'))).toString());
    temporal = await startTestTemporal();
    workers = await startTestWorkers(temporal.server.address, { db: lineage.db, store });
    await applyModel(temporal.client, lineage.db, exampleSpec({ name: 'gate' }));
    await insertLabelledExamples(lineage.db, 'gate', generateCtrHistory({ seed: 5, rows: 2000, end: HISTORY_END, days: 30 }));
    const first = await (await startRetrain(temporal.client, { model: 'gate', referenceTime: reference, idempotencyKey: 'v1' })).result();
    expect(first.versionId).toBe('gate@v1');
    expect(first.decision).toBe('promoted');
  });

  afterAll(async () => {
    await workers?.stop();
    await temporal?.stop();
    await lineage?.close();
    await database?.drop();
  });

  it('rejects a candidate trained on poisoned data (30% of labels flipped), naming the rule on the clean static test set', async () => {
    // The next 30 days arrive with 30% of labels flipped at random (a broken labelling pipeline).
    const next = generateCtrHistory({ seed: 6, rows: 2000, end: new Date(HISTORY_END.getTime() + 30 * 86_400_000), days: 30 });
    let flipped = 0;
    next.forEach((row, i) => {
      if ((i * 7919) % 10 < 3) {
        row.label = 1 - row.label;
        flipped++;
      }
    });
    expect(flipped).toBe(600);
    await insertLabelledExamples(lineage.db, 'gate', next);
    const evaluation = { ...(exampleSpec().evaluation as object), maxRegression: { auc: { absolute: 0.01 }, log_loss: { absolute: 0.02 } } };
    await applyModel(temporal.client, lineage.db, exampleSpec({ name: 'gate', evaluation }));
    const poisonedReference = new Date(HISTORY_END.getTime() + 30 * 86_400_000).toISOString();
    const handle = await startRetrain(temporal.client, { model: 'gate', referenceTime: poisonedReference, idempotencyKey: 'poisoned' });
    const result = await handle.result();
    expect(result.decision).toBe('rejected');
    expect(result.versionId).toBe('gate@v2');
    const reasons = result.reasons.join('\n');
    expect(reasons).toMatch(/\[static\] max_regression\.log_loss: candidate - champion = \+0\.\d+ \[\+0\.\d+, \+0\.\d+\] \(95% paired bootstrap\) is entirely above \+0\.0200/);
    const v2 = await lineage.db.selectFrom('model_versions').select(['status']).where('id', '=', 'gate@v2').executeTakeFirstOrThrow();
    expect(v2.status).toBe('rejected');
    expect((await currentChampion(lineage.db, 'gate'))?.id).toBe('gate@v1');
    const deployments = await lineage.db.selectFrom('deployments').select('version_id').where('model_name', '=', 'gate').execute();
    expect(deployments.map((d) => d.version_id)).toEqual(['gate@v1']);
    const run = await lineage.db.selectFrom('pipeline_runs').select('status').where('id', '=', 'retrain/gate/poisoned').executeTakeFirstOrThrow();
    expect(run.status).toBe('rejected');

    // The report card's URIs are in the run's memo (what the Temporal UI shows), name the same
    // artifacts lineage records, and those artifacts exist: the HTML page and the JSON card.
    const { memo } = await handle.describe();
    expect(memo).toMatchObject({ reportCard: expect.stringMatching(/^file:\/\/.*\/report-card\.html$/), reportCardJson: expect.stringMatching(/^file:\/\/.*\/report-card\.json$/) });
    const evaluationRow = await lineage.db.selectFrom('evaluations').select(['report_uri', 'report_json_uri']).where('version_id', '=', 'gate@v2').executeTakeFirstOrThrow();
    expect(evaluationRow).toEqual({ report_uri: memo!.reportCard, report_json_uri: memo!.reportCardJson });
    const html = Buffer.from(await store.get(memo!.reportCard as string)).toString('utf8');
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('max_regression.log_loss');
    const card = JSON.parse(Buffer.from(await store.get(memo!.reportCardJson as string)).toString('utf8')) as { decision: string; reasons: string[] };
    expect(card.decision).toBe('fail');
    expect(card.reasons).toEqual(result.reasons);

    // The memo also links the run report and the model page; both were written and read as pages.
    expect(memo).toMatchObject({ runReport: result.runReportUri, modelPage: result.modelPageUri, dataValidation: expect.stringMatching(/^file:\/\/.*\/report\.json$/) });
    expect(result.runReportUri).toMatch(/^file:\/\/.*\/reports\/gate\/retrain_gate_poisoned\/run\.html$/);
    const runPage = readFileSync(fileURLToPath(memo!.runReport as string), 'utf8');
    expect(runPage).toContain('<h2>Report card: <span class="fail">fail</span></h2>');
    // v1 is champion, so the validation gate compared this window with v1's training data: the
    // drift section shows that comparison, feature by feature, with its chart.
    expect(runPage).toContain('<h2>Drift</h2>');
    expect(runPage).toContain('Training window vs reference');
    expect(runPage).toContain(`<a href="${memo!.dataValidation as string}">`);
    expect(runPage).toContain('aria-label="numeric features: mean shift in reference standard deviations"');
    expect(runPage).toContain('aria-label="candidate vs champion on the backtest window');
    expect(runPage).toContain('aria-label="lineage graph"');
    expect(existsSync(fileURLToPath(memo!.modelPage as string))).toBe(true);

    // The Event History reads as the DAG's steps: each step's ActivityTaskScheduled event carries
    // its summary (user metadata), in DAG order.
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = events
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => ({ type: e.activityTaskScheduledEventAttributes!.activityType!.name!, summary: e.userMetadata?.summary ? defaultPayloadConverter.fromPayload<string>(e.userMetadata.summary) : null }));
    const summaries = scheduled.filter((s) => s.summary !== null);
    expect(summaries.map((s) => s.type)).toEqual([
      'startPipelineRun',
      'planTrainingRun',
      'computeNaturalLabels',
      'ensureStaticTestSet',
      'pullLabelledWindow',
      'validateDataWindow',
      'formDatasetSnapshot',
      'trainCandidate',
      'evaluateCandidate',
      'registerCandidateVersion',
      'rejectCandidate',
      'writeRunReports',
    ]);
    expect(Object.fromEntries(summaries.map((s) => [s.type, s.summary]))).toMatchObject({
      startPipelineRun: 'record run of gate',
      pullLabelledWindow: expect.stringMatching(/^pull labelled rows \d{4}-\d\d-\d\dT.* → \d{4}-\d\d-\d\dT/),
      validateDataWindow: 'data validation gate',
      formDatasetSnapshot: expect.stringMatching(/^snapshot \d+ rows$/),
      trainCandidate: expect.stringMatching(/^train \w+ \((stateless|stateful)\) on \d+ rows$/),
      evaluateCandidate: expect.stringMatching(/^offline tests on \d+ later rows and /),
      rejectCandidate: 'reject gate@v2',
      writeRunReports: 'write the run report and the model page',
    });
    // Only the bookkeeping call that records how the run ended goes without one.
    expect(scheduled.filter((s) => s.summary === null).map((s) => s.type)).toEqual(['finishPipelineRun']);
  });

  it('waits for a person when the spec requires approval, then promotes', async () => {
    await applyModel(temporal.client, lineage.db, exampleSpec({ name: 'gate', evaluation: { ...(exampleSpec().evaluation as object), requireApproval: true, approval: { timeout: '10m' } } }));
    const handle = await startRetrain(temporal.client, { model: 'gate', referenceTime: reference, idempotencyKey: 'approved' });
    let pending: Awaited<ReturnType<typeof pendingApprovals>> = [];
    for (let i = 0; i < 120 && pending.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      pending = await pendingApprovals(temporal.client, 'gate');
    }
    expect(pending).toEqual([{ workflowId: 'retrain/gate/approved', candidateVersionId: 'gate@v3', reportHtmlUri: expect.stringMatching(/report-card\.html$/) }]);
    expect((await currentChampion(lineage.db, 'gate'))?.id).toBe('gate@v1');

    const answer = await approveModelCandidate(temporal.client, 'gate', { approve: true, by: 'alice', comment: 'checked the slices' });
    expect(answer.outcome).toBe('approved by alice');
    const result = await handle.result();
    expect(result.decision).toBe('promoted');
    expect(result.approval).toEqual({ approved: true, by: 'alice', comment: 'checked the slices' });
    const evaluation = await lineage.db.selectFrom('evaluations').selectAll().where('version_id', '=', 'gate@v3').executeTakeFirstOrThrow();
    expect(evaluation).toMatchObject({ decision: 'needs_approval', approval: 'approved', approved_by: 'alice', approval_comment: 'checked the slices' });
    expect((await currentChampion(lineage.db, 'gate'))?.id).toBe('gate@v3');
    await expect(approveModelCandidate(temporal.client, 'gate', { approve: true, by: 'bob' })).rejects.toThrow('no candidate of model "gate" is waiting for approval');
  });

  it('applies the timeout policy when nobody answers', async () => {
    await applyModel(temporal.client, lineage.db, exampleSpec({ name: 'gate', evaluation: { ...(exampleSpec().evaluation as object), requireApproval: true, approval: { timeout: '2s', onTimeout: 'reject' } } }));
    const result = await (await startRetrain(temporal.client, { model: 'gate', referenceTime: reference, idempotencyKey: 'timeout' })).result();
    expect(result.decision).toBe('rejected');
    expect(result.approval).toMatchObject({ approved: false, by: 'approval timeout policy' });
    expect((await currentChampion(lineage.db, 'gate'))?.id).toBe('gate@v3');
  });
});
