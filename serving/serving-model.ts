// One loaded model version as the server uses it: the ONNX session, the features it takes (names
// and kinds, from the model's own metadata), batch scoring of feature rows, and a reference count
// so a routing swap never releases a session a request is still using.
import { OnnxModel } from '../ml/onnx-runtime';
import type { TabularFrame } from '../ml/tabular/encoding';

export type FeatureKind = 'numeric' | 'categorical';
export type FeatureValue = number | string | null;
export type FeatureRow = Readonly<Record<string, FeatureValue>>;

export interface Scores {
  /** One row per input row; one value for binary/regression models, K for multiclass. */
  rows: number[][];
  /** Values per row. */
  width: number;
}

export class ServingModel {
  private refs = 0;
  private retired = false;
  private released = false;

  private constructor(
    readonly versionId: string,
    private readonly model: OnnxModel,
    readonly numeric: readonly string[],
    readonly categorical: readonly string[],
  ) {}

  static async load(versionId: string, bytes: Uint8Array): Promise<ServingModel> {
    const model = await OnnxModel.load(bytes);
    if (!model.featureNames && model.inputNames.includes('features')) {
      await model.release();
      throw new Error(`version ${versionId}: the ONNX file has no flywheel.feature_names metadata, so requests cannot be matched to its input columns; export it with Flywheel's exporter`);
    }
    return new ServingModel(versionId, model, model.featureNames ?? [], model.categoricalFeatures);
  }

  /** Every feature this version reads, with its kind. */
  features(): Array<[string, FeatureKind]> {
    return [...this.numeric.map((n): [string, FeatureKind] => [n, 'numeric']), ...this.categorical.map((n): [string, FeatureKind] => [n, 'categorical'])];
  }

  /** Scores rows that were already validated against this version's features. */
  async score(rows: readonly FeatureRow[]): Promise<Scores> {
    const n = rows.length;
    const f = this.numeric.length;
    const data = new Float64Array(n * f);
    const categorical: Record<string, (string | null)[]> = {};
    for (const name of this.categorical) categorical[name] = new Array<string | null>(n);
    for (let i = 0; i < n; i++) {
      const row = rows[i];
      for (let j = 0; j < f; j++) data[i * f + j] = row[this.numeric[j]] as number;
      for (const name of this.categorical) {
        const value = row[name];
        categorical[name][i] = value === null || value === undefined ? null : String(value);
      }
    }
    const frame: TabularFrame = { numeric: { rows: n, cols: f, data, featureNames: this.numeric }, categorical };
    const output = await this.model.run(frame);
    const width = output.dims.length > 1 ? output.dims[output.dims.length - 1] : 1;
    const out: number[][] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = Array.from(output.data.subarray(i * width, (i + 1) * width));
    return { rows: out, width };
  }

  /** Takes a reference for the duration of one use; pair with release(). */
  acquire(): this {
    if (this.released) throw new Error(`version ${this.versionId} was released; it is no longer routed`);
    this.refs++;
    return this;
  }

  release(): void {
    this.refs--;
    if (this.retired && this.refs === 0) void this.dispose();
  }

  /** No longer routed: the session is freed as soon as the last request using it finishes. */
  retire(): void {
    this.retired = true;
    if (this.refs === 0) void this.dispose();
  }

  get inUse(): number {
    return this.refs;
  }

  private async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.model.release().catch(() => {});
  }
}
