// The ONNX graph builder and codec: catches malformed graphs before onnxruntime would, and
// round-trips attributes, shapes and tensors through the protobuf schema subset.
import { describe, expect, it } from 'vitest';
import { decodeOnnxModel, encodeOnnxModel, logisticRegressionFromOnnx, OnnxGraphBuilder, readOnnxInitializers, TensorDataType } from '../../ml/onnx';

const settings = { irVersion: 7, opsetVersion: 13, producerName: 'flywheel', producerVersion: 'test' };

describe('OnnxGraphBuilder', () => {
  it('rejects a node that consumes an undefined value, a value defined twice and an unproduced output', () => {
    const g = new OnnxGraphBuilder('g');
    g.input('x', TensorDataType.FLOAT, ['N', 2]);
    expect(() => g.node('Relu', ['y'], ['z'])).toThrow(/Relu consumes "y", which no input, initializer or earlier node defines/);
    g.node('Relu', ['x'], ['z']);
    expect(() => g.node('Relu', ['x'], ['z'])).toThrow(/"z" is defined twice/);
    expect(() => g.initializer('x', [1], [0])).toThrow(/"x" is defined twice/);
    expect(() => g.output('missing', TensorDataType.FLOAT, ['N', 2])).toThrow(/"missing" is never produced/);
    expect(() => g.initializer('w', [2, 2], [1, 2, 3])).toThrow(/3 values do not fill dims \[2, 2\]/);
  });

  it('encodes attributes, shapes and float tensors that decode to the same values', () => {
    const g = new OnnxGraphBuilder('g');
    g.input('x', TensorDataType.FLOAT, ['N', 3]);
    g.initializer('w', [3, 2], [0.5, -1, 2, 1e-8, 3.25, -7]);
    g.node('Gemm', ['x', 'w'], ['y'], { alpha: { float: 0.5 }, transB: { int: 0 } });
    g.node('Softmax', ['y'], ['p'], { axis: { int: 1 } });
    g.output('p', TensorDataType.FLOAT, ['N', 2]);
    const bytes = encodeOnnxModel(g.build(), { ...settings, metadata: { a: 'b' } });
    const decoded = decodeOnnxModel(bytes);
    expect(decoded.ir_version).toBe(7);
    expect(decoded.opset_import).toEqual([{ domain: '', version: 13 }]);
    expect(decoded.metadata_props).toEqual([{ key: 'a', value: 'b' }]);
    const gemm = decoded.graph!.node[0];
    expect(gemm.attribute).toMatchObject([
      { name: 'alpha', type: 1, f: 0.5 },
      { name: 'transB', type: 2, i: 0 },
    ]);
    expect(Array.from(readOnnxInitializers(bytes).w)).toEqual([0.5, -1, 2, Math.fround(1e-8), 3.25, -7]);
    expect(decoded.graph!.initializer[0].dims).toEqual([3, 2]);
  });

  it('reads float_data tensors too (as other exporters write them)', () => {
    const g = new OnnxGraphBuilder('g');
    g.input('x', TensorDataType.FLOAT, [1]);
    g.node('Identity', ['x'], ['y']);
    g.output('y', TensorDataType.FLOAT, [1]);
    const graph = g.build();
    graph.initializer.push({ name: 'v', dims: [2], data_type: TensorDataType.FLOAT, float_data: [1.5, -2] });
    const bytes = encodeOnnxModel(graph, settings);
    expect(Array.from(readOnnxInitializers(bytes).v)).toEqual([1.5, -2]);
    // Not a Flywheel logistic regression: no model kind in the metadata.
    expect(() => logisticRegressionFromOnnx(bytes)).toThrow(/model kind is "\(none\)", expected "logistic_regression"/);
  });
});
