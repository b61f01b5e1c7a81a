// Reads what Flywheel needs back out of an ONNX file: float initializers and metadata, e.g. to
// warm-start from a parent's checkpoint or to check feature order before serving.
import { decodeOnnxModel } from './graph-builder';
import { TensorDataType, type ModelProtoObject } from './schema';
import { tensorToFloat32 } from './tensors';

/** Metadata keys Flywheel writes itself; user metadata may not use this prefix. */
export const RESERVED_METADATA_PREFIX = 'flywheel.';
export const METADATA_MODEL_KIND = 'flywheel.model_kind';
export const METADATA_FEATURE_NAMES = 'flywheel.feature_names';

export interface OnnxMetadata {
  irVersion: number;
  /** Version of the default ("" / ai.onnx) operator set. */
  opsetVersion: number | undefined;
  producerName: string;
  producerVersion: string;
  modelKind: string | undefined;
  featureNames: string[] | undefined;
  /** The user metadata given at export (keys without the reserved prefix). */
  meta: Record<string, string>;
  /** Every metadata_props entry, reserved ones included. */
  props: Record<string, string>;
}

export interface FloatInitializer {
  dims: number[];
  values: Float32Array;
}

/** All FLOAT initializers by name; initializers of other types (e.g. int64 shapes) are left out. */
export function readOnnxInitializers(bytes: Uint8Array): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [name, tensor] of Object.entries(readFloatInitializers(decodeOnnxModel(bytes)))) out[name] = tensor.values;
  return out;
}

export function readFloatInitializers(model: ModelProtoObject): Record<string, FloatInitializer> {
  const out: Record<string, FloatInitializer> = {};
  for (const tensor of model.graph?.initializer ?? []) {
    if (tensor.data_type !== TensorDataType.FLOAT) continue;
    const name = tensor.name ?? '';
    out[name] = { dims: [...tensor.dims], values: tensorToFloat32(tensor) };
  }
  return out;
}

export function readOnnxMetadata(bytes: Uint8Array): OnnxMetadata {
  return metadataOf(decodeOnnxModel(bytes));
}

export function metadataOf(model: ModelProtoObject): OnnxMetadata {
  const props: Record<string, string> = {};
  const meta: Record<string, string> = {};
  for (const { key, value } of model.metadata_props ?? []) {
    props[key] = value ?? '';
    if (!key.startsWith(RESERVED_METADATA_PREFIX)) meta[key] = value ?? '';
  }
  const defaultOpset = model.opset_import.find((o) => !o.domain || o.domain === 'ai.onnx');
  return {
    irVersion: model.ir_version,
    opsetVersion: defaultOpset?.version,
    producerName: model.producer_name ?? '',
    producerVersion: model.producer_version ?? '',
    modelKind: props[METADATA_MODEL_KIND],
    featureNames: parseFeatureNames(props[METADATA_FEATURE_NAMES]),
    meta,
    props,
  };
}

function parseFeatureNames(json: string | undefined): string[] | undefined {
  if (json === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error(`ONNX metadata ${METADATA_FEATURE_NAMES} is not valid JSON: ${json.slice(0, 80)}`);
  }
  if (!Array.isArray(parsed) || !parsed.every((n): n is string => typeof n === 'string')) {
    throw new Error(`ONNX metadata ${METADATA_FEATURE_NAMES} must be a JSON array of strings`);
  }
  return parsed;
}
