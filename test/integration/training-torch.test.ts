// The PyTorch reference trainer (trainers/pytorch) through the training activity on CPU: its ONNX
// export serves through onnxruntime-node with predictions equal to torch's own (1e-5), and a
// stateful run warm-starts from its checkpoint. Skipped when torch is not installed in .tools/venv.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createMatrix } from '../../ml/dataset-matrix';
import { readOnnxMetadata } from '../../ml/onnx';
import { OnnxModel } from '../../ml/onnx-runtime';
import { createRng } from '../../ml/random';
import { openArtifactStore } from '../../storage/artifact-store';
import { trainWithTrainerProcess } from '../../training/activity';
import type { TrainerEvent } from '../../training/contract';
import { CTR_FEATURES, ctrSnapshot, ctrSpec } from '../../training/testing/fixtures';

const ROOT = path.join(__dirname, '..', '..');
const PYTHON = path.join(ROOT, '.tools', 'venv', 'bin', 'python');
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, onnx'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!hasTorch)('PyTorch reference trainer through the training activity (CPU)', () => {
  it('trains, exports ONNX that onnxruntime-node serves like torch, and warm-starts from its checkpoint', async () => {
    const store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-torch-'))).toString());
    const datasetUri = await store.put('datasets/torch/data.arrow', ctrSnapshot({ rows: 6000, seed: 8 }));
    const spec = ctrSpec({
      type: 'command',
      command: [PYTHON, '-m', 'flywheel_torch_trainer'],
      env: { PYTHONPATH: path.join(ROOT, 'trainers', 'pytorch') },
      hyperparameters: { hiddenLayers: [16, 8], epochs: 4, learningRate: 0.01, batchSize: 64, seed: 3 },
      timeoutMinutes: 5,
    });
    const events: TrainerEvent[] = [];
    const result = await trainWithTrainerProcess({ store }, { pipelineRunId: 'retrain/ctr/torch', modelName: 'ctr', datasetUri, spec }, { onEvent: (e) => events.push(e) });
    expect(result.device).toBe('cpu');
    expect(result.trainer).toBe('command');
    expect(result.epochs).toBe(4);
    expect(result.samplesSeen).toBe(4 * 4800);
    expect(result.checkpointUri).toMatch(/checkpoint\.pt$/);
    const progress = events.filter((e): e is Extract<TrainerEvent, { event: 'progress' }> => e.event === 'progress' && e.epoch > 0);
    const cpuPerEpoch = progress.map((e) => (e as { cpuSeconds?: number }).cpuSeconds ?? e.seconds ?? 0);
    console.log(`torch CPU: ${progress.length} epochs of 4800 rows, seconds per epoch ${cpuPerEpoch.map((s) => s.toFixed(3)).join(', ')}`);

    const bytes = await store.get(result.artifactUri);
    const info = readOnnxMetadata(bytes);
    expect(info.featureNames).toEqual(CTR_FEATURES);
    expect(info.opsetVersion).toBeGreaterThanOrEqual(13);

    // Probe rows, rounded to float32 (both runtimes read float32).
    const rng = createRng(4);
    const rows = 300;
    const X = createMatrix(CTR_FEATURES, rows);
    for (let i = 0; i < X.data.length; i++) X.data[i] = Math.fround(rng.normal() * (i % 4 === 2 ? 2 : 1) + (i % 4 === 2 ? 3 : 0));
    const served = await OnnxModel.load(bytes);
    let fromOrt: Float32Array;
    try {
      fromOrt = await served.predictProba(X);
    } finally {
      await served.release();
    }
    // torch's own predictions from the final checkpoint.
    const checkpointFile = path.join(mkdtempSync(path.join(tmpdir(), 'flywheel-torch-ckpt-')), 'checkpoint.pt');
    execFileSync('cp', [new URL(result.checkpointUri!).pathname, checkpointFile]);
    const rowsJson = JSON.stringify({ features: Array.from({ length: rows }, (_, i) => Array.from(X.data.subarray(i * 4, i * 4 + 4))) });
    const out = execFileSync(PYTHON, ['-m', 'flywheel_torch_trainer', 'predict', checkpointFile], {
      input: rowsJson,
      env: { ...process.env, PYTHONPATH: path.join(ROOT, 'trainers', 'pytorch') },
    });
    const fromTorch = (JSON.parse(out.toString()) as { outputs: number[][] }).outputs.map((r) => r[0]);
    let worst = 0;
    for (let i = 0; i < rows; i++) worst = Math.max(worst, Math.abs(fromOrt[i] - fromTorch[i]));
    console.log(`torch vs onnxruntime-node: max |diff| = ${worst.toExponential(2)} over ${rows} rows`);
    expect(worst).toBeLessThan(1e-5);

    // Stateful: the next run continues from the checkpoint; its first loss is the parent's.
    const next = await store.put('datasets/torch/next.arrow', ctrSnapshot({ rows: 3000, seed: 9, startMs: Date.UTC(2026, 1, 1), days: 1 }));
    const warmEvents: TrainerEvent[] = [];
    const warm = await trainWithTrainerProcess(
      { store },
      { pipelineRunId: 'retrain/ctr/torch-2', modelName: 'ctr', datasetUri: next, spec, mode: 'stateful', parentCheckpointUri: result.checkpointUri!, parentArtifactUri: result.artifactUri },
      { onEvent: (e) => warmEvents.push(e) },
    );
    expect(warm.mode).toBe('stateful');
    expect(warm.init).toBe('warm_start');
    expect(warm.samplesSeenTotal).toBe(result.samplesSeen + warm.samplesSeen);
    const start = warmEvents.find((e) => e.event === 'progress' && e.epoch === 0) as Extract<TrainerEvent, { event: 'progress' }>;
    expect(start.loss).toBeLessThan(0.6); // a fresh model starts near log(2) = 0.69; the parent is already trained
  }, 180_000);
});
