// Runs exported models with onnxruntime-node (CPU here, CUDA on GPU hosts), the same runtime that serves them.
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { assertSameFeatures, matrixToFloat32, type DatasetMatrix } from './dataset-matrix';
import { readOnnxMetadata } from './onnx/model-info';
import { CATEGORICAL_INPUT, FEATURES_INPUT, METADATA_CATEGORICAL } from './onnx/tabular';
import type { TabularFrame } from './tabular/encoding';

/** The first output of a run: row-major values and their shape (e.g. [N, 1] or [N, K]). */
export interface OnnxOutput {
  name: string;
  data: Float32Array;
  dims: number[];
}

export async function loadOnnxSession(bytes: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> {
  return InferenceSession.create(bytes, options);
}

/** Feeds rows (row-major, nFeatures per row) to the session's first input; returns its first output, flattened. */
export async function predict(session: InferenceSession, rows: Float32Array, nFeatures: number): Promise<Float32Array> {
  if (!Number.isInteger(nFeatures) || nFeatures < 1) throw new Error(`predict: nFeatures must be a positive integer, got ${nFeatures}`);
  if (rows.length % nFeatures !== 0) {
    throw new Error(`predict: ${rows.length} values are not a whole number of rows of ${nFeatures} features`);
  }
  const input = new Tensor('float32', rows, [rows.length / nFeatures, nFeatures]);
  const results = await session.run({ [session.inputNames[0]]: input });
  const output = results[session.outputNames[0]];
  if (output.type !== 'float32') throw new Error(`predict: output "${session.outputNames[0]}" is ${output.type}, expected float32`);
  return output.data as Float32Array;
}

/** A loaded model plus the feature order from its metadata, so callers cannot feed columns in the wrong order. */
export class OnnxModel {
  private constructor(
    private readonly session: InferenceSession,
    readonly featureNames: readonly string[] | undefined,
    readonly meta: Readonly<Record<string, string>>,
    /** Categorical feature names in the `categorical` input's column order ([] when it has none). */
    readonly categoricalFeatures: readonly string[],
  ) {}

  static async load(bytes: Uint8Array): Promise<OnnxModel> {
    const metadata = readOnnxMetadata(bytes);
    const session = await loadOnnxSession(bytes);
    const categorical = metadata.props[METADATA_CATEGORICAL];
    const names = categorical ? (JSON.parse(categorical) as { name: string }[]).map((c) => c.name) : [];
    return new OnnxModel(session, metadata.featureNames, metadata.meta, names);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** One probability per row of the matrix (numeric-only binary models). */
  async predictProba(matrix: DatasetMatrix): Promise<Float32Array> {
    if (this.session.inputNames.includes(CATEGORICAL_INPUT)) {
      throw new Error(`OnnxModel.predictProba: this model also takes categorical features (${this.categoricalFeatures.join(', ')}); call OnnxModel.run with them`);
    }
    if (this.featureNames) assertSameFeatures(this.featureNames, matrix.featureNames, 'OnnxModel.predictProba');
    if (matrix.rows === 0) return new Float32Array(0);
    return predict(this.session, matrixToFloat32(matrix), matrix.cols);
  }

  /**
   * Runs the model on raw rows: numeric columns go to `features` (float32), categorical ones to
   * `categorical` (strings; a missing value is sent as "", which no vocabulary holds, so it
   * encodes like an unseen value). Returns the first output, e.g. probability [N, 1],
   * probabilities [N, K] or prediction [N, 1].
   */
  async run(frame: TabularFrame): Promise<OnnxOutput> {
    const rows = frame.numeric.rows;
    const feeds: Record<string, Tensor> = {};
    if (this.session.inputNames.includes(FEATURES_INPUT)) {
      if (this.featureNames) assertSameFeatures(this.featureNames, frame.numeric.featureNames, 'OnnxModel.run');
      feeds[FEATURES_INPUT] = new Tensor('float32', matrixToFloat32(frame.numeric), [rows, frame.numeric.cols]);
    }
    if (this.session.inputNames.includes(CATEGORICAL_INPUT)) {
      const c = this.categoricalFeatures.length;
      const values: string[] = new Array(rows * c);
      this.categoricalFeatures.forEach((name, k) => {
        const column = frame.categorical[name];
        if (!column) throw new Error(`OnnxModel.run: categorical feature "${name}" is missing from the input (the model needs ${this.categoricalFeatures.join(', ')})`);
        if (column.length !== rows) throw new Error(`OnnxModel.run: categorical feature "${name}" has ${column.length} values for ${rows} rows`);
        for (let i = 0; i < rows; i++) values[i * c + k] = column[i] ?? '';
      });
      feeds[CATEGORICAL_INPUT] = new Tensor('string', values, [rows, c]);
    }
    const name = this.session.outputNames[0];
    const output = (await this.session.run(feeds))[name];
    if (output.type !== 'float32') throw new Error(`OnnxModel.run: output "${name}" is ${output.type}, expected float32`);
    return { name, data: output.data as Float32Array, dims: output.dims.map(Number) };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
