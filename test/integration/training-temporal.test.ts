// The training activity on a real Temporal dev server, with the training worker in its own
// process: killed with -9 mid-training, the retry resumes from the checkpoint named in the last
// heartbeat (and ends bit-identical to an uninterrupted run); worker deaths do not use up the
// trainer's crash budget, and a trainer that crashes every time stops after that budget under the
// production retry policy; cancelling a run kills a command trainer's whole process group and
// removes its temp files.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ActivityFailure, ApplicationFailure, CancelledFailure, defaultPayloadConverter } from '@temporalio/common';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportTabularToOnnx, tabularModelFromOnnx } from '../../ml/onnx';
import { trainTabular } from '../../ml/tabular';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { readTrainingFrames } from '../../training/dataset';
import { builtinHyperparameters, featuresContract } from '../../training/hyperparameters';
import { TRAINER_CRASH_LIMIT } from '../../training/activity';
import { processAlive } from '../../training/process';
import { TRAINING_MAX_ATTEMPTS } from '../../workflows/training-policy';
import { ctrSnapshot, ctrSpec } from '../../training/testing/fixtures';
import type { TrainedCandidateV2, TrainingHeartbeat, TrainRequestV2 } from '../../training/types';
import { startTestTemporal, type TestTemporal } from '../support/temporal';

const ORCHESTRATION_QUEUE = 'training-test-orchestration';
const TRAINING_QUEUE = 'training-test-training';

function startWorkerProcess(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(__dirname, '..', '..', 'training', 'testing', 'worker-main.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      if (String(chunk).includes('worker ready')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`worker process exited (${code}) before it was ready: ${stderr}`)));
  });
}

async function heartbeatOf(handle: WorkflowHandle): Promise<{ details: TrainingHeartbeat | undefined; attempt: number }> {
  const description = await handle.describe();
  const pending = description.raw.pendingActivities?.[0];
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  return { details: payload ? defaultPayloadConverter.fromPayload<TrainingHeartbeat>(payload) : undefined, attempt: pending?.attempt ?? 0 };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('training activity on Temporal with a separate worker process', () => {
  let temporal: TestTemporal;
  let store: ArtifactStore;
  let storeRoot: string;
  let tempRoot: string;
  let orchestration: Worker;
  let orchestrationRun: Promise<void>;
  let connection: NativeConnection;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    temporal = await startTestTemporal();
    storeRoot = pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-training-store-'))).toString();
    tempRoot = mkdtempSync(path.join(tmpdir(), 'flywheel-training-temp-'));
    store = openArtifactStore(storeRoot);
    connection = await NativeConnection.connect({ address: temporal.server.address });
    orchestration = await Worker.create({
      connection,
      namespace: 'default',
      taskQueue: ORCHESTRATION_QUEUE,
      workflowsPath: path.join(__dirname, '..', '..', 'training', 'testing', 'workflows.ts'),
    });
    orchestrationRun = orchestration.run();
  });

  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    orchestration?.shutdown();
    await orchestrationRun;
    await connection?.close();
    await temporal?.stop();
  });

  const workerEnv = () => ({ TEMPORAL_ADDRESS: temporal.server.address, FLYWHEEL_TEST_TASK_QUEUE: TRAINING_QUEUE, FLYWHEEL_TEST_STORE: storeRoot, FLYWHEEL_TEST_TEMP: tempRoot });

  it('a worker killed with -9 mid-training: the retry resumes from the heartbeat-named checkpoint and ends identical to an uninterrupted run', async () => {
    const snapshot = ctrSnapshot({ rows: 40_000, seed: 21 });
    const datasetUri = await store.put('datasets/resume/data.arrow', snapshot);
    const spec = ctrSpec({ type: 'mlp', hiddenLayers: [64, 32], epochs: 10, earlyStoppingPatience: 0, batchSize: 64, learningRate: 0.005, checkpointEveryEpochs: 1 });
    const request: TrainRequestV2 = { pipelineRunId: 'retrain/ctr/resume-test', modelName: 'ctr', datasetUri, spec };

    const first = await startWorkerProcess(workerEnv());
    workers.push(first);
    const handle = await temporal.client.workflow.start('trainOnceWorkflow', {
      taskQueue: ORCHESTRATION_QUEUE,
      workflowId: 'training-test/resume',
      args: [request, { taskQueue: TRAINING_QUEUE, heartbeatTimeoutMs: 3000, maximumAttempts: 3 }],
    });
    // Wait until the server holds a heartbeat naming an uploaded checkpoint of epoch >= 2.
    const seen = await waitFor('a heartbeat with a checkpoint', async () => {
      const { details } = await heartbeatOf(handle);
      return details?.checkpointUri && (details.checkpointEpoch ?? 0) >= 2 ? details : undefined;
    });
    first.kill('SIGKILL');
    const trainerPid = seen.pid!;
    expect(trainerPid).toBeGreaterThan(0);
    // The orphaned trainer notices its supervisor is gone (re-parented) and exits at its next epoch.
    await waitFor('the orphaned trainer to exit', async () => (processAlive(trainerPid) ? undefined : true), 30_000);

    // The checkpoint the retry will resume from: the newest one the server recorded before the kill.
    const last = (await heartbeatOf(handle)).details!;
    expect(last.checkpointEpoch).toBeGreaterThanOrEqual(seen.checkpointEpoch!);
    workers.push(await startWorkerProcess(workerEnv()));
    const result = (await handle.result()) as TrainedCandidateV2;

    expect(result.attempt).toBe(2);
    expect(result.init).toBe('resume');
    expect(result.resumedFromCheckpointUri).toBe(last.checkpointUri);
    expect(result.resumedFromEpoch).toBe(last.checkpointEpoch);
    expect(result.resumedFromEpoch).toBeGreaterThan(0);
    expect(result.epochs).toBe(10);
    expect(result.samplesSeen).toBe(10 * 27_200); // 32,000 training rows less the 15% early-stopping holdout
    console.log(
      `resume: attempt 1 killed after checkpoint epoch ${seen.checkpointEpoch} (server had epoch ${last.checkpointEpoch}); ` +
        `attempt ${result.attempt} resumed from ${result.resumedFromCheckpointUri} at epoch ${result.resumedFromEpoch}`,
    );

    // Same data, same seed: the resumed run's weights equal an uninterrupted in-process run's, bit for bit.
    const frames = readTrainingFrames(snapshot, featuresContract(spec.features));
    const hparams = builtinHyperparameters(spec.trainer as Extract<typeof spec.trainer, { type: 'mlp' }>, 'binary_classification');
    const uninterrupted = trainTabular({ train: frames.train, trainLabels: frames.trainLabels, validation: frames.validation, categorical: [] }, hparams);
    const expected = tabularModelFromOnnx(exportTabularToOnnx(uninterrupted.model));
    const served = tabularModelFromOnnx(await store.get(result.artifactUri));
    expect(served.layers).toEqual(expected.layers);
    expect(result.checkpointUri).toMatch(/runs\/retrain_ctr_resume-test\/checkpoint\.json$/);
  });

  it('three worker deaths in one training step do not fail it: each retry resumes from the last checkpoint, the fourth attempt completes', async () => {
    const datasetUri = await store.put('datasets/deaths/data.arrow', ctrSnapshot({ rows: 40_000, seed: 5 }));
    const spec = ctrSpec({ type: 'mlp', hiddenLayers: [64, 32], epochs: 8, earlyStoppingPatience: 0, batchSize: 64, learningRate: 0.005, checkpointEveryEpochs: 1 });
    const request: TrainRequestV2 = { pipelineRunId: 'retrain/ctr/deaths-test', modelName: 'ctr', datasetUri, spec };
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    const handle = await temporal.client.workflow.start('trainOnceWorkflow', {
      taskQueue: ORCHESTRATION_QUEUE,
      workflowId: 'training-test/deaths',
      args: [request, { taskQueue: TRAINING_QUEUE, heartbeatTimeoutMs: 3000 }],
    });
    // Kill the worker of attempts 1, 2 and 3 once each has checkpointed one epoch more than the
    // last (under the old budget of 3 attempts, the third kill failed the step).
    for (let attempt = 1; attempt <= 3; attempt++) {
      const worker = await startWorkerProcess(workerEnv());
      workers.push(worker);
      const running = await waitFor(`attempt ${attempt}'s checkpoint of epoch ${attempt}`, async () => {
        const { details } = await heartbeatOf(handle);
        return details?.attempt === attempt && details.pid && (details.checkpointEpoch ?? 0) >= attempt ? details : undefined;
      });
      worker.kill('SIGKILL');
      await waitFor(`attempt ${attempt}'s orphaned trainer to exit`, async () => (processAlive(running.pid!) ? undefined : true), 30_000);
    }
    workers.push(await startWorkerProcess(workerEnv()));
    const result = (await handle.result()) as TrainedCandidateV2;
    expect(result.attempt).toBe(4);
    expect(result.init).toBe('resume');
    expect(result.resumedFromEpoch).toBeGreaterThanOrEqual(3);
    expect(result.epochs).toBe(8);
    expect(TRAINING_MAX_ATTEMPTS).toBeGreaterThan(4);
    // Deaths are not crashes: nothing was written to the run's crash record.
    expect(await store.exists(store.uriFor('models/ctr/runs/retrain_ctr_deaths-test/trainer-crashes.json'))).toBe(false);
    console.log(`deaths: 3 workers killed mid-training, attempt ${result.attempt} finished (${result.init}, resumed from epoch ${result.resumedFromEpoch ?? 'none'})`);
  });

  it('a trainer that crashes every time fails the step after its crash budget, not after the many attempts worker deaths get', async () => {
    const datasetUri = await store.put('datasets/crash/data.arrow', ctrSnapshot({ rows: 200, seed: 4 }));
    const spec = ctrSpec({ type: 'command', command: [process.execPath, '-e', "process.stderr.write('CUDA error: an illegal memory access'); process.exit(3)"], timeoutMinutes: 5 });
    if (workers.every((w) => w.exitCode !== null)) workers.push(await startWorkerProcess(workerEnv()));
    const handle = await temporal.client.workflow.start('trainOnceWorkflow', {
      taskQueue: ORCHESTRATION_QUEUE,
      workflowId: 'training-test/crash',
      args: [{ pipelineRunId: 'retrain/ctr/crash-test', modelName: 'ctr', datasetUri, spec }, { taskQueue: TRAINING_QUEUE, heartbeatTimeoutMs: 3000 }],
    });
    const failure = await handle.result().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const activityFailure = (failure as WorkflowFailedError).cause as ActivityFailure;
    expect(activityFailure).toBeInstanceOf(ActivityFailure);
    const cause = activityFailure.cause as ApplicationFailure;
    expect(cause.type).toBe('TrainerCrashed');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toContain('an illegal memory access');
    expect(cause.message).toContain(`crashed ${TRAINER_CRASH_LIMIT} times in this run (attempts 1, 2, 3; limit ${TRAINER_CRASH_LIMIT})`);
    const started = ((await handle.fetchHistory()).events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
    expect(started).toHaveLength(1);
    expect(started[0].activityTaskStartedEventAttributes!.attempt).toBe(TRAINER_CRASH_LIMIT);
    const record = JSON.parse((await store.get(store.uriFor('models/ctr/runs/retrain_ctr_crash-test/trainer-crashes.json'))).toString('utf8'));
    expect(record.crashes.map((c: { attempt: number; how: string }) => [c.attempt, c.how])).toEqual([
      [1, 'exited with status 3'],
      [2, 'exited with status 3'],
      [3, 'exited with status 3'],
    ]);
  });

  it('cancelling the run kills a command trainer and its children (the whole process group) and removes its temp dir', async () => {
    const datasetUri = await store.put('datasets/cancel/data.arrow', ctrSnapshot({ rows: 200, seed: 3 }));
    // A "trainer" that starts a child of its own, reports progress and never finishes.
    const script = [
      "const { spawn } = require('node:child_process');",
      "spawn('sleep', ['600'], { stdio: 'ignore' });",
      'let epoch = 0;',
      "setInterval(() => console.log(JSON.stringify({ event: 'progress', epoch: ++epoch, loss: 1 / epoch })), 100);",
    ].join('\n');
    const spec = ctrSpec({ type: 'command', command: [process.execPath, '-e', script], timeoutMinutes: 10 });
    if (workers.every((w) => w.exitCode !== null)) workers.push(await startWorkerProcess(workerEnv()));
    const handle = await temporal.client.workflow.start('trainOnceWorkflow', {
      taskQueue: ORCHESTRATION_QUEUE,
      workflowId: 'training-test/cancel',
      args: [{ pipelineRunId: 'retrain/ctr/cancel-test', modelName: 'ctr', datasetUri, spec }, { taskQueue: TRAINING_QUEUE, heartbeatTimeoutMs: 3000, maximumAttempts: 1 }],
    });
    const running = await waitFor('the command trainer to report progress', async () => {
      const { details } = await heartbeatOf(handle);
      return details?.pid && details.epoch >= 3 ? details : undefined;
    });
    const group = running.pid!;
    expect(processAlive(-group)).toBe(true);
    expect(readdirSync(tempRoot).length).toBe(1);

    const cancelledAt = Date.now();
    await handle.cancel();
    const failure = await handle.result().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    // Every process of the group (the trainer and its `sleep`) is gone.
    await waitFor('the trainer process group to exit', async () => (processAlive(-group) ? undefined : true), 15_000);
    console.log(`cancel: process group ${group} gone ${Date.now() - cancelledAt} ms after the cancel request`);
    await waitFor('the temp dir to be removed', async () => (readdirSync(tempRoot).length === 0 ? true : undefined), 10_000);
  });
});
