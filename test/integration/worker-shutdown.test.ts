// Graceful shutdown of the real worker process (`flywheel worker`) on the real stack: Temporal dev
// server, PostgreSQL (fresh database), file:// artifact store. A retrain's training activity is
// made to last a few seconds (a command trainer that holds, then runs the built-in trainer:
// test/support/slow-trainer-main.ts); SIGTERM lands while it runs. The worker must stop polling,
// let that activity finish (ActivityTaskCompleted on its first attempt, after the signal; no
// failure, timeout or retry), log "flywheel worker stopped" and exit 0, under the default grace
// period. A second worker then picks the run up, finishes it, and stops on SIGINT (Ctrl-C) the same way.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRetrain, type RetrainHandle } from '../../client/retrain';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { insertLabelledExamples } from '../../lineage/labelled-examples';
import { applyModelSpec } from '../../lineage/models';
import { generateCtrHistory } from '../../scenarios/ctr-history';
import { parseModelSpec, type BuiltinTrainerSpec } from '../../spec/model-spec';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { builtinHyperparameters } from '../../training/hyperparameters';
import type { TrainedCandidateV2 } from '../../training/types';
import { SHUTDOWN_GRACE_ENV } from '../../worker/shutdown';
import { TRAINING_QUEUE } from '../../workflows/task-queues';
import { exampleSpec, HISTORY_END } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, type TestTemporal } from '../support/temporal';

const BIN = path.join(__dirname, '..', '..', 'bin', 'flywheel');
const SLOW_TRAINER = path.join(__dirname, '..', 'support', 'slow-trainer-main.ts');
/** How long the trainer holds before it trains: long enough that SIGTERM surely lands mid-activity. */
const HOLD_MS = 6_000;
/** temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED */
const PENDING_ACTIVITY_STATE_STARTED = 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, log?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${log ? `; worker log:\n${log()}` : ''}`);
}

function timestampMs(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!ts) return Number.NaN;
  return Number(String(ts.seconds ?? 0)) * 1000 + (ts.nanos ?? 0) / 1e6;
}

interface WorkerProcess {
  child: ChildProcess;
  log: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

describe('worker process: graceful shutdown on SIGTERM', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let store: ArtifactStore;
  let temporal: TestTemporal;
  const spawned: ChildProcess[] = [];

  function startWorker(): WorkerProcess {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: temporal.server.address,
      DATABASE_URL: database.url,
      FLYWHEEL_ARTIFACT_ROOT: store.rootUri,
      FLYWHEEL_SDK_LOG_LEVEL: 'INFO',
    };
    // The default grace period is what is under test.
    delete env[SHUTDOWN_GRACE_ENV];
    const child = spawn(process.execPath, [BIN, 'worker'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    spawned.push(child);
    let text = '';
    child.stdout!.on('data', (d) => (text += d));
    child.stderr!.on('data', (d) => (text += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
    return { child, log: () => text, exited };
  }

  async function ready(worker: WorkerProcess): Promise<void> {
    await waitFor(
      'the worker to poll',
      () => {
        if (worker.child.exitCode !== null) throw new Error(`worker exited early (${worker.child.exitCode}):\n${worker.log()}`);
        return /flywheel worker .* polling/.test(worker.log()) ? true : undefined;
      },
      120_000,
    );
  }

  async function within<T>(what: string, promise: Promise<T>, ms: number, log: () => string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms; worker log:\n${log()}`)), ms)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-shutdown-'))).toString());
    temporal = await startTestTemporal();
    // The example spec's built-in logistic regression, run through a command trainer that first holds.
    const builtin = parseModelSpec(exampleSpec()).trainer as BuiltinTrainerSpec;
    const hyperparameters = { ...builtinHyperparameters(builtin, 'binary_classification'), holdMs: HOLD_MS };
    await applyModelSpec(
      lineage.db,
      exampleSpec({
        name: 'drain',
        trainer: { type: 'command', command: [process.execPath, '--require', require.resolve('tsx/cjs'), SLOW_TRAINER], hyperparameters, checkpointEveryEpochs: 10_000, timeoutMinutes: 5 },
      }),
    );
    await insertLabelledExamples(lineage.db, 'drain', generateCtrHistory({ seed: 7, rows: 1500, end: HISTORY_END, days: 30 }));
  });

  afterAll(async () => {
    for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await temporal?.stop();
    await lineage?.close();
    await database?.drop();
  });

  it('lets the in-flight training activity finish, exits 0, and a second worker completes the run', { timeout: 300_000 }, async () => {
    const first = startWorker();
    await ready(first);
    expect(first.log()).toContain('shutdown grace 30 s');

    const handle: RetrainHandle = await startRetrain(temporal.client, { model: 'drain', referenceTime: HISTORY_END.toISOString(), idempotencyKey: 'sigterm' });
    // In flight: Temporal reports trainCandidate started, and its trainer process is holding.
    await waitFor(
      'trainCandidate to be running',
      async () => {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        return pending.some((p) => p.activityType?.name === 'trainCandidate' && p.state === PENDING_ACTIVITY_STATE_STARTED) ? true : undefined;
      },
      120_000,
      first.log,
    );
    await waitFor('the trainer to start holding', () => (first.log().includes('slow trainer: holding') ? true : undefined), 60_000, first.log);
    const step = await lineage.db.selectFrom('pipeline_runs').select('current_step').where('id', '=', handle.workflowId).executeTakeFirstOrThrow();
    expect(step.current_step).toBe('train');

    const sigtermAt = Date.now();
    first.child.kill('SIGTERM');
    const exit = await within('the first worker to drain and exit', first.exited, 60_000, first.log);
    const log = first.log();
    console.log(`first worker exited ${exit.code} ${(exit.at - sigtermAt) / 1000} s after SIGTERM`);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(log).toContain('flywheel worker stopped');
    // It waited for the trainer rather than killing it: the trainer finished before the worker stopped.
    expect(log).toContain('slow trainer: done');
    expect(log.indexOf('slow trainer: done')).toBeLessThan(log.indexOf('flywheel worker stopped'));

    // The history: one attempt of trainCandidate, started before the signal and completed after it.
    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainCandidate');
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0].activityTaskScheduledEventAttributes!.taskQueue?.name).toBe(TRAINING_QUEUE);
    const scheduledId = String(scheduled[0].eventId);
    const forIt = events.filter((e) =>
      [e.activityTaskStartedEventAttributes, e.activityTaskCompletedEventAttributes, e.activityTaskFailedEventAttributes, e.activityTaskTimedOutEventAttributes, e.activityTaskCanceledEventAttributes].some(
        (a) => a && String(a.scheduledEventId) === scheduledId,
      ),
    );
    expect(forIt.map((e) => (e.activityTaskStartedEventAttributes ? 'started' : e.activityTaskCompletedEventAttributes ? 'completed' : 'failed, timed out or cancelled'))).toEqual(['started', 'completed']);
    const [started, completed] = forIt;
    expect(started.activityTaskStartedEventAttributes!.attempt).toBe(1);
    expect(timestampMs(started.eventTime)).toBeLessThan(sigtermAt);
    expect(timestampMs(completed.eventTime)).toBeGreaterThan(sigtermAt);
    const trained = defaultPayloadConverter.fromPayload<TrainedCandidateV2>(completed.activityTaskCompletedEventAttributes!.result!.payloads![0]);
    expect(trained).toMatchObject({ attempt: 1, init: 'fresh', trainer: 'command', mode: 'stateless' });
    expect(await store.exists(trained.artifactUri)).toBe(true);

    // Nothing polls now, so the run waits: still running, past train.
    expect((await handle.describe()).status.name).toBe('RUNNING');

    // A second worker picks the run up where the first left it and finishes it.
    const second = startWorker();
    try {
      await ready(second);
      const result = await within('the run to finish on the second worker', handle.result(), 120_000, second.log);
      expect(result.decision).toBe('promoted');
      expect(result.versionId).toBe('drain@v1');
      const version = await lineage.db.selectFrom('model_versions').selectAll().where('id', '=', 'drain@v1').executeTakeFirstOrThrow();
      expect(version.artifact_uri).toBe(trained.artifactUri);
      const run = await lineage.db.selectFrom('pipeline_runs').selectAll().where('id', '=', handle.workflowId).executeTakeFirstOrThrow();
      expect(run).toMatchObject({ status: 'succeeded', current_step: 'done' });
      // Still exactly one training attempt in the finished history.
      const final = (await handle.fetchHistory()).events ?? [];
      expect(final.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainCandidate')).toHaveLength(1);
      expect(final.some((e) => e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes)).toBe(false);
    } finally {
      // Ctrl-C in a terminal: SIGINT stops a worker the same way SIGTERM does.
      if (second.child.exitCode === null) second.child.kill('SIGINT');
    }
    const secondExit = await within('the idle second worker to exit on SIGINT', second.exited, 60_000, second.log);
    expect(secondExit).toMatchObject({ code: 0, signal: null });
    expect(second.log()).toContain('flywheel worker stopped');
  });
});
