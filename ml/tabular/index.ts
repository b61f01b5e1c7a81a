// Public surface of the built-in tabular trainers: model shape, encoding, training, inference.
export * from './model';
export { encodeFrame, frameRows, learnVocabulary, sliceFrame, type CategoryValue, type TabularFrame } from './encoding';
export { DenseNetwork, headFor, sigmoid, logLossFromLogit, type OutputHead } from './network';
export { flattenParams, layersFromParams, layerSizes } from './params';
export { networkOf, predictTabular, tabularLoss } from './predict';
export { foldStandardization } from './restandardize';
export { classCount, encodeTargets, fitTarget } from './targets';
export * from './trainer';
