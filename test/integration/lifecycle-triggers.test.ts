// Stage-4 triggers one at a time on a real Temporal dev server and PostgreSQL: time, performance,
// drift and upstream each start exactly one retrain with that reason and no second one within the
// cooldown; performance also on a model with a categorical feature, and the continual checks store
// their drift and performance windows in monitoring_signals. Also the operator controls: a stage-2 schedule's policies, pause/resume, trigger now
// and backfill (window ends at the scheduled times); the continual workflow's pause, resume and
// check now; and continue-as-new carrying its state (cooldown, daily budget) into the next run.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyModel } from '../../client/apply';
import { FlywheelClient } from '../../client/index';
import { startRetrain } from '../../client/retrain';
import { insertLabelledExamples } from '../../lineage/labelled-examples';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { applyModelSpec } from '../../lineage/models';
import { triggerSeriesName } from '../../activities/monitoring';
import { continualWorkflowIdFor } from '../../schedules/reconcile';
import { DEFAULT_CTR_WEIGHTS, generateCtrHistory } from '../../scenarios/ctr-history';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import type { ContinualState } from '../../workflows/continual-state';
import type { RetrainResult } from '../../workflows/types';
import { ORCHESTRATION_QUEUE } from '../../workflows/task-queues';
import { exampleSpec } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, startTestWorkers, type RunningWorkers, type TestTemporal } from '../support/temporal';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TRIGGER_REASON = { name: 'TriggerReason', type: 'KEYWORD' } as never;
const SCHEDULED_START = { name: 'TemporalScheduledStartTime', type: 'DATETIME' } as never;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

describe('stage 4 triggers and operator controls on Temporal', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let store: ArtifactStore;
  let temporal: TestTemporal;
  let workers: RunningWorkers;
  let flywheel: FlywheelClient;
  const historyEnd = new Date(Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR);

  const spec = (name: string, extra: Record<string, unknown> = {}) => exampleSpec({ name, data: { windowDays: 30, validationFraction: 0.2, minRows: 50 }, ...extra });
  const stage4 = (name: string, triggers: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    spec(name, { stage: 4, continual: { checkEvery: '1s', cooldown: '1h', triggers }, ...extra });

  async function seedWithChampion(name: string, extra: Record<string, unknown> = {}): Promise<void> {
    await applyModel(temporal.client, lineage.db, spec(name, extra));
    await insertLabelledExamples(lineage.db, name, generateCtrHistory({ seed: 11, rows: 1200, end: historyEnd, days: 30 }));
    await (await startRetrain(temporal.client, { model: name, referenceTime: new Date(historyEnd.getTime() + HOUR).toISOString(), idempotencyKey: 'initial' })).result();
  }

  async function retrainsOf(name: string): Promise<Array<{ id: string; trigger: string; status: string }>> {
    return lineage.db.selectFrom('pipeline_runs').select(['id', 'trigger', 'status']).where('model_name', '=', name).where('id', '!=', `retrain/${name}/initial`).orderBy('started_at').execute();
  }

  const stateOf = (name: string) => flywheel.continual.state(name);

  /** Exactly one retrain, reason `kind` in lineage and TriggerReason, and none more over later checks. */
  async function expectExactlyOneRetrain(name: string, kind: string): Promise<ContinualState> {
    const runs = await waitFor(`one ${kind}-triggered retrain of ${name} to finish`, async () => {
      const found = await retrainsOf(name);
      return found.length && found.every((r) => r.status !== 'running') ? found : null;
    });
    // Several more checks pass inside the 1 h cooldown: still one run.
    const checksAtFinish = (await stateOf(name)).checks;
    await waitFor('three more checks', async () => (await stateOf(name)).checks >= checksAtFinish + 3, 30_000);
    const after = await retrainsOf(name);
    expect(after.map((r) => r.trigger)).toEqual([kind]);
    expect(runs[0].id).toMatch(new RegExp(`^retrain/${name}/trigger-`));
    const described = await temporal.client.workflow.getHandle(runs[0].id).describe();
    expect(described.typedSearchAttributes.get(TRIGGER_REASON)).toBe(kind);
    const state = await stateOf(name);
    expect(state.retrainsStarted).toBe(1);
    expect(state.lastRetrain).toMatchObject({ workflowId: runs[0].id, reason: kind });
    const fired = state.lastChecks.find((c) => c.retrainWorkflowId);
    // lastChecks keeps 20; with 1 s checks the firing check is still in it.
    expect(fired?.retrainWorkflowId).toBe(runs[0].id);
    expect(fired!.signals.filter((s) => s.fired).map((s) => s.kind)).toEqual([kind]);
    return state;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-triggers-'))).toString());
    temporal = await startTestTemporal();
    workers = await startTestWorkers(temporal.server.address, { db: lineage.db, store });
    flywheel = new FlywheelClient(temporal.client, lineage);
  });

  afterAll(async () => {
    await workers?.stop();
    await temporal?.stop();
    await lineage?.close();
    await database?.drop();
  });

  it('time alone: an aged champion starts exactly one retrain with reason "time"; later checks hit the cooldown', async () => {
    await seedWithChampion('t-time');
    await sleep(1500);
    await applyModel(temporal.client, lineage.db, stage4('t-time', { time: { every: '1s' } }));
    const state = await expectExactlyOneRetrain('t-time', 'time');
    // Time keeps firing (the new version is > 1 s old too); the cooldown holds it.
    expect(state.lastChecks.some((c) => /^time fired but not started: cooldown: \d+ s left$/.test(c.outcome))).toBe(true);
  });

  it('performance alone: recent rows the champion predicts badly start exactly one retrain with reason "performance"', async () => {
    await seedWithChampion('t-perf');
    // The label relation flips: the champion's AUC on these rows falls far below 0.6.
    const flipped = Object.fromEntries(Object.entries(DEFAULT_CTR_WEIGHTS).map(([k, w]) => [k, -w]));
    await insertLabelledExamples(lineage.db, 't-perf', generateCtrHistory({ seed: 32, rows: 300, end: new Date(Date.now() - 60_000), days: 0.05, weights: flipped, bias: 0.4 }));
    await applyModel(temporal.client, lineage.db, stage4('t-perf', { performance: { metric: 'auc', bound: 0.6, windowRows: 200 } }));
    const state = await expectExactlyOneRetrain('t-perf', 'performance');
    const signal = state.lastChecks.find((c) => c.retrainWorkflowId)!.signals.find((s) => s.kind === 'performance')!;
    expect(signal).toMatchObject({ fired: true, threshold: 0.6 });
    expect(signal.value).toBeLessThan(0.6);
  });

  it('performance on a model with a categorical feature: the champion is scored with both inputs and one retrain starts with reason "performance"', async () => {
    const name = 't-perf-cat';
    const devices = ['mobile', 'desktop', 'tablet'];
    const withDevice = (rows: ReturnType<typeof generateCtrHistory>) => rows.map((row, i) => ({ ...row, features: { ...row.features, device: devices[i % devices.length] } }));
    const features = [...(exampleSpec().features as Array<Record<string, unknown>>), { name: 'device', type: 'categorical' }];
    await applyModel(temporal.client, lineage.db, spec(name, { features }));
    await insertLabelledExamples(lineage.db, name, withDevice(generateCtrHistory({ seed: 11, rows: 1200, end: historyEnd, days: 30 })));
    await (await startRetrain(temporal.client, { model: name, referenceTime: new Date(historyEnd.getTime() + HOUR).toISOString(), idempotencyKey: 'initial' })).result();
    const flipped = Object.fromEntries(Object.entries(DEFAULT_CTR_WEIGHTS).map(([k, w]) => [k, -w]));
    await insertLabelledExamples(lineage.db, name, withDevice(generateCtrHistory({ seed: 34, rows: 300, end: new Date(Date.now() - 60_000), days: 0.05, weights: flipped, bias: 0.4 })));
    await applyModel(temporal.client, lineage.db, stage4(name, { performance: { metric: 'auc', bound: 0.6, windowRows: 200 } }, { features }));
    const state = await expectExactlyOneRetrain(name, 'performance');
    const signal = state.lastChecks.find((c) => c.retrainWorkflowId)!.signals.find((s) => s.kind === 'performance')!;
    expect(signal).toMatchObject({ fired: true, threshold: 0.6 });
    expect(signal.value).toBeLessThan(0.6);
    expect(signal.detail).toMatch(/^auc 0\.\d{4} on 200 labelled rows \(min 0\.6000\); the champion t-perf-cat@v\d+ on the latest 200 labelled rows after its high-water mark$/);

    // The checks built the monitoring series: the firing check's window, with value, threshold, fired.
    const stored = await lineage.db
      .selectFrom('monitoring_signals')
      .selectAll()
      .where('model_name', '=', name)
      .where('series', '=', triggerSeriesName('performance', 'labelled-rows:200'))
      .where('statistic', '=', 'auc')
      .execute();
    const firing = stored.find((r) => r.fired);
    expect(firing).toMatchObject({ kind: 'performance', slice: '', threshold: 0.6, fires_when: 'below', n_cur: 200 });
    expect(firing!.value).toBeCloseTo(signal.value!, 10);
  });

  it('drift alone: covariate-shifted recent rows start exactly one retrain with reason "drift"', async () => {
    await seedWithChampion('t-drift');
    const shifted = generateCtrHistory({ seed: 33, rows: 600, end: new Date(Date.now() - 60_000), days: 0.05 }).map((row) => ({
      ...row,
      features: Object.fromEntries(Object.entries(row.features).map(([k, v]) => [k, k === 'position' ? v : (v as number) + 2])),
    }));
    await insertLabelledExamples(lineage.db, 't-drift', shifted);
    await applyModel(temporal.client, lineage.db, stage4('t-drift', { drift: { shareDrifted: 0.25, windowRows: 500 } }));
    const state = await expectExactlyOneRetrain('t-drift', 'drift');
    const signal = state.lastChecks.find((c) => c.retrainWorkflowId)!.signals.find((s) => s.kind === 'drift')!;
    expect(signal.fired).toBe(true);
    expect(signal.value).toBeGreaterThanOrEqual(0.25);

    // Every check with enough rows stored its window (the model logs no predictions: labelled rows).
    const stored = await lineage.db
      .selectFrom('monitoring_signals')
      .selectAll()
      .where('model_name', '=', 't-drift')
      .where('series', '=', triggerSeriesName('drift', 'labelled-rows:500'))
      .execute();
    const windows = new Set(stored.map((r) => r.window_end.getTime()));
    expect(windows.size).toBeGreaterThanOrEqual(2);
    const share = stored.filter((r) => r.kind === 'drift_share');
    expect(share).toHaveLength(windows.size);
    expect(share.some((r) => r.fired && r.value! >= 0.25 && r.threshold === 0.25)).toBe(true);
    for (const row of stored.filter((r) => r.kind === 'feature_drift')) expect(row).toMatchObject({ threshold: expect.any(Number), fires_when: expect.stringMatching(/^(above|below)$/), fired: expect.any(Boolean) });
  });

  it('upstream alone: a new upstream champion signals continual/<dependant>, which starts exactly one retrain with reason "upstream"', async () => {
    await seedWithChampion('t-up');
    await seedWithChampion('t-down', { dependsOn: ['t-up'] });
    await applyModel(temporal.client, lineage.db, stage4('t-down', { upstream: true }, { dependsOn: ['t-up'] }));
    // Quiet until the upstream changes.
    await waitFor('two quiet checks', async () => (await stateOf('t-down')).checks >= 2);
    expect(await retrainsOf('t-down')).toEqual([]);

    const upstream = await (await startRetrain(temporal.client, { model: 't-up', referenceTime: new Date(historyEnd.getTime() + HOUR).toISOString(), idempotencyKey: 'new-champion' })).result();
    expect(upstream.decision).toBe('promoted');
    expect(upstream.dependants).toEqual([{ model: 't-down', outcome: 'signalled continual workflow' }]);
    const state = await expectExactlyOneRetrain('t-down', 'upstream');
    expect(state.pendingUpstream).toEqual([]);
    const signal = state.lastChecks.find((c) => c.retrainWorkflowId)!.signals.find((s) => s.kind === 'upstream')!;
    expect(signal.detail).toContain(upstream.versionId);
  });

  it('stage-2 schedule controls: policies from the spec, pause/resume, trigger now, backfill at the scheduled times', async () => {
    const name = 's-ctl';
    await insertLabelledExamples(lineage.db, name, generateCtrHistory({ seed: 5, rows: 800, end: new Date(Date.now() - 60_000), days: 20 }));
    // Daily, phased ~12 h away from now, so no natural firing lands inside the test.
    const offsetHours = (new Date().getUTCHours() + 12) % 24;
    const schedule = { every: '1d', ...(offsetHours ? { offset: `${offsetHours}h` } : {}), jitter: '2s', catchupWindow: '10m' };
    await applyModel(temporal.client, lineage.db, spec(name, { stage: 2, schedule }));

    const described = await flywheel.schedules.describe(name);
    expect(described.policies.overlap).toBe('SKIP');
    expect(described.policies.catchupWindow).toBe(10 * 60_000);
    expect(described.spec.jitter).toBe(2000);
    expect(described.state.paused).toBe(false);

    await flywheel.schedules.pause(name, 'test pause');
    expect((await flywheel.schedules.describe(name)).state).toMatchObject({ paused: true, note: 'test pause' });
    await flywheel.schedules.resume(name);
    expect((await flywheel.schedules.describe(name)).state.paused).toBe(false);

    const finished = async (count: number) =>
      waitFor(`${count} finished scheduled run(s)`, async () => {
        const runs = await retrainsOf(name);
        return runs.length >= count && runs.every((r) => r.status !== 'running') ? runs : null;
      }, 120_000);
    await flywheel.schedules.trigger(name);
    const triggered = await finished(1);
    await sleep(1500);
    expect(await retrainsOf(name)).toHaveLength(1);
    expect(triggered[0]).toMatchObject({ trigger: 'schedule' });

    // Backfill a range covering exactly two of the daily times, both in the past.
    const offsetMs = offsetHours * HOUR;
    const lastTime = Math.floor((Date.now() - offsetMs) / DAY) * DAY + offsetMs;
    const expected = [lastTime - DAY, lastTime].map((t) => new Date(t).toISOString());
    await flywheel.schedules.backfill(name, new Date(lastTime - DAY - HOUR), new Date(lastTime + HOUR));
    const all = await finished(3);
    await sleep(1500);
    expect(await retrainsOf(name)).toHaveLength(3);
    const backfilled = all.filter((r) => r.id !== triggered[0].id);
    const windows: Array<{ scheduled: string; windowEnd: string }> = [];
    for (const run of backfilled) {
      const handle = temporal.client.workflow.getHandle(run.id);
      const scheduled = (await handle.describe()).typedSearchAttributes.get(SCHEDULED_START) as unknown as Date;
      const result = (await handle.result()) as RetrainResult;
      const dataset = await lineage.db.selectFrom('datasets').select('window_end').where('id', '=', result.datasetId).executeTakeFirstOrThrow();
      windows.push({ scheduled: new Date(scheduled).toISOString(), windowEnd: new Date(dataset.window_end).toISOString() });
    }
    windows.sort((a, b) => a.scheduled.localeCompare(b.scheduled));
    expect(windows).toEqual(expected.map((t) => ({ scheduled: t, windowEnd: t })));
  });

  it('continual controls: pause stops checks, resume restarts them at once, checkNow checks immediately', async () => {
    // No champion and a volume rule that never fires: only checks, no retrains.
    const quiet = { volume: { everyRows: 1_000_000 } };
    await applyModel(temporal.client, lineage.db, stage4('c-pause', quiet));
    await waitFor('two checks', async () => (await stateOf('c-pause')).checks >= 2);
    await flywheel.continual.pause('c-pause');
    await waitFor('the paused state', async () => (await stateOf('c-pause')).paused);
    await sleep(500); // a check already in flight may finish
    const pausedAt = (await stateOf('c-pause')).checks;
    await flywheel.continual.checkNow('c-pause');
    await sleep(3000);
    expect((await stateOf('c-pause')).checks).toBe(pausedAt);
    await flywheel.continual.resume('c-pause');
    await waitFor('checks after resume', async () => (await stateOf('c-pause')).checks >= pausedAt + 2, 10_000);
    expect((await stateOf('c-pause')).paused).toBe(false);

    // checkEvery 1 h: the only checks are the first one and the forced ones.
    await applyModel(temporal.client, lineage.db, spec('c-now', { stage: 4, continual: { checkEvery: '1h', triggers: quiet } }));
    await waitFor('the first check', async () => (await stateOf('c-now')).checks >= 1);
    await sleep(1500);
    expect((await stateOf('c-now')).checks).toBe(1);
    const asked = Date.now();
    await flywheel.continual.checkNow('c-now');
    await waitFor('the forced check', async () => (await stateOf('c-now')).checks === 2, 10_000);
    expect(Date.now() - asked).toBeLessThan(10_000);
    expect(await retrainsOf('c-now')).toEqual([]);
  });

  it('continue-as-new carries the state: the cooldown, daily budget and last retrain survive into new run ids', async () => {
    const name = 'c-can';
    await seedWithChampion(name);
    await sleep(1500);
    const staged = stage4(name, { time: { every: '1s' } });
    // Store the stage-4 spec, then start the workflow ourselves with a small checks-per-run.
    await applyModelSpec(lineage.db, staged);
    const started = await temporal.client.workflow.start('continualLearningWorkflow', {
      taskQueue: ORCHESTRATION_QUEUE,
      workflowId: continualWorkflowIdFor(name),
      args: [{ modelName: name, checksPerRun: 3 }],
    });
    const firstRunId = started.firstExecutionRunId;
    expect((await applyModel(temporal.client, lineage.db, staged)).temporal.continual).toBe('running');

    const before = await expectExactlyOneRetrain(name, 'time');
    const handle = temporal.client.workflow.getHandle(continualWorkflowIdFor(name));
    const secondRunId = await waitFor('a continue-as-new', async () => {
      const runId = (await handle.describe()).runId;
      return runId !== firstRunId ? runId : null;
    }, 30_000);
    // checksPerRun travels too: the next run continues as new after 3 checks again.
    await waitFor('a second continue-as-new', async () => ((await handle.describe()).runId !== secondRunId ? true : null), 30_000);
    const after = await stateOf(name);
    // Two continue-as-news at 3 checks per run: at least 6 checks carried. `before` may have been
    // read in the first or the second run, so it only bounds the count from below.
    expect(after.checks).toBeGreaterThanOrEqual(6);
    expect(after.checks).toBeGreaterThanOrEqual(before.checks);
    expect(after.retrainsStarted).toBe(1);
    expect(after.lastTriggeredMs).toBe(before.lastTriggeredMs);
    expect(after.startedPerDay).toEqual(before.startedPerDay);
    expect(Object.values(after.startedPerDay)).toEqual([1]);
    expect(after.lastRetrain).toEqual(before.lastRetrain);
    // The cooldown carried over: time still fires, and still no second retrain.
    expect(after.lastChecks[0].outcome).toMatch(/^time fired but not started: cooldown/);
    expect((await retrainsOf(name)).map((r) => r.trigger)).toEqual(['time']);
  });
});
