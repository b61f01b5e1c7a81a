// ONNX export and import of the built-in logistic regression: raw features in, P(y = 1) out,
// with standardisation inside the graph.
import { assertLogisticRegressionModel, type LogisticRegressionModel } from '../logistic-regression';
import { decodeOnnxModel, encodeOnnxModel, OnnxGraphBuilder } from './graph-builder';
import {
  METADATA_FEATURE_NAMES,
  METADATA_MODEL_KIND,
  RESERVED_METADATA_PREFIX,
  metadataOf,
  readFloatInitializers,
  type FloatInitializer,
} from './model-info';
import { addStandardization } from './preprocessing';
import { TensorDataType } from './schema';

// Opset 13 is supported by every onnxruntime since 1.6; IR 7 is the IR that introduced it, so
// older runtimes that know opset 13 also accept the file.
export const ONNX_OPSET_VERSION = 13;
export const ONNX_IR_VERSION = 7;
export const ONNX_PRODUCER_NAME = 'flywheel';
export const ONNX_PRODUCER_VERSION = '0.1.0';
export const INPUT_NAME = 'features';
export const OUTPUT_NAME = 'probability';
const KIND = 'logistic_regression';

export function exportLogisticRegressionToOnnx(model: LogisticRegressionModel, meta: Record<string, string> = {}): Uint8Array {
  assertLogisticRegressionModel(model, 'exportLogisticRegressionToOnnx');
  for (const key of Object.keys(meta)) {
    if (key.startsWith(RESERVED_METADATA_PREFIX)) {
      throw new Error(`exportLogisticRegressionToOnnx: metadata key "${key}" uses the reserved prefix "${RESERVED_METADATA_PREFIX}"; rename it`);
    }
  }
  const f = model.featureNames.length;
  const graph = new OnnxGraphBuilder('flywheel_logistic_regression');
  const features = graph.input(INPUT_NAME, TensorDataType.FLOAT, ['N', f]);
  const standardized = addStandardization(graph, features, model);
  const weights = graph.initializer('weights', [f, 1], model.weights);
  const bias = graph.initializer('bias', [1], [model.bias]);
  const linear = graph.node('MatMul', [standardized, weights], ['linear']);
  const logit = graph.node('Add', [linear, bias], ['logit']);
  graph.node('Sigmoid', [logit], [OUTPUT_NAME]);
  graph.output(OUTPUT_NAME, TensorDataType.FLOAT, ['N', 1]);

  return encodeOnnxModel(graph.build(), {
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET_VERSION,
    producerName: ONNX_PRODUCER_NAME,
    producerVersion: ONNX_PRODUCER_VERSION,
    docString: `Flywheel logistic regression over ${f} features: sigmoid(((features - mean) / std) @ weights + bias)`,
    metadata: { ...meta, [METADATA_MODEL_KIND]: KIND, [METADATA_FEATURE_NAMES]: JSON.stringify(model.featureNames) },
  });
}

/**
 * Rebuilds the model from an exported file (warm start from a parent checkpoint). Parameters come
 * back as the float32 values the served model actually used.
 */
export function logisticRegressionFromOnnx(bytes: Uint8Array): LogisticRegressionModel {
  const decoded = decodeOnnxModel(bytes);
  const info = metadataOf(decoded);
  if (info.modelKind !== KIND) {
    throw new Error(`logisticRegressionFromOnnx: model kind is "${info.modelKind ?? '(none)'}", expected "${KIND}" (not a Flywheel logistic regression export)`);
  }
  const featureNames = info.featureNames;
  if (!featureNames) throw new Error(`logisticRegressionFromOnnx: metadata ${METADATA_FEATURE_NAMES} is missing`);
  const f = featureNames.length;
  const tensors = readFloatInitializers(decoded);
  const model: LogisticRegressionModel = {
    kind: KIND,
    featureNames,
    mean: take(tensors, 'mean', [f]),
    std: take(tensors, 'std', [f]),
    weights: take(tensors, 'weights', [f, 1]),
    bias: take(tensors, 'bias', [1])[0],
  };
  assertLogisticRegressionModel(model, 'logisticRegressionFromOnnx');
  return model;
}

function take(tensors: Record<string, FloatInitializer>, name: string, dims: number[]): number[] {
  const tensor = tensors[name];
  if (!tensor) throw new Error(`logisticRegressionFromOnnx: float initializer "${name}" is missing`);
  if (tensor.dims.length !== dims.length || tensor.dims.some((d, k) => d !== dims[k])) {
    throw new Error(`logisticRegressionFromOnnx: initializer "${name}" has dims [${tensor.dims.join(', ')}], expected [${dims.join(', ')}]`);
  }
  return Array.from(tensor.values);
}
