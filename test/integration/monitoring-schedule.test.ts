// Scheduled monitoring on the real stack (Temporal dev server, PostgreSQL, file:// store): a spec's
// monitoring.every makes apply create the `monitoring-schedule/<model>` Schedule at any stage; a
// run it starts (monitoringWorkflow) measures the production window ending at its scheduled time
// against the champion's training snapshot and stores the signals in monitoring_signals; the same
// spec twice changes nothing, a new interval updates it in place, removing the field removes it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ScheduleNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MonitoringSummary } from '../../activities/monitoring';
import { applyModel } from '../../client/apply';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { monitoringScheduleIdFor } from '../../schedules/monitoring';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { monitoredSpec, seedScenario } from '../support/monitoring';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, startTestWorkers, type RunningWorkers, type TestTemporal } from '../support/temporal';

const MODEL = 'monsched';

describe('monitoring on a schedule', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let store: ArtifactStore;
  let temporal: TestTemporal;
  let workers: RunningWorkers;

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-monsched-'))).toString());
    // Four simulated days in the prediction log, the champion trained on the first two.
    await seedScenario(lineage.db, store, { name: MODEL, days: 4, referenceDays: 2, rowsPerDay: 400, seed: 3 });
    temporal = await startTestTemporal();
    workers = await startTestWorkers(temporal.server.address, { db: lineage.db, store });
  });

  afterAll(async () => {
    await workers?.stop();
    await temporal?.stop();
    await lineage?.close();
    await database?.drop();
  });

  it('apply creates the schedule; a run stores the window\'s signals; re-apply, a new interval and removal reconcile it', async () => {
    const spec = (monitoring?: Record<string, unknown>) => monitoredSpec(MODEL, monitoring ? { monitoring } : {});
    const handle = temporal.client.schedule.getHandle(monitoringScheduleIdFor(MODEL));

    const created = await applyModel(temporal.client, lineage.db, spec({ every: '1h', window: '600' }));
    expect(created.temporal).toMatchObject({ schedule: 'none', continual: 'none', monitoring: 'created', monitoringScheduleId: `monitoring-schedule/${MODEL}` });
    const described = await handle.describe();
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'monitoringWorkflow', args: [{ modelName: MODEL }] });
    expect(described.spec.intervals?.[0].every).toBe(3_600_000);
    expect((await applyModel(temporal.client, lineage.db, spec({ every: '1h', window: '600' }))).temporal.monitoring).toBe('unchanged');

    const before = await lineage.db.selectFrom('monitoring_signals').select((eb) => eb.fn.countAll<string>().as('n')).where('model_name', '=', MODEL).executeTakeFirstOrThrow();
    await handle.trigger();
    const started = await (async () => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const recent = (await handle.describe()).info.recentActions;
        if (recent.length > 0) return recent[0].action;
        if (Date.now() > deadline) throw new Error('the schedule started no run');
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    expect(started.workflow.workflowId).toMatch(new RegExp(`^monitor/${MODEL}/scheduled-`));
    const summary = (await temporal.client.workflow.getHandle(started.workflow.workflowId).result()) as MonitoringSummary;
    // The latest 600 served rows (the window of the spec) against the champion's 2-day snapshot.
    expect(summary.modelName).toBe(MODEL);
    expect(summary.window.rows).toBe(600);
    expect(summary.reference.kind).toBe('training');
    expect(summary.signalsStored).toBeGreaterThan(0);
    const after = await lineage.db.selectFrom('monitoring_signals').select((eb) => eb.fn.countAll<string>().as('n')).where('model_name', '=', MODEL).executeTakeFirstOrThrow();
    expect(Number(after.n) - Number(before.n)).toBe(summary.signalsStored);

    // A new interval: the same schedule, updated in place.
    expect((await applyModel(temporal.client, lineage.db, spec({ every: '30m', window: '600' }))).temporal.monitoring).toBe('updated');
    const updated = await handle.describe();
    expect(updated.spec.intervals?.[0].every).toBe(1_800_000);
    expect(updated.info.createdAt.getTime()).toBe(described.info.createdAt.getTime());

    // No monitoring.every: the schedule goes.
    expect((await applyModel(temporal.client, lineage.db, spec())).temporal.monitoring).toBe('removed');
    await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });

  it('refuses an interval under a minute at apply, naming the field, and changes nothing', async () => {
    await expect(applyModel(temporal.client, lineage.db, monitoredSpec(MODEL, { monitoring: { every: '10s' } }))).rejects.toThrow(/monitoring\.every.*under a minute/);
    await expect(temporal.client.schedule.getHandle(monitoringScheduleIdFor(MODEL)).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });
});
