// The training activity's body outside Temporal (no activity context): built-in trainers in a
// child process, stateless then stateful from the parent's checkpoint or only its ONNX file, with
// categorical features; command trainers' failures become retryable or non-retryable failures
// carrying the stderr tail.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { beforeAll, describe, expect, it } from 'vitest';
import { tabularModelFromOnnx } from '../../ml/onnx';
import { OnnxModel } from '../../ml/onnx-runtime';
import { predictTabular, tabularLoss } from '../../ml/tabular';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { builtinTrainerCommand, trainWithTrainerProcess } from '../../training/activity';
import { GpuPool } from '../../worker/gpus';
import { decodeCheckpoint } from '../../training/checkpoint';
import type { TrainerEvent } from '../../training/contract';
import type { EpochRecord } from '../../ml/tabular';
import { readTrainingFrames } from '../../training/dataset';
import { featuresContract } from '../../training/hyperparameters';
import { ctrSnapshot, ctrSpec } from '../../training/testing/fixtures';

describe('trainWithTrainerProcess', () => {
  let store: ArtifactStore;
  let day1: string;
  let day2: string;
  let day2Bytes: Uint8Array;
  const spec = ctrSpec({ type: 'mlp', hiddenLayers: [8], epochs: 4, learningRate: 0.01, checkpointEveryEpochs: 2 }, { categorical: true });

  beforeAll(async () => {
    store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-activity-'))).toString());
    day1 = await store.put('datasets/d1/data.arrow', ctrSnapshot({ rows: 3000, seed: 1, categorical: true }));
    day2Bytes = ctrSnapshot({ rows: 1000, seed: 2, categorical: true, startMs: Date.UTC(2026, 1, 1), days: 1, weightScale: 1.3 });
    day2 = await store.put('datasets/d2/data.arrow', day2Bytes);
  });

  it('stateless, then stateful from the checkpoint: keeps the parent\'s vocabulary, continues its lineage, serves with categoricals', async () => {
    const events: TrainerEvent[] = [];
    const parent = await trainWithTrainerProcess({ store }, { pipelineRunId: 'retrain/ctr/a', modelName: 'ctr', datasetUri: day1, spec }, { onEvent: (e) => events.push(e) });
    // 2400 training rows less the 15% early-stopping holdout (training/dataset.ts).
    expect(parent).toMatchObject({ mode: 'stateless', init: 'fresh', trainer: 'mlp', epochs: 4, samplesSeen: 4 * 2040, samplesSeenTotal: 4 * 2040, device: 'cpu', attempt: 1 });
    expect(events.filter((e) => e.event === 'checkpoint').map((e) => (e as { epoch: number }).epoch)).toEqual([2]);
    expect(await store.exists(parent.checkpointUri!)).toBe(true);
    expect(await store.list('models/ctr/runs/retrain_ctr_a/checkpoints/')).toHaveLength(1);

    // The real built-in trainer (the activity's own command), followed by a copy of the result.json
    // it wrote — the activity reads it and then removes its work dir — so the test can read the
    // per-epoch history the trainer reported (ml/tabular/trainer.ts: epoch 0 is before any step).
    const keep = path.join(mkdtempSync(path.join(tmpdir(), 'flywheel-activity-result-')), 'result.json');
    const child = await trainWithTrainerProcess(
      { store },
      { pipelineRunId: 'retrain/ctr/b', modelName: 'ctr', datasetUri: day2, spec, mode: 'stateful', parentCheckpointUri: parent.checkpointUri!, parentArtifactUri: parent.artifactUri, parentVersionId: 'ctr@v1' },
      { builtinCommand: ['/bin/sh', '-c', 'set -e; "$@"; cp "$FLYWHEEL_OUTPUT_DIR/result.json" "$0"', keep, ...builtinTrainerCommand()] },
    );
    expect(child).toMatchObject({ mode: 'stateful', init: 'warm_start', parentVersionId: 'ctr@v1', samplesSeenTotal: parent.samplesSeen + child.samplesSeen });

    // The child's epoch-0 validation loss (from its reported history) equals the parent's on the
    // same rows: the trainer's early-stopping holdout of day 2 (training/dataset.ts), re-derived here.
    const reported = JSON.parse(readFileSync(keep, 'utf8')) as { init: string; history: EpochRecord[]; finalValidationLoss: number };
    expect(reported.init).toBe('warm_start');
    expect(reported.history.map((r) => r.epoch)).toEqual([0, 1, 2, 3, 4]);
    const start = reported.history[0];
    expect(start.samplesSeen).toBe(0);
    const parentModel = decodeCheckpoint((await store.get(parent.checkpointUri!)).toString('utf8'), 'parent').model;
    const frames = readTrainingFrames(day2Bytes, featuresContract(spec.features));
    const holdout = frames.validation!;
    expect(holdout.labels.length).toBe(120); // the latest 15% of day 2's 800 training-split rows
    // Same float64 forward pass, the parent's weights: equal to rounding.
    expect(Math.abs(start.validationLoss! - tabularLoss(parentModel, holdout.frame, holdout.labels))).toBeLessThan(1e-12);
    // Independently: the parent's served ONNX file through onnxruntime-node (float32), log loss computed here.
    const parentServed = await OnnxModel.load(await store.get(parent.artifactUri));
    let parentLogLoss = 0;
    try {
      const p = (await parentServed.run(holdout.frame)).data;
      for (let i = 0; i < holdout.labels.length; i++) parentLogLoss -= holdout.labels[i] === 1 ? Math.log(p[i]) : Math.log(1 - p[i]);
      parentLogLoss /= holdout.labels.length;
    } finally {
      await parentServed.release();
    }
    console.log(`built-in warm start: epoch-0 validation loss ${start.validationLoss} vs the parent's ONNX on the same rows ${parentLogLoss} (|diff| ${Math.abs(start.validationLoss! - parentLogLoss).toExponential(2)})`);
    // float32 weights and activations in ORT against float64 in the trainer: ~1e-7 relative per row.
    expect(Math.abs(start.validationLoss! - parentLogLoss)).toBeLessThan(1e-6);
    // And the loss did move: this is a continuation, not a copy (and not a fresh start near log 2).
    expect(reported.history.slice(1).some((r) => Math.abs(r.validationLoss! - start.validationLoss!) > 1e-6)).toBe(true);
    const childCheckpoint = decodeCheckpoint((await store.get(child.checkpointUri!)).toString('utf8'), 'child');
    expect(childCheckpoint.model.categorical).toEqual(parentModel.categorical);
    expect(childCheckpoint.samplesSeenTotal).toBe(child.samplesSeenTotal);

    const served = await OnnxModel.load(await store.get(child.artifactUri));
    try {
      expect(served.categoricalFeatures).toEqual(['device']);
      const out = await served.run(frames.validation!.frame);
      const expected = predictTabular(tabularModelFromOnnx(await store.get(child.artifactUri)), frames.validation!.frame);
      let worst = 0;
      for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(out.data[i] - expected[i]));
      expect(worst).toBeLessThan(1e-5);
    } finally {
      await served.release();
    }
    // Best weights are restored, and epoch 0 (the parent) is a candidate: never worse than the parent.
    expect(tabularLoss(childCheckpoint.model, holdout.frame, holdout.labels)).toBeLessThan(start.validationLoss! + 1e-9);
    expect(reported.finalValidationLoss).toBe(reported.history[reported.history.length - 1].validationLoss);
  });

  it('stateful.restandardize in the spec: the update merges the new window\'s feature moments into the parent\'s; skipped (and said) without a checkpoint', async () => {
    const restandardizing = { ...spec, stateful: { ...spec.stateful, restandardize: true } };
    const parent = await trainWithTrainerProcess({ store }, { pipelineRunId: 'retrain/ctr/rs-a', modelName: 'ctr', datasetUri: day1, spec: restandardizing });
    expect(parent.init).toBe('fresh');
    const parentMoments = decodeCheckpoint((await store.get(parent.checkpointUri!)).toString('utf8'), 'parent').moments;
    const child = await trainWithTrainerProcess(
      { store },
      { pipelineRunId: 'retrain/ctr/rs-b', modelName: 'ctr', datasetUri: day2, spec: restandardizing, mode: 'stateful', parentCheckpointUri: parent.checkpointUri!, parentArtifactUri: parent.artifactUri },
    );
    expect(child.init).toBe('warm_start_restandardized');
    // The standardisation folded into the child's weights is of all data seen: the merged moments
    // count the parent's rows and the new window's.
    const childMoments = decodeCheckpoint((await store.get(child.checkpointUri!)).toString('utf8'), 'child').moments;
    expect(childMoments[0].count).toBeGreaterThan(parentMoments[0].count);
    // Without a checkpoint there are no moments to merge: the update keeps the parent's standardisation and says why.
    const lines: string[] = [];
    const onnxOnly = await trainWithTrainerProcess(
      { store },
      { pipelineRunId: 'retrain/ctr/rs-c', modelName: 'ctr', datasetUri: day2, spec: restandardizing, mode: 'stateful', parentArtifactUri: parent.artifactUri, parentVersionId: 'ctr@v1' },
      { log: (line) => lines.push(line) },
    );
    expect(onnxOnly.init).toBe('warm_start');
    expect(lines).toContain('stateful.restandardize skipped: parent ctr@v1 has no checkpoint (no feature moments to merge); its standardisation is kept');
  });

  it('stateful from the parent\'s ONNX file only (no checkpoint), with dataSinceMs and per-run overrides', async () => {
    const parent = await trainWithTrainerProcess({ store }, { pipelineRunId: 'retrain/ctr/c', modelName: 'ctr', datasetUri: day1, spec });
    const since = Date.UTC(2026, 1, 1, 6);
    const child = await trainWithTrainerProcess(
      { store },
      { pipelineRunId: 'retrain/ctr/d', modelName: 'ctr', datasetUri: day2, spec, mode: 'stateful', parentArtifactUri: parent.artifactUri, parentSamplesSeen: 5, dataSinceMs: since, hyperparameters: { epochs: 2 } },
    );
    expect(child.init).toBe('warm_start');
    expect(child.epochs).toBe(2);
    const rowsAfter = readTrainingFrames(day2Bytes, featuresContract(spec.features), since).trainLabels.length;
    expect(rowsAfter).toBeLessThan(800);
    expect(child.samplesSeen).toBe(2 * rowsAfter);
    expect(child.samplesSeenTotal).toBe(5 + child.samplesSeen);
  });

  it('on a GPU host, concurrent trainers each see a GPU of their own through CUDA_VISIBLE_DEVICES', async () => {
    const pool = new GpuPool(['0', '1']);
    // The "trainer" tells which GPU it was given (on stderr, which reaches the failure message) while
    // the other one is still running, then exits 65 so nothing is retried or recorded as a crash.
    const script = "setTimeout(() => { process.stderr.write('gpu=' + process.env.CUDA_VISIBLE_DEVICES); process.exit(65); }, 800)";
    const run = (key: string) =>
      trainWithTrainerProcess(
        { store },
        { pipelineRunId: `retrain/ctr/gpu-${key}`, modelName: 'ctr', datasetUri: day1, spec: ctrSpec({ type: 'command', command: [process.execPath, '-e', script], timeoutMinutes: 1 }) },
        { gpus: pool },
      ).then(
        () => 'succeeded',
        (e: Error) => /gpu=(\S+)/.exec(e.message)?.[1] ?? e.message,
      );
    const seen = await Promise.all([run('a'), run('b')]);
    expect(seen.sort()).toEqual(['0', '1']);
    // Both leases were returned.
    expect(pool.load()).toEqual({ '0': 0, '1': 0 });
  });

  it('refuses what retrying cannot fix, and lets a crash be retried, with the stderr tail in the message', async () => {
    const command = (script: string) => ctrSpec({ type: 'command', command: [process.execPath, '-e', script], timeoutMinutes: 1 });
    const failure = async (request: Parameters<typeof trainWithTrainerProcess>[1]) =>
      (await trainWithTrainerProcess({ store }, request).then(() => undefined, (e: unknown) => e)) as ApplicationFailure;
    const base = { pipelineRunId: 'retrain/ctr/e', modelName: 'ctr', datasetUri: day1 };

    const bad = await failure({ ...base, spec: command("process.stderr.write('label column has 3 classes'); process.exit(65)") });
    expect(bad).toBeInstanceOf(ApplicationFailure);
    expect(bad).toMatchObject({ type: 'InvalidTrainingData', nonRetryable: true });
    expect(bad.message).toMatch(/exited with status 65; stderr .*label column has 3 classes/);

    const crash = await failure({ ...base, spec: command("process.stderr.write('CUDA out of memory'); process.exit(1)") });
    expect(crash).toMatchObject({ type: 'TrainerCrashed', nonRetryable: false });
    expect(crash.message).toMatch(/CUDA out of memory/);

    const noModel = await failure({ ...base, spec: command('process.exit(0)') });
    expect(noModel).toMatchObject({ type: 'CorruptArtifact', nonRetryable: true });
    expect(noModel.message).toMatch(/wrote no model\.onnx/);

    const missing = await failure({ ...base, spec: ctrSpec({ type: 'command', command: ['/no/such/trainer'] }) });
    expect(missing).toMatchObject({ type: 'InvalidSpec', nonRetryable: true });

    const statefulWithoutParent = await failure({ ...base, spec, mode: 'stateful' });
    expect(statefulWithoutParent.message).toMatch(/stateful training run needs parentArtifactUri or parentCheckpointUri/);

    const badSettings = await failure({ ...base, datasetUri: day1, spec: ctrSpec({ type: 'softmax_regression' }) });
    expect(badSettings).toMatchObject({ type: 'InvalidSpec', nonRetryable: true });
    expect(badSettings.message).toMatch(/softmax_regression fits multiclass only, the task is binary_classification/);

    // A binary window with a label 2 is bad data: the built-in trainer exits 65.
    const { encodeDataset, decodeDataset } = await import('../../datasets/snapshot');
    const layout = { numeric: ['ad_relevance', 'user_ctr_7d', 'position', 'hour_sin'], categorical: [] };
    const columns = decodeDataset(ctrSnapshot({ rows: 100, seed: 5 }), layout);
    columns.labels[7] = 2;
    const broken = await store.put('datasets/broken/data.arrow', encodeDataset(columns, layout));
    const badData = await failure({ ...base, datasetUri: broken, spec: ctrSpec({ type: 'logistic_regression' }) });
    expect(badData).toMatchObject({ type: 'InvalidTrainingData', nonRetryable: true });
    expect(badData.message).toMatch(/labels must be 0 or 1, but row 7 has 2/);
  });
});
