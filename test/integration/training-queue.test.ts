// The training task queue on a real dev server, with the project's workers (worker/workers.ts):
// with only the orchestration role polling, the retrain DAG's train step is scheduled on the
// training queue (with the production retry policy's 30-minute schedule-to-start bound) and
// waits there — the orchestration worker, which polls its own queue for activities, never takes
// it. Once a training-only worker starts, the same run completes.
//
// Not asserted: the schedule-to-start timeout firing. workflows/retrain.ts fixes it at 30 minutes
// (the dev server has no time skipping), and making it configurable is a workflow change outside
// this test; what is checked is that the scheduled activity carries that bound.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { temporal as proto } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRetrain } from '../../client/retrain';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { PipelineStep } from '../../workflows/search-attributes';
import { ORCHESTRATION_QUEUE, TRAINING_QUEUE } from '../../workflows/task-queues';
import { HISTORY_END, seedModel } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, startTestWorkers, type RunningWorkers, type TestTemporal } from '../support/temporal';

const { EventType, PendingActivityState, TaskQueueType } = proto.api.enums.v1;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function seconds(duration: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return Number(duration?.seconds ?? 0) + (duration?.nanos ?? 0) / 1e9;
}

describe('the training task queue: only training workers take the train step', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let store: ArtifactStore;
  let temporal: TestTemporal;
  let orchestration: RunningWorkers | undefined;
  let training: RunningWorkers | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-queue-'))).toString());
    temporal = await startTestTemporal();
    await seedModel(lineage.db, 'ctr', 1500);
  });

  afterAll(async () => {
    await training?.stop();
    await orchestration?.stop();
    await temporal?.stop();
    await lineage?.close();
    await database?.drop();
  });

  const activityPollers = async (queue: string) =>
    (
      await temporal.client.workflowService.describeTaskQueue({
        namespace: temporal.server.namespace,
        taskQueue: { name: queue },
        taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      })
    ).pollers ?? [];

  it('with only the orchestration role polling, trainCandidate waits on the training queue; a training-only worker then completes the run', async () => {
    orchestration = await startTestWorkers(temporal.server.address, { db: lineage.db, store }, ['orchestration']);
    expect(orchestration.workers.map((w) => w.options.taskQueue)).toEqual([ORCHESTRATION_QUEUE]);
    const handle = await startRetrain(temporal.client, { model: 'ctr', referenceTime: HISTORY_END.toISOString(), idempotencyKey: 'queue' });

    // The DAG reaches the train step: trainCandidate pending, scheduled and not started.
    const pending = await waitFor('trainCandidate to be scheduled', async () => {
      const activities = (await handle.describe()).raw.pendingActivities ?? [];
      return activities.find((a) => a.activityType?.name === 'trainCandidate');
    });
    expect(pending.state).toBe(PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED);
    expect(pending.attempt).toBe(1);

    // The scheduled event: on the training queue, with the production retry policy's bounds.
    const [scheduled] = ((await handle.fetchHistory()).events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainCandidate');
    const attributes = scheduled.activityTaskScheduledEventAttributes!;
    expect(attributes.taskQueue?.name).toBe(TRAINING_QUEUE);
    expect(seconds(attributes.scheduleToStartTimeout)).toBe(30 * 60);
    expect(seconds(attributes.startToCloseTimeout)).toBe(2 * 3600);
    expect(seconds(attributes.heartbeatTimeout)).toBe(2 * 60);
    // Worker deaths are retried many times; the trainer's own crashes are capped at 3 by the activity (training-temporal.test.ts).
    expect(attributes.retryPolicy?.maximumAttempts).toBe(12);

    // The orchestration worker polls activities on its own queue only; nobody polls the training queue.
    expect((await activityPollers(ORCHESTRATION_QUEUE)).length).toBeGreaterThan(0);
    expect(await activityPollers(TRAINING_QUEUE)).toEqual([]);

    // It stays that way: a few seconds on, the activity is still only scheduled, never started,
    // the run is still at its train step, and lineage has no version.
    await new Promise((r) => setTimeout(r, 4000));
    const still = ((await handle.describe()).raw.pendingActivities ?? []).find((a) => a.activityType?.name === 'trainCandidate');
    expect(still?.state).toBe(PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED);
    expect(still?.attempt).toBe(1);
    const history = (await handle.fetchHistory()).events ?? [];
    expect(history.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED && String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled.eventId))).toEqual([]);
    const description = await handle.describe();
    expect(description.status.name).toBe('RUNNING');
    expect(description.typedSearchAttributes.get(PipelineStep)).toBe('train');
    expect(await lineage.db.selectFrom('model_versions').select('id').execute()).toEqual([]);

    // A training-only worker (the GPU host's role) starts: it polls the training queue and the run completes.
    training = await startTestWorkers(temporal.server.address, { db: lineage.db, store }, ['training']);
    expect(training.workers.map((w) => w.options.taskQueue)).toEqual([TRAINING_QUEUE]);
    const result = await handle.result();
    expect(result.decision).toBe('promoted');
    expect(result.versionId).toBe('ctr@v1');
    expect((await activityPollers(TRAINING_QUEUE)).length).toBeGreaterThan(0);

    // The same single scheduling of trainCandidate was started (once) and completed.
    const final = (await handle.fetchHistory()).events ?? [];
    const trainScheduled = final.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainCandidate');
    expect(trainScheduled.map((e) => String(e.eventId))).toEqual([String(scheduled.eventId)]);
    const started = final.filter((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId ?? '') === String(scheduled.eventId));
    expect(started).toHaveLength(1);
    expect(started[0].activityTaskStartedEventAttributes!.attempt).toBe(1);
    expect(final.some((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? '') === String(scheduled.eventId))).toBe(true);
    const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => seconds(t) * 1000;
    const waited = Math.round(ms(started[0].eventTime) - ms(scheduled.eventTime));
    console.log(`trainCandidate waited ~${waited} ms on ${TRAINING_QUEUE} with no training worker, then ran once the training-only worker started`);
    expect(waited).toBeGreaterThanOrEqual(3000);
  });
});
