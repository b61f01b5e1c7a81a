// The exported ONNX logistic regression, run by onnxruntime-node, must agree with the TypeScript
// forward pass, and must decode back to the same parameters and metadata.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMatrix, matrixToFloat32, type DatasetMatrix } from '../../ml/dataset-matrix';
import { logisticRegressionLoss, predictProba, trainLogisticRegression, type LogisticRegressionModel } from '../../ml/logistic-regression';
import {
  decodeOnnxModel,
  exportLogisticRegressionToOnnx,
  logisticRegressionFromOnnx,
  readOnnxInitializers,
  readOnnxMetadata,
} from '../../ml/onnx';
import { loadOnnxSession, OnnxModel, predict } from '../../ml/onnx-runtime';
import { createRng } from '../../ml/random';
import { syntheticLogisticData } from '../../ml/synthetic';

const OFFSETS = [100, -5, 0, 1e4, 3];
const SCALES = [20, 0.01, 1, 500, 2];
const FEATURES = ['x0', 'x1', 'x2', 'x3', 'x4', 'constant'];

/** Five informative features at assorted offsets and scales, plus a constant one (std -> 1). */
function trainModel(): { model: LogisticRegressionModel; X: DatasetMatrix; y: Float64Array } {
  const d = syntheticLogisticData({ rows: 3000, weights: [2.5, -2, 1.5, -1, 0.7], offsets: OFFSETS, scales: SCALES, seed: 1 });
  const X = createMatrix(FEATURES, d.X.rows);
  for (let i = 0; i < X.rows; i++) {
    X.data.set(d.X.data.subarray(i * 5, i * 5 + 5), i * 6);
    X.data[i * 6 + 5] = 7;
  }
  return { model: trainLogisticRegression(X, d.y, { epochs: 5, seed: 1 }).model, X, y: d.y };
}

/**
 * 1000 rows: 700 in the training range, 200 far outside it (|z| in the thousands, where a naive
 * sigmoid overflows), 100 at extremes (zeros, +-1e30, mixed signs). Values are rounded to float32
 * first because ONNX Runtime reads float32: the comparison is of the model math, not of input rounding.
 */
function evaluationRows(): DatasetMatrix {
  const rng = createRng(2);
  const X = createMatrix(FEATURES, 1000);
  for (let i = 0; i < X.rows; i++) {
    for (let j = 0; j < 6; j++) {
      const offset = OFFSETS[j] ?? 7;
      const scale = SCALES[j] ?? 1;
      let value: number;
      if (i < 700) value = offset + scale * 3 * rng.normal();
      else if (i < 900) value = offset + scale * 1e4 * rng.normal();
      else if (i < 910) value = 0;
      else value = (rng.next() < 0.5 ? -1 : 1) * 10 ** (rng.nextInt(61) - 30);
      X.data[i * 6 + j] = Math.fround(value);
    }
  }
  return X;
}

describe('ONNX export of logistic regression', () => {
  let model: LogisticRegressionModel;
  let bytes: Uint8Array;
  let onnx: OnnxModel;

  beforeAll(async () => {
    model = trainModel().model;
    bytes = exportLogisticRegressionToOnnx(model, { model: 'churn', version: '3', dataset: 'ds-42' });
    onnx = await OnnxModel.load(bytes);
  });
  afterAll(async () => {
    await onnx?.release();
  });

  it('onnxruntime-node matches predictProba within 1e-5 on 1000 rows, extremes included', async () => {
    const X = evaluationRows();
    const expected = predictProba(model, X);
    const actual = await onnx.predictProba(X);
    expect(actual).toHaveLength(1000);
    let worst = 0;
    for (let i = 0; i < X.rows; i++) {
      expect(Number.isFinite(actual[i])).toBe(true);
      worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    }
    expect(worst).toBeLessThan(1e-5);
    // The extreme rows really do saturate, so the stable sigmoid paths are exercised on both sides.
    expect(expected.slice(700).some((p) => p === 0)).toBe(true);
    expect(expected.slice(700).some((p) => p === 1)).toBe(true);
    expect(model.std[5]).toBe(1);
  });

  it('predict() on a raw session takes row-major float32 and checks the row width', async () => {
    const X = evaluationRows();
    const session = await loadOnnxSession(bytes);
    try {
      expect(session.inputNames).toEqual(['features']);
      expect(session.outputNames).toEqual(['probability']);
      const out = await predict(session, matrixToFloat32(X), 6);
      expect(Array.from(out)).toEqual(Array.from(await onnx.predictProba(X)));
      await expect(predict(session, new Float32Array(10), 6)).rejects.toThrow(/not a whole number of rows of 6/);
    } finally {
      await session.release();
    }
  });

  it('OnnxModel refuses columns in another order than the exported feature names', async () => {
    const swapped = createMatrix(['x1', 'x0', 'x2', 'x3', 'x4', 'constant'], 1);
    await expect(onnx.predictProba(swapped)).rejects.toThrow(/feature 0 is "x1" but the model expects "x0"/);
  });

  it('round-trips the parameters through logisticRegressionFromOnnx (float32 precision)', () => {
    const back = logisticRegressionFromOnnx(bytes);
    const f32 = (values: number[]) => values.map(Math.fround);
    expect(back.kind).toBe('logistic_regression');
    expect(back.featureNames).toEqual(FEATURES);
    expect(back.mean).toEqual(f32(model.mean));
    expect(back.std).toEqual(f32(model.std));
    expect(back.weights).toEqual(f32(model.weights));
    expect(back.bias).toBe(Math.fround(model.bias));
    back.weights.forEach((w, j) => expect(Math.abs(w - model.weights[j])).toBeLessThanOrEqual(Math.abs(model.weights[j]) * 2 ** -24));
  });

  it('warm-starts from the decoded parent at exactly the parent (float32) loss', () => {
    const { X, y } = trainModel();
    const parent = logisticRegressionFromOnnx(bytes);
    const child = trainLogisticRegression(X, y, { initial: parent, epochs: 1 });
    expect(Math.abs(child.history[0].trainLoss - logisticRegressionLoss(parent, X, y))).toBeLessThan(1e-12);
  });

  it('carries readable metadata and initializers', () => {
    const meta = readOnnxMetadata(bytes);
    expect(meta.producerName).toBe('flywheel');
    expect(meta.irVersion).toBe(7);
    expect(meta.opsetVersion).toBe(13);
    expect(meta.modelKind).toBe('logistic_regression');
    expect(meta.featureNames).toEqual(FEATURES);
    expect(meta.meta).toEqual({ model: 'churn', version: '3', dataset: 'ds-42' });
    expect(JSON.parse(meta.props['flywheel.feature_names'])).toEqual(FEATURES);

    const init = readOnnxInitializers(bytes);
    expect(Object.keys(init).sort()).toEqual(['bias', 'mean', 'std', 'weights']);
    expect(init.weights).toBeInstanceOf(Float32Array);
    expect(init.weights).toHaveLength(6);

    const graph = decodeOnnxModel(bytes).graph!;
    expect(graph.node.map((n) => n.op_type)).toEqual(['Sub', 'Div', 'MatMul', 'Add', 'Sigmoid']);
    expect(graph.input[0].type?.tensor_type?.shape?.dim).toEqual([{ dim_param: 'N' }, { dim_value: 6 }]);
    expect(graph.output[0].type?.tensor_type?.shape?.dim).toEqual([{ dim_param: 'N' }, { dim_value: 1 }]);
  });

  it('rejects bad input with errors that name the problem', () => {
    expect(() => exportLogisticRegressionToOnnx(model, { 'flywheel.model_kind': 'x' })).toThrow(/reserved prefix/);
    expect(() => exportLogisticRegressionToOnnx({ ...model, weights: [...model.weights.slice(1), NaN] })).toThrow(/weights\[5\].*NaN/);
    expect(() => exportLogisticRegressionToOnnx({ ...model, bias: 1e39 })).toThrow(/not finite in float32/);
    expect(() => logisticRegressionFromOnnx(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(/not a valid ONNX model/);
    expect(() => readOnnxMetadata(new Uint8Array(0))).toThrow(/not a valid ONNX model/);
  });
});
