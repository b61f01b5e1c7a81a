// ONNX export and import of every built-in tabular model. The graph takes raw inputs and does its
// own preprocessing: `features` float32 [N, F] is standardised, `categorical` string [N, C] is
// one-hot encoded against each feature's vocabulary (an unseen value gives an all-zero block),
// then the dense layers and the task's head (Sigmoid, Softmax, or the regression un-scaling).
import { assertTabularModel, hiddenLayerSizes, outputCount, type TabularKind, type TabularModel, type TabularTask } from '../tabular/model';
import { decodeOnnxModel, encodeOnnxModel, OnnxGraphBuilder } from './graph-builder';
import { ONNX_PRODUCER_NAME, ONNX_PRODUCER_VERSION } from './logistic-regression';
import { METADATA_FEATURE_NAMES, METADATA_MODEL_KIND, RESERVED_METADATA_PREFIX, metadataOf, readFloatInitializers, type FloatInitializer } from './model-info';
import { addStandardization } from './preprocessing';
import { TensorDataType } from './schema';

export const FEATURES_INPUT = 'features';
export const CATEGORICAL_INPUT = 'categorical';
/** Output per task: P(y = 1) [N, 1]; class probabilities [N, K]; the prediction [N, 1]. */
export const TASK_OUTPUT: Record<TabularTask, string> = {
  binary_classification: 'probability',
  multiclass: 'probabilities',
  regression: 'prediction',
};
export const METADATA_TASK = 'flywheel.task';
export const METADATA_CATEGORICAL = 'flywheel.categorical';
export const METADATA_ARCHITECTURE = 'flywheel.architecture';

// Opset 13 (IR 7) runs on every onnxruntime since 1.6 and is what numeric-only graphs use. String
// Equal, which the one-hot encoding needs, exists from opset 19 (IR 9) only, so graphs with
// categorical features declare that.
const NUMERIC_OPSET = { opset: 13, ir: 7 };
const CATEGORICAL_OPSET = { opset: 19, ir: 9 };

interface Architecture {
  hiddenLayers: number[];
  activation: TabularModel['hiddenActivation'];
  outputs: number;
  target?: { mean: number; std: number };
}

export function exportTabularToOnnx(model: TabularModel, meta: Record<string, string> = {}): Uint8Array {
  assertTabularModel(model, 'exportTabularToOnnx');
  for (const key of Object.keys(meta)) {
    if (key.startsWith(RESERVED_METADATA_PREFIX)) {
      throw new Error(`exportTabularToOnnx: metadata key "${key}" uses the reserved prefix "${RESERVED_METADATA_PREFIX}"; rename it`);
    }
  }
  const f = model.numericFeatures.length;
  const c = model.categorical.length;
  const graph = new OnnxGraphBuilder(`flywheel_${model.kind}`);
  const blocks: string[] = [];
  if (f > 0) blocks.push(addStandardization(graph, graph.input(FEATURES_INPUT, TensorDataType.FLOAT, ['N', f]), model.standardization));
  if (c > 0) {
    const categorical = graph.input(CATEGORICAL_INPUT, TensorDataType.STRING, ['N', c]);
    model.categorical.forEach((encoding, k) => {
      // Gather keeps the column as [N, 1]; Equal broadcasts it against the [V] vocabulary to [N, V].
      const index = graph.int64Initializer(`cat${k}_index`, [1], [k]);
      const column = graph.node('Gather', [categorical, index], [`cat${k}_value`], { axis: { int: 1 } });
      const vocabulary = graph.stringInitializer(`cat${k}_vocabulary`, [encoding.vocabulary.length], encoding.vocabulary);
      const hits = graph.node('Equal', [column, vocabulary], [`cat${k}_equal`]);
      blocks.push(graph.node('Cast', [hits], [`cat${k}_onehot`], { to: { int: TensorDataType.FLOAT } }));
    });
  }
  let value = blocks.length === 1 ? blocks[0] : graph.node('Concat', blocks, ['inputs'], { axis: { int: 1 } });

  const single = model.layers.length === 1;
  model.layers.forEach((layer, l) => {
    // A one-layer model keeps the names "weights"/"bias" the logistic-regression importer reads.
    const w = graph.initializer(single ? 'weights' : `layer${l}_weights`, [layer.inputs, layer.outputs], layer.weights);
    const b = graph.initializer(single ? 'bias' : `layer${l}_bias`, [layer.outputs], layer.bias);
    const product = graph.node('MatMul', [value, w], [`layer${l}_matmul`]);
    value = graph.node('Add', [product, b], [l === model.layers.length - 1 ? 'logit' : `layer${l}_linear`]);
    if (l < model.layers.length - 1) value = graph.node(model.hiddenActivation === 'relu' ? 'Relu' : 'Tanh', [value], [`layer${l}_activation`]);
  });

  const output = TASK_OUTPUT[model.task];
  if (model.task === 'binary_classification') graph.node('Sigmoid', [value], [output]);
  else if (model.task === 'multiclass') graph.node('Softmax', [value], [output], { axis: { int: -1 } });
  else {
    const target = model.target!;
    const scaled = graph.node('Mul', [value, graph.initializer('target_std', [1], [target.std])], ['target_scaled']);
    graph.node('Add', [scaled, graph.initializer('target_mean', [1], [target.mean])], [output]);
  }
  graph.output(output, TensorDataType.FLOAT, ['N', outputCount(model)]);

  const architecture: Architecture = { hiddenLayers: hiddenLayerSizes(model), activation: model.hiddenActivation, outputs: outputCount(model), target: model.target };
  const versions = c > 0 ? CATEGORICAL_OPSET : NUMERIC_OPSET;
  return encodeOnnxModel(graph.build(), {
    irVersion: versions.ir,
    opsetVersion: versions.opset,
    producerName: ONNX_PRODUCER_NAME,
    producerVersion: ONNX_PRODUCER_VERSION,
    docString: `Flywheel ${model.kind} (${model.task}) over ${f} numeric and ${c} categorical features`,
    metadata: {
      ...meta,
      [METADATA_MODEL_KIND]: model.kind,
      [METADATA_FEATURE_NAMES]: JSON.stringify(model.numericFeatures),
      [METADATA_TASK]: model.task,
      [METADATA_CATEGORICAL]: JSON.stringify(model.categorical),
      [METADATA_ARCHITECTURE]: JSON.stringify(architecture),
    },
  });
}

/**
 * Rebuilds a model from a Flywheel export (warm start when the parent left no checkpoint). The
 * parameters come back as the float32 values the served model used, so the warm start continues
 * from exactly what was serving.
 */
export function tabularModelFromOnnx(bytes: Uint8Array): TabularModel {
  const decoded = decodeOnnxModel(bytes);
  const info = metadataOf(decoded);
  const context = 'tabularModelFromOnnx';
  const kind = info.modelKind as TabularKind | undefined;
  if (kind !== 'logistic_regression' && kind !== 'softmax_regression' && kind !== 'mlp') {
    throw new Error(`${context}: model kind is "${kind ?? '(none)'}"; only Flywheel's built-in exports can be read back (warm-start other trainers from their checkpoint)`);
  }
  const numericFeatures = info.featureNames;
  if (!numericFeatures) throw new Error(`${context}: metadata ${METADATA_FEATURE_NAMES} is missing`);
  const task = (info.props[METADATA_TASK] ?? 'binary_classification') as TabularTask;
  const categorical = info.props[METADATA_CATEGORICAL] ? (parseJson(info.props[METADATA_CATEGORICAL], METADATA_CATEGORICAL) as TabularModel['categorical']) : [];
  const architecture: Architecture = info.props[METADATA_ARCHITECTURE]
    ? (parseJson(info.props[METADATA_ARCHITECTURE], METADATA_ARCHITECTURE) as Architecture)
    : { hiddenLayers: [], activation: 'relu', outputs: 1 }; // a logistic regression from the original exporter
  const tensors = readFloatInitializers(decoded);
  const f = numericFeatures.length;
  const sizes = [f + categorical.reduce((s, c) => s + c.vocabulary.length, 0), ...architecture.hiddenLayers, architecture.outputs];
  const single = sizes.length === 2;
  const layers = sizes.slice(0, -1).map((inputs, l) => {
    const outputs = sizes[l + 1];
    return {
      inputs,
      outputs,
      weights: take(tensors, single ? 'weights' : `layer${l}_weights`, [inputs, outputs]),
      bias: take(tensors, single ? 'bias' : `layer${l}_bias`, [outputs]),
    };
  });
  const model: TabularModel = {
    kind,
    task,
    numericFeatures,
    categorical,
    standardization: f > 0 ? { mean: take(tensors, 'mean', [f]), std: take(tensors, 'std', [f]) } : { mean: [], std: [] },
    hiddenActivation: architecture.activation,
    layers,
    // The served graph multiplies by float32 constants; read those back, not the JSON's doubles.
    target: task === 'regression' ? { mean: take(tensors, 'target_mean', [1])[0], std: take(tensors, 'target_std', [1])[0] } : undefined,
  };
  assertTabularModel(model, context);
  return model;
}

function take(tensors: Record<string, FloatInitializer>, name: string, dims: number[]): number[] {
  const tensor = tensors[name];
  if (!tensor) throw new Error(`tabularModelFromOnnx: float initializer "${name}" is missing`);
  if (tensor.dims.length !== dims.length || tensor.dims.some((d, k) => d !== dims[k])) {
    throw new Error(`tabularModelFromOnnx: initializer "${name}" has dims [${tensor.dims.join(', ')}], expected [${dims.join(', ')}]`);
  }
  return Array.from(tensor.values);
}

function parseJson(text: string, key: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`ONNX metadata ${key} is not valid JSON: ${text.slice(0, 80)}`);
  }
}
