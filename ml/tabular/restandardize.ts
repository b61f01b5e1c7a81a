// Function-preserving change of a model's numeric standardisation: new statistics are folded into
// the first layer, so a warm start can adopt merged (parent + new window) moments without changing
// a single prediction. Swapping the statistics under fixed weights would move every input and
// throw the parent's fit away; folding keeps the function and only changes its coordinates.
import type { Standardization } from '../standardizer';
import { cloneModel, type TabularModel } from './model';

/**
 * With old z_j = (x_j - m_j) / s_j and new z'_j = (x_j - m'_j) / s'_j, z_j = (m'_j - m_j) / s_j + (s'_j / s_j) z'_j,
 * so W'[j, o] = W[j, o] · s'_j / s_j and b'_o = b_o + Σ_j W[j, o] · (m'_j - m_j) / s_j.
 */
export function foldStandardization(model: TabularModel, next: Standardization): TabularModel {
  const f = model.numericFeatures.length;
  if (next.mean.length !== f || next.std.length !== f) {
    throw new Error(`foldStandardization: new statistics cover ${next.mean.length} features, the model has ${f} numeric features`);
  }
  const out = cloneModel(model);
  const first = out.layers[0];
  const { mean, std } = model.standardization;
  for (let j = 0; j < f; j++) {
    const scale = next.std[j] / std[j];
    const shift = (next.mean[j] - mean[j]) / std[j];
    for (let o = 0; o < first.outputs; o++) {
      const w = first.weights[j * first.outputs + o];
      first.bias[o] += w * shift;
      first.weights[j * first.outputs + o] = w * scale;
    }
  }
  out.standardization = { mean: [...next.mean], std: [...next.std] };
  return out;
}
