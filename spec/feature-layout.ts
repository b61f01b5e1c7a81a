// The column layout shared by dataset snapshots, trainers and the ONNX graph. Pure and
// dependency-free so workflow code can use it too.
import type { FeatureSpec } from './model-spec';

/** Column layout the dataset snapshot, the trainers and the ONNX graph share: numeric first, then categorical, each in spec order. */
export interface FeatureLayout {
  numeric: string[];
  categorical: string[];
}

export function featureLayout(features: readonly FeatureSpec[]): FeatureLayout {
  return {
    numeric: features.filter((f) => f.type === 'numeric').map((f) => f.name),
    categorical: features.filter((f) => f.type === 'categorical').map((f) => f.name),
  };
}
