// Label checks and encodings per task: 0/1 for binary, class indices 0..K-1 for multiclass, and a
// standardised value for regression. Errors name the row and the fix.
import type { TabularModel, TabularTask } from './model';

/** The labels as the network's loss expects them (regression: (y - mean) / std). */
export function encodeTargets(model: Pick<TabularModel, 'task' | 'target' | 'layers'>, labels: ArrayLike<number>, context: string): Float64Array {
  const out = Float64Array.from(labels);
  if (model.task === 'binary_classification') {
    out.forEach((v, i) => {
      if (v !== 0 && v !== 1) throw new Error(`${context}: binary_classification labels must be 0 or 1, but row ${i} has ${v}; map the classes to 0/1 first`);
    });
  } else if (model.task === 'multiclass') {
    const classes = model.layers[model.layers.length - 1].outputs;
    out.forEach((v, i) => {
      if (!Number.isInteger(v) || v < 0 || v >= classes) {
        throw new Error(
          `${context}: multiclass labels must be class indices 0..${classes - 1}, but row ${i} has ${v}; ` +
            'a class the model has never seen needs a stateless retrain (model iteration)',
        );
      }
    });
  } else {
    const { mean, std } = model.target ?? { mean: 0, std: 1 };
    out.forEach((v, i) => {
      if (!Number.isFinite(v)) throw new Error(`${context}: regression label at row ${i} is ${v}; drop or impute it`);
      out[i] = (v - mean) / std;
    });
  }
  return out;
}

/** Number of classes a multiclass window implies: the largest class index + 1 (at least 2). */
export function classCount(labels: ArrayLike<number>, context: string): number {
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (!Number.isInteger(v) || v < 0) throw new Error(`${context}: multiclass labels must be class indices 0, 1, 2, ..., but row ${i} has ${v}`);
    if (v > max) max = v;
  }
  if (max < 1) throw new Error(`${context}: multiclass needs at least 2 classes, the labels only have class 0`);
  return max + 1;
}

/** Mean and population std of a regression target (std 1 when the target is constant). */
export function fitTarget(labels: ArrayLike<number>, context: string): { mean: number; std: number } {
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (!Number.isFinite(v)) throw new Error(`${context}: regression label at row ${i} is ${v}; drop or impute it`);
    const delta = v - mean;
    mean += delta / (i + 1);
    m2 += delta * (v - mean);
  }
  const std = Math.sqrt(m2 / Math.max(labels.length, 1));
  return { mean, std: std > 1e-12 ? std : 1 };
}

/** Output-bias start that encodes the label prior, so early epochs are not spent learning it. */
export function priorBias(task: TabularTask, labels: ArrayLike<number>, outputs: number): number[] {
  if (task === 'regression') return [0];
  // Add-one smoothing keeps a class absent from this window finite.
  if (task === 'binary_classification') {
    let positives = 0;
    for (let i = 0; i < labels.length; i++) positives += labels[i];
    const rate = (positives + 1) / (labels.length + 2);
    return [Math.log(rate / (1 - rate))];
  }
  const counts = new Float64Array(outputs);
  for (let i = 0; i < labels.length; i++) counts[labels[i]] += 1;
  return Array.from(counts, (c) => Math.log((c + 1) / (labels.length + outputs)));
}
