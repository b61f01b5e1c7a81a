// Public surface of Flywheel's ONNX encoding: builder, readers and per-model exporters.
export { OnnxGraphBuilder, encodeOnnxModel, decodeOnnxModel, type AttributeValue, type Dim, type OnnxModelSettings } from './graph-builder';
export { readOnnxInitializers, readOnnxMetadata, type OnnxMetadata } from './model-info';
export { addStandardization } from './preprocessing';
export { exportLogisticRegressionToOnnx, logisticRegressionFromOnnx, INPUT_NAME, OUTPUT_NAME } from './logistic-regression';
export { TensorDataType } from './schema';
export {
  exportTabularToOnnx,
  tabularModelFromOnnx,
  FEATURES_INPUT,
  CATEGORICAL_INPUT,
  TASK_OUTPUT,
  METADATA_TASK,
  METADATA_CATEGORICAL,
  METADATA_ARCHITECTURE,
} from './tabular';
