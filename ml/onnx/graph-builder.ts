// A small ONNX graph builder: names every value once, checks that nodes only consume values that
// already exist (so the node list is topologically sorted, as ONNX requires) and packages the
// ModelProto. Exporters for each model family only describe their nodes.
import { floatTensor, int64Tensor, stringTensor } from './tensors';
import {
  AttributeType,
  onnxModelType,
  type AttributeProtoObject,
  type GraphProtoObject,
  type ModelProtoObject,
  type NodeProtoObject,
  type TensorProtoObject,
  type TensorShapeDimension,
  type ValueInfo,
} from './schema';

/** A fixed size, or a symbolic name for a dynamic one (e.g. the batch "N"). */
export type Dim = number | string;

export type AttributeValue = { int: number } | { float: number } | { string: string } | { ints: number[] } | { floats: number[] };

export class OnnxGraphBuilder {
  private readonly nodes: NodeProtoObject[] = [];
  private readonly initializers: TensorProtoObject[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly defined = new Set<string>();

  constructor(private readonly name: string) {}

  input(name: string, elemType: number, dims: readonly Dim[]): string {
    this.define(name);
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /** A constant float32 tensor baked into the model. */
  initializer(name: string, dims: readonly number[], values: ArrayLike<number>): string {
    this.define(name);
    this.initializers.push(floatTensor(name, dims, values));
    return name;
  }

  /** A constant int64 tensor (indices, axes, shapes). */
  int64Initializer(name: string, dims: readonly number[], values: ArrayLike<number>): string {
    this.define(name);
    this.initializers.push(int64Tensor(name, dims, values));
    return name;
  }

  /** A constant string tensor (e.g. a categorical vocabulary). */
  stringInitializer(name: string, dims: readonly number[], values: readonly string[]): string {
    this.define(name);
    this.initializers.push(stringTensor(name, dims, values));
    return name;
  }

  /** Whether a value of this name exists already (inputs, initializers, node outputs). */
  has(name: string): boolean {
    return this.defined.has(name);
  }

  /** Adds one operator from the default ONNX domain; returns its first output's name. */
  node(opType: string, inputs: readonly string[], outputs: readonly string[], attributes: Record<string, AttributeValue> = {}): string {
    for (const input of inputs) {
      if (!this.defined.has(input)) {
        throw new Error(`ONNX graph "${this.name}": ${opType} consumes "${input}", which no input, initializer or earlier node defines`);
      }
    }
    outputs.forEach((output) => this.define(output));
    this.nodes.push({
      input: [...inputs],
      output: [...outputs],
      name: `${opType}_${this.nodes.length}`,
      op_type: opType,
      attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
    });
    return outputs[0];
  }

  output(name: string, elemType: number, dims: readonly Dim[]): void {
    if (!this.defined.has(name)) throw new Error(`ONNX graph "${this.name}": output "${name}" is never produced`);
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  build(): GraphProtoObject {
    if (this.inputs.length === 0 || this.outputs.length === 0) {
      throw new Error(`ONNX graph "${this.name}" needs at least one input and one output`);
    }
    return { name: this.name, node: [...this.nodes], initializer: [...this.initializers], input: [...this.inputs], output: [...this.outputs] };
  }

  private define(name: string): void {
    if (!name) throw new Error(`ONNX graph "${this.name}": value names must be non-empty`);
    // ONNX values are single-assignment; a second definition would shadow the first silently.
    if (this.defined.has(name)) throw new Error(`ONNX graph "${this.name}": value "${name}" is defined twice`);
    this.defined.add(name);
  }
}

export interface OnnxModelSettings {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  metadata?: Record<string, string>;
}

export function encodeOnnxModel(graph: GraphProtoObject, settings: OnnxModelSettings): Uint8Array {
  const model: ModelProtoObject = {
    ir_version: settings.irVersion,
    opset_import: [{ domain: '', version: settings.opsetVersion }],
    producer_name: settings.producerName,
    producer_version: settings.producerVersion,
    doc_string: settings.docString,
    graph,
    metadata_props: Object.entries(settings.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  const type = onnxModelType();
  const problem = type.verify(model);
  if (problem) throw new Error(`ONNX model does not match the schema: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

export function decodeOnnxModel(bytes: Uint8Array): ModelProtoObject {
  let decoded: ModelProtoObject;
  try {
    const type = onnxModelType();
    decoded = type.toObject(type.decode(bytes), { longs: Number, arrays: true }) as ModelProtoObject;
  } catch (error) {
    throw new Error(`bytes are not a valid ONNX model (protobuf decode failed: ${(error as Error).message})`);
  }
  // Arbitrary bytes can happen to decode as protobuf; a real model always has both of these.
  if (!decoded.ir_version || !decoded.graph) {
    throw new Error('bytes are not a valid ONNX model (no ir_version or graph)');
  }
  return decoded;
}

function valueInfo(name: string, elemType: number, dims: readonly Dim[]): ValueInfo {
  const dim: TensorShapeDimension[] = dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d }));
  return { name, type: { tensor_type: { elem_type: elemType, shape: { dim } } } };
}

function attribute(name: string, value: AttributeValue): AttributeProtoObject {
  if ('int' in value) return { name, type: AttributeType.INT, i: value.int };
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  if ('string' in value) return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value.string) };
  if ('ints' in value) return { name, type: AttributeType.INTS, ints: value.ints };
  return { name, type: AttributeType.FLOATS, floats: value.floats };
}
