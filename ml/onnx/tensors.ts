// TensorProto encoding and decoding: float32 and int64 (raw_data, little-endian, as onnx.proto
// requires) and strings (string_data, UTF-8).
import { TensorDataType, type TensorProtoObject } from './schema';

export function floatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): TensorProtoObject {
  const size = dims.reduce((a, b) => a * b, 1);
  if (values.length !== size) {
    throw new Error(`tensor "${name}": ${values.length} values do not fill dims [${dims.join(', ')}] (${size} elements)`);
  }
  const raw = new Uint8Array(size * 4);
  const view = new DataView(raw.buffer);
  for (let k = 0; k < size; k++) {
    const v = Math.fround(values[k]);
    // Large doubles round to Infinity in float32; a silently infinite weight would poison every prediction.
    if (!Number.isFinite(v)) throw new Error(`tensor "${name}": element ${k} (${values[k]}) is not finite in float32`);
    view.setFloat32(k * 4, v, true);
  }
  return { name, dims: [...dims], data_type: TensorDataType.FLOAT, raw_data: raw };
}

/** The values of a FLOAT tensor, whichever of raw_data / float_data holds them. */
export function tensorToFloat32(tensor: TensorProtoObject): Float32Array {
  const name = tensor.name ?? '(unnamed)';
  if (tensor.data_type !== TensorDataType.FLOAT) {
    throw new Error(`tensor "${name}" has data type ${tensor.data_type}, expected FLOAT (${TensorDataType.FLOAT})`);
  }
  if (tensor.data_location === 1 || (tensor.external_data?.length ?? 0) > 0) {
    throw new Error(`tensor "${name}" stores its data in an external file, which Flywheel does not read`);
  }
  const size = tensor.dims.reduce((a, b) => a * b, 1);
  let values: Float32Array;
  if (tensor.raw_data && tensor.raw_data.length > 0) {
    if (tensor.raw_data.length !== size * 4) {
      throw new Error(`tensor "${name}": raw_data has ${tensor.raw_data.length} bytes, dims need ${size * 4}`);
    }
    // DataView, not a Float32Array view: decoded bytes may sit at an unaligned offset of a larger buffer.
    const view = new DataView(tensor.raw_data.buffer, tensor.raw_data.byteOffset, tensor.raw_data.byteLength);
    values = new Float32Array(size);
    for (let k = 0; k < size; k++) values[k] = view.getFloat32(k * 4, true);
  } else {
    values = Float32Array.from(tensor.float_data ?? []);
  }
  if (values.length !== size) {
    throw new Error(`tensor "${name}" has ${values.length} values but dims [${tensor.dims.join(', ')}] need ${size}`);
  }
  return values;
}

export function int64Tensor(name: string, dims: readonly number[], values: ArrayLike<number>): TensorProtoObject {
  const size = dims.reduce((a, b) => a * b, 1);
  if (values.length !== size) {
    throw new Error(`tensor "${name}": ${values.length} values do not fill dims [${dims.join(', ')}] (${size} elements)`);
  }
  const raw = new Uint8Array(size * 8);
  const view = new DataView(raw.buffer);
  for (let k = 0; k < size; k++) {
    if (!Number.isSafeInteger(values[k])) throw new Error(`tensor "${name}": element ${k} (${values[k]}) is not a safe integer`);
    view.setBigInt64(k * 8, BigInt(values[k]), true);
  }
  return { name, dims: [...dims], data_type: TensorDataType.INT64, raw_data: raw };
}

export function stringTensor(name: string, dims: readonly number[], values: readonly string[]): TensorProtoObject {
  const size = dims.reduce((a, b) => a * b, 1);
  if (values.length !== size) {
    throw new Error(`tensor "${name}": ${values.length} strings do not fill dims [${dims.join(', ')}] (${size} elements)`);
  }
  const encoder = new TextEncoder();
  return { name, dims: [...dims], data_type: TensorDataType.STRING, string_data: values.map((v) => encoder.encode(v)) };
}

/** The elements of a STRING tensor, decoded from UTF-8. */
export function tensorToStrings(tensor: TensorProtoObject): string[] {
  if (tensor.data_type !== TensorDataType.STRING) {
    throw new Error(`tensor "${tensor.name ?? '(unnamed)'}" has data type ${tensor.data_type}, expected STRING (${TensorDataType.STRING})`);
  }
  const decoder = new TextDecoder();
  return (tensor.string_data ?? []).map((bytes) => decoder.decode(bytes));
}
