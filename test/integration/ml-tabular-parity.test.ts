// Every built-in model kind (logistic, softmax, MLP for binary / multiclass / regression), with and
// without categorical features, exported to ONNX and run by onnxruntime-node, must agree with the
// TypeScript forward pass within 1e-5, and read back to the same parameters.
import { describe, expect, it } from 'vitest';
import { createMatrix } from '../../ml/dataset-matrix';
import { decodeOnnxModel, exportTabularToOnnx, logisticRegressionFromOnnx, readOnnxMetadata, tabularModelFromOnnx } from '../../ml/onnx';
import { OnnxModel } from '../../ml/onnx-runtime';
import { createRng } from '../../ml/random';
import { predictTabular, trainTabular, type TabularFrame, type TabularKind, type TabularTask } from '../../ml/tabular';

const NUMERIC = ['x0', 'x1', 'x2'];
const COLORS = ['red', 'green', 'blue', 'teal'];
const SIZES = ['s', 'm', 'l'];

/** Rows whose label depends on numeric features at assorted offsets/scales and on the categories. */
function dataset(rows: number, task: TabularTask, seed: number, withCategorical: boolean) {
  const rng = createRng(seed);
  const numeric = createMatrix(NUMERIC, rows);
  const color: (string | null)[] = [];
  const size: (string | null)[] = [];
  const labels = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const u = [rng.normal(), rng.normal(), rng.normal()];
    numeric.data.set([100 + 20 * u[0], -5 + 0.01 * u[1], 3 * u[2]], i * 3);
    const c = rng.nextInt(COLORS.length);
    const s = rng.nextInt(SIZES.length);
    color.push(COLORS[c]);
    size.push(SIZES[s]);
    let z = 1.5 * u[0] - u[1] + 0.5 * u[2] * u[2] - 0.5;
    if (withCategorical) z += [1, -1, 0.5, 0][c] + [0, 0.7, -0.7][s];
    if (task === 'binary_classification') labels[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    else if (task === 'multiclass') labels[i] = z < -0.7 ? 0 : z < 0.7 ? 1 : 2;
    else labels[i] = 50 + 4 * z + 0.1 * rng.normal();
  }
  const frame: TabularFrame = { numeric, categorical: withCategorical ? { color, size } : {} };
  return { frame, labels };
}

/** Probe rows: in-range, far out of range, and categories the model never saw (or missing). */
function probeFrame(withCategorical: boolean): TabularFrame {
  const rng = createRng(99);
  const rows = 600;
  const numeric = createMatrix(NUMERIC, rows);
  for (let i = 0; i < rows * 3; i++) {
    const j = i % 3;
    const scale = i < 1200 ? 1 : 50;
    numeric.data[i] = Math.fround([100, -5, 0][j] + [20, 0.01, 3][j] * scale * rng.normal());
  }
  const pick = (values: string[]) => Array.from({ length: rows }, (_, i) => (i % 17 === 0 ? 'never-seen' : i % 23 === 0 ? null : values[rng.nextInt(values.length)]));
  return { numeric, categorical: withCategorical ? { color: pick(COLORS), size: pick(SIZES) } : {} };
}

const CASES: { kind: TabularKind; task: TabularTask; hiddenLayers: number[]; activation?: 'relu' | 'tanh' }[] = [
  { kind: 'logistic_regression', task: 'binary_classification', hiddenLayers: [] },
  { kind: 'softmax_regression', task: 'multiclass', hiddenLayers: [] },
  { kind: 'mlp', task: 'binary_classification', hiddenLayers: [16, 8] },
  { kind: 'mlp', task: 'multiclass', hiddenLayers: [12], activation: 'tanh' },
  { kind: 'mlp', task: 'regression', hiddenLayers: [16] },
  { kind: 'mlp', task: 'regression', hiddenLayers: [] },
];

describe.each([false, true])('ONNX parity of built-in tabular models (categorical features: %s)', (withCategorical) => {
  it.each(CASES)('$kind $task hidden=$hiddenLayers: onnxruntime matches the TypeScript forward pass within 1e-5', async (c) => {
    const { frame, labels } = dataset(1500, c.task, 3, withCategorical);
    const categorical = withCategorical ? [{ name: 'color', maxCategories: 3 }, { name: 'size', maxCategories: 10 }] : [];
    const { model } = trainTabular(
      { train: frame, trainLabels: labels, categorical },
      { kind: c.kind, task: c.task, hiddenLayers: c.hiddenLayers, activation: c.activation, epochs: 4, seed: 5, learningRate: 0.02 },
    );
    if (withCategorical) {
      // maxCategories 3 keeps the three most frequent colours; the fourth is "unseen" to the model.
      expect(model.categorical[0].vocabulary).toHaveLength(3);
      expect(model.categorical[1].vocabulary.sort()).toEqual([...SIZES].sort());
    }
    const bytes = exportTabularToOnnx(model, { model_name: 'parity' });
    const info = readOnnxMetadata(bytes);
    expect(info.opsetVersion).toBeGreaterThanOrEqual(13);
    expect(info.modelKind).toBe(c.kind);

    const probe = probeFrame(withCategorical);
    const served = await OnnxModel.load(bytes);
    try {
      expect(served.inputNames).toEqual(withCategorical ? ['features', 'categorical'] : ['features']);
      const out = await served.run(probe);
      const outputs = c.task === 'multiclass' ? 3 : 1;
      expect(out.dims).toEqual([probe.numeric.rows, outputs]);
      expect(out.name).toBe({ binary_classification: 'probability', multiclass: 'probabilities', regression: 'prediction' }[c.task]);
      // The reference uses the parameters as stored (float32), so the comparison is of the graph's math.
      const reread = tabularModelFromOnnx(bytes);
      const expected = predictTabular(reread, probe);
      const fromTraining = predictTabular(model, probe);
      // Probabilities are in [0, 1], so 1e-5 is absolute. A regression output is a float32 of any
      // magnitude, so there the bound is 1e-5 relative to max(1, |value|) on in-range rows; the
      // rows 50 sigma out (index >= 400) sum large cancelling float32 terms and get 1e-4 relative.
      const regression = c.task === 'regression';
      const scale = (v: number) => (regression ? Math.max(1, Math.abs(v)) : 1);
      let worst = 0;
      let worstFar = 0;
      let worstVsTraining = 0;
      for (let i = 0; i < expected.length; i++) {
        const diff = Math.abs(out.data[i] - expected[i]) / scale(expected[i]);
        if (regression && i >= 400) worstFar = Math.max(worstFar, diff);
        else worst = Math.max(worst, diff);
        worstVsTraining = Math.max(worstVsTraining, Math.abs(out.data[i] - fromTraining[i]) / scale(expected[i]));
      }
      expect(worst).toBeLessThan(1e-5);
      expect(worstFar).toBeLessThan(1e-4);
      expect(worstVsTraining).toBeLessThan(regression ? 1e-4 : 1e-5);
      console.log(`parity ${c.kind}/${c.task}/[${c.hiddenLayers}] categorical=${withCategorical}: max |ort - ts| = ${worst.toExponential(2)} (vs float64 weights ${worstVsTraining.toExponential(2)})`);
    } finally {
      await served.release();
    }
  });
});

describe('ONNX tabular import', () => {
  it('reads back structure and float32 parameters, and numeric logistic regression stays readable by the original importer', () => {
    const { frame, labels } = dataset(500, 'binary_classification', 4, false);
    const { model } = trainTabular({ train: frame, trainLabels: labels, categorical: [] }, { kind: 'logistic_regression', task: 'binary_classification', epochs: 2 });
    const bytes = exportTabularToOnnx(model);
    expect(decodeOnnxModel(bytes).opset_import).toEqual([{ domain: '', version: 13 }]);
    const back = tabularModelFromOnnx(bytes);
    expect(back.layers[0].weights).toEqual(model.layers[0].weights.map(Math.fround));
    const lr = logisticRegressionFromOnnx(bytes);
    expect(lr.weights).toEqual(back.layers[0].weights);
    expect(lr.bias).toBe(back.layers[0].bias[0]);
  });

  it('round-trips vocabularies, hidden layers and regression target statistics', () => {
    const { frame, labels } = dataset(400, 'regression', 6, true);
    const { model } = trainTabular(
      { train: frame, trainLabels: labels, categorical: [{ name: 'color', vocabulary: ['blue', 'red'], maxCategories: 50 }, { name: 'size', maxCategories: 50 }] },
      { kind: 'mlp', task: 'regression', hiddenLayers: [5, 4], activation: 'tanh', epochs: 1 },
    );
    const back = tabularModelFromOnnx(exportTabularToOnnx(model));
    expect(back.categorical).toEqual(model.categorical);
    expect(back.categorical[0].vocabulary).toEqual(['blue', 'red']);
    expect(back.layers.map((l) => [l.inputs, l.outputs])).toEqual([[3 + 2 + 3, 5], [5, 4], [4, 1]]);
    expect(back.hiddenActivation).toBe('tanh');
    expect(back.target!.mean).toBe(Math.fround(model.target!.mean));
  });
});
