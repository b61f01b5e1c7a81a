// Standardisation as graph nodes, shared by every exported model family, so the served model
// takes raw features and cannot drift from the preprocessing used in training.
import type { Standardization } from '../standardizer';
import type { OnnxGraphBuilder } from './graph-builder';

/** Adds (input - mean) / std, broadcasting [F] over [N, F]; returns the standardised value's name. */
export function addStandardization(graph: OnnxGraphBuilder, input: string, s: Standardization): string {
  const f = s.mean.length;
  if (s.std.length !== f) throw new Error(`standardization: ${f} means but ${s.std.length} stds`);
  s.std.forEach((value, j) => {
    // float32 is what the graph divides in; a std that rounds to 0 there would emit Infinity.
    if (!(Math.fround(value) > 0)) throw new Error(`standardization: std[${j}] = ${value} is not > 0 in float32`);
  });
  const mean = graph.initializer('mean', [f], s.mean);
  const std = graph.initializer('std', [f], s.std);
  const centered = graph.node('Sub', [input, mean], ['centered']);
  return graph.node('Div', [centered, std], ['standardized']);
}
