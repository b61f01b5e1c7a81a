// Float64 inference with a TabularModel: what the exported ONNX graph must reproduce, and the loss
// a warm start compares against.
import { encodeFrame, frameRows, type TabularFrame } from './encoding';
import { assertTabularModel, type TabularModel } from './model';
import { DenseNetwork, headFor } from './network';
import { flattenParams, layerSizes } from './params';
import { encodeTargets } from './targets';

export function networkOf(model: TabularModel): DenseNetwork {
  return new DenseNetwork(layerSizes(model), model.hiddenActivation, headFor(model.task));
}

/**
 * The served output per row, row-major: P(y = 1) for binary, one probability per class for
 * multiclass, the prediction in the target's units for regression.
 */
export function predictTabular(model: TabularModel, frame: TabularFrame): Float64Array {
  assertTabularModel(model, 'predictTabular');
  const network = networkOf(model);
  const out = network.predict(flattenParams(model.layers), encodeFrame(model, frame), frameRows(frame));
  if (model.task === 'regression' && model.target) {
    const { mean, std } = model.target;
    for (let i = 0; i < out.length; i++) out[i] = out[i] * std + mean;
  }
  return out;
}

/**
 * The training objective's mean loss on labelled rows, without the penalty: log loss (binary),
 * cross-entropy (multiclass), or mean squared error of the standardised target (regression).
 */
export function tabularLoss(model: TabularModel, frame: TabularFrame, labels: ArrayLike<number>): number {
  assertTabularModel(model, 'tabularLoss');
  const y = encodeTargets(model, labels, 'tabularLoss labels');
  return networkOf(model).meanLoss(flattenParams(model.layers), encodeFrame(model, frame), y);
}
