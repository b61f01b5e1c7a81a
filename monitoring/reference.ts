// The monitoring reference, as a WindowSample: by default the champion's training snapshot (read
// through lineage, decoded with datasets/snapshot.ts, scored with the champion's ONNX model for the
// reference prediction distribution); or a fixed window of the prediction log believed healthy.
// Features, predictions and labels come from every snapshot row (whole days: the validation split
// alone is the window's last hours, whose time-of-day mix differs from a day's); reference
// performance from the validation split, the rows the champion did not fit.
import type { Kysely } from 'kysely';
import { decodeDataset, featureMatrix, rowCount, SPLIT_VALIDATION, type DatasetColumns } from '../datasets/snapshot';
import { championTrainingDataset } from '../lineage/dataset-lineage';
import { streamServedRows } from '../lineage/monitoring';
import type { Database } from '../lineage/schema';
import { createMatrix } from '../ml/dataset-matrix';
import { OnnxModel } from '../ml/onnx-runtime';
import type { FeatureLayout } from '../spec/feature-layout';
import type { ArtifactStore } from '../storage/artifact-store';
import { ingestRows } from './ingest';
import type { MonitoringAccumulator, ReferenceSpec, WindowSample } from './windows';

export class ReferenceError extends Error {
  override name = 'ReferenceError';
  constructor(
    message: string,
    /** no_champion: nothing trained yet; empty: no rows; corrupt: the snapshot cannot be read. */
    readonly reason: 'no_champion' | 'empty' | 'corrupt',
  ) {
    super(message);
  }
}

export interface ReferenceRequest {
  db: Kysely<Database>;
  store: ArtifactStore;
  modelName: string;
  /** The model's features. */
  layout: FeatureLayout;
  /** Every name the accumulator reads (features plus slice and cohort features), in alias order. */
  columns: readonly string[];
  accumulator: MonitoringAccumulator;
  nowIso: string;
  reference: ReferenceSpec;
  onProgress?: (rows: number) => void;
  /** Score the snapshot with the champion for the prediction reference (default true; the drift trigger needs features only). */
  scorePredictions?: boolean;
  /**
   * Describes the accumulator's configuration (features, slices, capacity, seed, task). With it, a
   * training reference is kept in a small in-process cache keyed by the snapshot and model URIs
   * (both immutable: snapshots are content-addressed), so monitoring every window does not decode
   * and score the same snapshot again. Without it, nothing is cached.
   */
  cacheKey?: string;
}

export interface LoadedReference {
  sample: WindowSample;
  /** "ctr@v1's training snapshot ds-… (14000 rows)" or "the log's window [start, end)". */
  description: string;
  rows: number;
  labelledRows: number;
  versionId: string | null;
  datasetId: string | null;
  notes: string[];
}

/** Rows scored per ONNX call: bounds the float32 tensor, whatever the snapshot's size. */
const SCORE_CHUNK = 10_000;
/** Below this many validation rows, reference performance uses every row instead. */
const MIN_VALIDATION_ROWS = 100;

function missingColumn(error: unknown): string | null {
  const match = /has no column "f_([^"]+)"/.exec((error as Error)?.message ?? '');
  return match ? match[1] : null;
}

/** Decodes the snapshot; features added to the spec since it was formed are left out (and named). */
function decodeSnapshot(bytes: Uint8Array, layout: FeatureLayout, uri: string, notes: string[]): { columns: DatasetColumns; layout: FeatureLayout } {
  let current = { numeric: [...layout.numeric], categorical: [...layout.categorical] };
  for (;;) {
    try {
      return { columns: decodeDataset(bytes, current), layout: current };
    } catch (error) {
      const missing = missingColumn(error);
      if (missing === null || (!current.numeric.includes(missing) && !current.categorical.includes(missing))) {
        throw new ReferenceError(`the champion's training snapshot ${uri} cannot be read: ${(error as Error).message}`, 'corrupt');
      }
      notes.push(`feature ${missing} is not in the champion's training snapshot (added since): it has no reference`);
      current = { numeric: current.numeric.filter((n) => n !== missing), categorical: current.categorical.filter((n) => n !== missing) };
    }
  }
}

/** The champion's scores for every snapshot row, chunk by chunk; null (with a note) when it cannot score them. */
async function scoreSnapshot(store: ArtifactStore, artifactUri: string, columns: DatasetColumns, notes: string[]): Promise<Float64Array | null> {
  let model: OnnxModel;
  try {
    model = await OnnxModel.load(await store.get(artifactUri));
  } catch (error) {
    notes.push(`prediction reference skipped: the champion's model ${artifactUri} cannot be loaded (${(error as Error).message})`);
    return null;
  }
  try {
    const numeric = [...(model.featureNames ?? [])];
    const missing = [...numeric.filter((n) => !columns.features[n]), ...model.categoricalFeatures.filter((n) => !columns.categorical[n])];
    if (missing.length) {
      notes.push(`prediction reference skipped: the snapshot lacks model inputs ${missing.join(', ')}`);
      return null;
    }
    const n = rowCount(columns);
    const scores = new Float64Array(n);
    for (let start = 0; start < n; start += SCORE_CHUNK) {
      const end = Math.min(n, start + SCORE_CHUNK);
      const output = await model.run({
        numeric: createMatrix(numeric, end - start, featureMatrix(columns, numeric, start, end)),
        categorical: Object.fromEntries(model.categoricalFeatures.map((name) => [name, columns.categorical[name].slice(start, end)])),
      });
      // The first output column: P(y = 1) for binary models, the prediction for regression.
      const width = output.dims[1] ?? 1;
      for (let i = 0; i < end - start; i++) scores[start + i] = output.data[i * width];
    }
    return scores;
  } catch (error) {
    notes.push(`prediction reference skipped: scoring the snapshot with the champion failed (${(error as Error).message})`);
    return null;
  } finally {
    await model.release();
  }
}

/** Decoded training references, most recently used last; samples are read-only once built. */
const cache = new Map<string, LoadedReference>();
const CACHE_ENTRIES = 4;

function remember(key: string, reference: LoadedReference): LoadedReference {
  cache.delete(key);
  cache.set(key, reference);
  while (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  return reference;
}

async function trainingReference(request: ReferenceRequest): Promise<LoadedReference> {
  const { db, modelName } = request;
  const champion = await championTrainingDataset(db, modelName);
  if (!champion) {
    throw new ReferenceError(
      `model "${modelName}" has no champion yet, and the champion's training snapshot is the default reference: train one first, or use referenceKind "window" with a healthy referenceWindow of the log`,
      'no_champion',
    );
  }
  const version = await db.selectFrom('model_versions').select('artifact_uri').where('id', '=', champion.versionId).executeTakeFirstOrThrow();
  if (request.cacheKey === undefined) return buildTrainingReference(request, champion, version.artifact_uri);
  const key = JSON.stringify([champion.uri, version.artifact_uri, champion.versionId, request.scorePredictions !== false, request.cacheKey]);
  const hit = cache.get(key);
  return remember(key, hit ?? (await buildTrainingReference(request, champion, version.artifact_uri)));
}

async function buildTrainingReference(request: ReferenceRequest, champion: { versionId: string; datasetId: string; uri: string }, artifactUri: string): Promise<LoadedReference> {
  const { store } = request;
  const notes: string[] = [];
  let bytes: Uint8Array;
  try {
    bytes = await store.get(champion.uri);
  } catch (error) {
    throw new ReferenceError(`the champion's training snapshot ${champion.uri} cannot be read: ${(error as Error).message}`, 'corrupt');
  }
  const { columns, layout } = decodeSnapshot(bytes, request.layout, champion.uri, notes);
  const n = rowCount(columns);
  if (n === 0) throw new ReferenceError(`the champion's training snapshot ${champion.uri} has no rows`, 'empty');
  const scores = request.scorePredictions === false ? null : await scoreSnapshot(store, artifactUri, columns, notes);
  const validationRows = columns.split ? columns.split.reduce((k, s) => k + (s === SPLIT_VALIDATION ? 1 : 0), 0) : 0;
  const performanceFromValidation = validationRows >= MIN_VALIDATION_ROWS;
  if (scores && !performanceFromValidation) notes.push(`reference performance on every snapshot row (fitted ones included): its validation split has ${validationRows} rows (< ${MIN_VALIDATION_ROWS})`);
  for (let i = 0; i < n; i++) {
    const features: Record<string, unknown> = {};
    for (const name of layout.numeric) features[name] = columns.features[name][i];
    for (const name of layout.categorical) features[name] = columns.categorical[name][i];
    const scored = !performanceFromValidation || columns.split![i] === SPLIT_VALIDATION;
    request.accumulator.addRow({ features, prediction: scores ? scores[i] : null, label: columns.labels[i], scored });
    if ((i + 1) % 50_000 === 0) request.onProgress?.(i + 1);
  }
  return {
    sample: request.accumulator.toSample(),
    description: `${champion.versionId}'s training snapshot ${champion.datasetId} (${n} rows${scores && performanceFromValidation ? `, performance on its ${validationRows} validation rows` : ''})`,
    rows: n,
    labelledRows: request.accumulator.labelledRows,
    versionId: champion.versionId,
    datasetId: champion.datasetId,
    notes,
  };
}

async function windowReference(request: ReferenceRequest, spec: Extract<ReferenceSpec, { kind: 'window' }>): Promise<LoadedReference> {
  const stream = streamServedRows(request.db, { modelName: request.modelName, features: request.columns, start: spec.start, end: spec.end, labelsAsOf: request.nowIso });
  const ingested = await ingestRows(stream, request.columns, request.accumulator, request.onProgress);
  if (ingested.rows === 0) {
    throw new ReferenceError(`no served predictions of model "${request.modelName}" in the reference window [${spec.start}, ${spec.end}): pick a window the log covers`, 'empty');
  }
  return {
    sample: request.accumulator.toSample(),
    description: `the prediction log's window [${spec.start}, ${spec.end}) (${ingested.rows} rows)`,
    rows: ingested.rows,
    labelledRows: request.accumulator.labelledRows,
    versionId: null,
    datasetId: null,
    notes: [],
  };
}

/** Loads the reference into the request's accumulator and returns its sample. */
export function loadReference(request: ReferenceRequest): Promise<LoadedReference> {
  return request.reference.kind === 'training' ? trainingReference(request) : windowReference(request, request.reference);
}
