// Converts between a TabularModel's per-layer arrays and the flat parameter vector the network and
// the optimizers work on (layer 0 weights, layer 0 bias, layer 1 weights, ...).
import type { DenseLayer, TabularModel } from './model';
import type { DenseNetwork } from './network';

export function flattenParams(layers: readonly DenseLayer[]): Float64Array {
  const size = layers.reduce((sum, l) => sum + l.weights.length + l.bias.length, 0);
  const out = new Float64Array(size);
  let offset = 0;
  for (const layer of layers) {
    out.set(layer.weights, offset);
    offset += layer.weights.length;
    out.set(layer.bias, offset);
    offset += layer.bias.length;
  }
  return out;
}

/** The layers of the network holding these parameters (copies, not views). */
export function layersFromParams(network: DenseNetwork, params: Float64Array): DenseLayer[] {
  if (params.length !== network.paramCount) throw new Error(`layersFromParams: ${params.length} parameters, the network has ${network.paramCount}`);
  return network.weightOffsets.map((w, l) => {
    const inputs = network.sizes[l];
    const outputs = network.sizes[l + 1];
    const b = network.biasOffsets[l];
    return { inputs, outputs, weights: Array.from(params.subarray(w, b)), bias: Array.from(params.subarray(b, b + outputs)) };
  });
}

export function layerSizes(model: Pick<TabularModel, 'layers'>): number[] {
  return [model.layers[0].inputs, ...model.layers.map((l) => l.outputs)];
}
