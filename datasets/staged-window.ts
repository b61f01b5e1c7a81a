// The staged window: what the pull hands to validation and dataset formation. Rows are written as
// Arrow record batches into part files of bounded size while they stream out of Postgres, so a pull
// never holds the whole window in memory; a small JSON summary lists the parts and what the pull saw
// (missing values, type violations, invalid labels) for the validation gate.
import {
  Field,
  Float64,
  makeData,
  makeVector,
  RecordBatch,
  RecordBatchFileWriter,
  Schema,
  Struct,
  tableFromIPC,
  Utf8,
  vectorFromArray,
  type Data,
} from 'apache-arrow';
import type { FeatureLayout } from '../spec/feature-layout';

export const STAGED_WINDOW_FORMAT = 'flywheel-staged-window/1';

/** Columns of (part of) a staged window. Missing values: NaN (numeric), null (categorical). */
export interface StagedColumns {
  eventTimeMs: Float64Array;
  /** When each label became known (end of its label window); NaN when known at event time. */
  labelAvailableMs: Float64Array;
  entityIds: string[];
  labels: Float64Array;
  numeric: Record<string, Float64Array>;
  categorical: Record<string, (string | null)[]>;
  /** Extra numeric source columns curation needs (e.g. importance weights); not model features. */
  auxiliary: Record<string, Float64Array>;
}

export interface ValueProblem {
  count: number;
  /** The first offending source row (id or line) and its value, for the error message. */
  firstRow: string;
  example: string;
}

export interface StagedWindowSummary {
  format: typeof STAGED_WINDOW_FORMAT;
  modelName: string;
  task: string;
  window: { start: string; end: string; since: string | null };
  /** Human-readable description of where the rows came from (table and predicate). */
  source: { kind: 'labelled_examples' | 'table'; table: string; query: string };
  layout: FeatureLayout;
  auxiliary: string[];
  rows: number;
  parts: { uri: string; rows: number }[];
  /** Missing values per feature (null or absent in the source). */
  nulls: Record<string, number>;
  /** Values of the wrong type per feature (a string where a number is declared, ...). */
  typeViolations: Record<string, ValueProblem>;
  /** Labels the task cannot use (binary: not 0/1; regression: not finite). */
  invalidLabels: ValueProblem | null;
  positives: number;
  labelSum: number;
  firstEventTime: string | null;
  lastEventTime: string | null;
}

export function stagedSchema(layout: FeatureLayout, auxiliary: readonly string[]): Schema {
  return new Schema([
    new Field('event_time_ms', new Float64(), false),
    new Field('label_available_ms', new Float64(), false),
    new Field('entity_id', new Utf8(), true),
    ...layout.numeric.map((name) => new Field(`f_${name}`, new Float64(), false)),
    ...layout.categorical.map((name) => new Field(`f_${name}`, new Utf8(), true)),
    new Field('label', new Float64(), false),
    ...auxiliary.map((name) => new Field(`aux_${name}`, new Float64(), false)),
  ]);
}

/** One fixed-capacity batch of rows being filled by the pull; typed arrays, reused across batches. */
export class StagedBatch {
  readonly eventTimeMs: Float64Array;
  readonly labelAvailableMs: Float64Array;
  readonly entityIds: string[] = [];
  readonly labels: Float64Array;
  readonly numeric: Float64Array[];
  readonly categorical: (string | null)[][];
  readonly auxiliary: Float64Array[];
  length = 0;

  constructor(
    readonly layout: FeatureLayout,
    readonly auxiliaryNames: readonly string[],
    readonly capacity: number,
  ) {
    this.eventTimeMs = new Float64Array(capacity);
    this.labelAvailableMs = new Float64Array(capacity);
    this.labels = new Float64Array(capacity);
    this.numeric = layout.numeric.map(() => new Float64Array(capacity));
    this.categorical = layout.categorical.map(() => []);
    this.auxiliary = auxiliaryNames.map(() => new Float64Array(capacity));
  }

  get full(): boolean {
    return this.length >= this.capacity;
  }

  clear(): void {
    this.length = 0;
    this.entityIds.length = 0;
    for (const column of this.categorical) column.length = 0;
  }

  /** The filled rows as one Arrow record batch of the given schema (copies, so the batch can be reused). */
  toRecordBatch(schema: Schema): RecordBatch {
    const n = this.length;
    const f64 = (values: Float64Array): Data => makeVector(values.slice(0, n)).data[0];
    const utf8 = (values: (string | null)[]): Data => vectorFromArray(values.slice(0, n), new Utf8()).data[0];
    const children: Data[] = [
      f64(this.eventTimeMs),
      f64(this.labelAvailableMs),
      utf8(this.entityIds),
      ...this.numeric.map(f64),
      ...this.categorical.map(utf8),
      f64(this.labels),
      ...this.auxiliary.map(f64),
    ];
    return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children }));
  }
}

export interface StagedWriterOptions {
  layout: FeatureLayout;
  auxiliary?: readonly string[];
  /** Rows per Arrow record batch (default 16,384). */
  batchRows?: number;
  /** Rows per part file (default 262,144): bounds the bytes held before each upload. */
  partRows?: number;
  /** Stores one finished part and returns its URI. */
  writePart(index: number, bytes: Uint8Array): Promise<string>;
}

/**
 * Streams rows into part files: fill `batch` (check `batch.full` after each row and call
 * `flushBatch`), then `finish`. Memory: one batch of typed arrays plus one part's encoded bytes.
 */
export class StagedWindowWriter {
  readonly batch: StagedBatch;
  private readonly schema: Schema;
  private readonly partRows: number;
  private writer: RecordBatchFileWriter | null = null;
  private rowsInPart = 0;
  readonly parts: { uri: string; rows: number }[] = [];
  rows = 0;

  constructor(private readonly options: StagedWriterOptions) {
    const auxiliary = options.auxiliary ?? [];
    this.schema = stagedSchema(options.layout, auxiliary);
    this.batch = new StagedBatch(options.layout, auxiliary, options.batchRows ?? 16_384);
    this.partRows = Math.max(this.batch.capacity, options.partRows ?? 262_144);
  }

  async flushBatch(): Promise<void> {
    if (this.batch.length === 0) return;
    this.writer ??= new RecordBatchFileWriter();
    this.writer.write(this.batch.toRecordBatch(this.schema));
    this.rowsInPart += this.batch.length;
    this.rows += this.batch.length;
    this.batch.clear();
    if (this.rowsInPart >= this.partRows) await this.closePart();
  }

  private async closePart(): Promise<void> {
    if (!this.writer || this.rowsInPart === 0) return;
    this.writer.finish();
    const bytes = this.writer.toUint8Array(true);
    this.writer = null;
    const uri = await this.options.writePart(this.parts.length, bytes);
    this.parts.push({ uri, rows: this.rowsInPart });
    this.rowsInPart = 0;
  }

  async finish(): Promise<{ rows: number; parts: { uri: string; rows: number }[] }> {
    await this.flushBatch();
    await this.closePart();
    return { rows: this.rows, parts: this.parts };
  }
}

export class StagedWindowError extends Error {
  override name = 'StagedWindowError';
}

/** Decodes one part file into columns. */
export function decodeStagedPart(bytes: Uint8Array, layout: FeatureLayout, auxiliary: readonly string[]): StagedColumns {
  const table = tableFromIPC(bytes);
  const column = (name: string) => {
    const child = table.getChild(name);
    if (!child) throw new StagedWindowError(`staged window part has no column "${name}" (columns: ${table.schema.fields.map((f) => f.name).join(', ')})`);
    return child;
  };
  const f64 = (name: string) => {
    const values = column(name).toArray() as ArrayLike<number>;
    return values instanceof Float64Array ? values : Float64Array.from(values);
  };
  const strings = (name: string) => Array.from(column(name).toArray() as ArrayLike<string | null>);
  return {
    eventTimeMs: f64('event_time_ms'),
    labelAvailableMs: f64('label_available_ms'),
    entityIds: strings('entity_id') as string[],
    labels: f64('label'),
    numeric: Object.fromEntries(layout.numeric.map((name) => [name, f64(`f_${name}`)])),
    categorical: Object.fromEntries(layout.categorical.map((name) => [name, strings(`f_${name}`)])),
    auxiliary: Object.fromEntries(auxiliary.map((name) => [name, f64(`aux_${name}`)])),
  };
}

/** Empty columns with room for `rows` rows, to concatenate parts into. */
export function allocateStaged(rows: number, layout: FeatureLayout, auxiliary: readonly string[]): StagedColumns {
  return {
    eventTimeMs: new Float64Array(rows),
    labelAvailableMs: new Float64Array(rows),
    entityIds: new Array<string>(rows),
    labels: new Float64Array(rows),
    numeric: Object.fromEntries(layout.numeric.map((name) => [name, new Float64Array(rows)])),
    categorical: Object.fromEntries(layout.categorical.map((name) => [name, new Array<string | null>(rows)])),
    auxiliary: Object.fromEntries(auxiliary.map((name) => [name, new Float64Array(rows)])),
  };
}

/** Copies `part` into `into` starting at row `offset`. */
export function copyStaged(into: StagedColumns, part: StagedColumns, offset: number): void {
  into.eventTimeMs.set(part.eventTimeMs, offset);
  into.labelAvailableMs.set(part.labelAvailableMs, offset);
  into.labels.set(part.labels, offset);
  for (let i = 0; i < part.entityIds.length; i++) into.entityIds[offset + i] = part.entityIds[i];
  for (const [name, values] of Object.entries(part.numeric)) into.numeric[name].set(values, offset);
  for (const [name, values] of Object.entries(part.auxiliary)) into.auxiliary[name].set(values, offset);
  for (const [name, values] of Object.entries(part.categorical)) {
    const target = into.categorical[name];
    for (let i = 0; i < values.length; i++) target[offset + i] = values[i];
  }
}

export function stagedRowCount(columns: StagedColumns): number {
  return columns.eventTimeMs.length;
}
