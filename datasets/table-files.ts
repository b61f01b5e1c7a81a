// Reads a tabular file — CSV, Parquet or Arrow IPC — into typed columns: the reader behind
// `flywheel data import` and, later, `flywheel drift`. With a feature layout, declared numeric
// features must hold numbers and every problem is reported by its source line (CSV) or row
// (Parquet/Arrow), e.g. "line 17: column 'age' value 'abc' is not a number"; without one, each
// column's type is inferred (numeric when every non-empty value is a number).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { parse as parseCsv } from 'csv-parse/sync';
import type { FeatureLayout } from '../spec/feature-layout';

export type TableFormat = 'csv' | 'parquet' | 'arrow';

export interface TableProblem {
  /** "line 17" (CSV, counting the header as line 1) or "row 17" (Parquet/Arrow, 1-based); absent for file-level problems. */
  where?: string;
  column?: string;
  message: string;
}

export class TableFileError extends Error {
  override name = 'TableFileError';
  constructor(
    readonly file: string,
    /** The first problems found (at most maxErrors). */
    readonly problems: TableProblem[],
    /** How many problems there were in all. */
    readonly total: number,
  ) {
    const shown = problems.map((p) => (p.where ? `${p.where}: ${p.message}` : p.message));
    super(`${file}: ${total} problem${total === 1 ? '' : 's'}: ${shown.join('; ')}${total > problems.length ? `; … and ${total - problems.length} more` : ''}`);
  }
}

export interface ReadTableOptions {
  /** Declared features: numeric ones must be numbers, categorical ones are read as strings. */
  layout?: FeatureLayout;
  /** Default: the first of event_time, timestamp, time, ts present; unset and none present → no timestamps. */
  timestampColumn?: string;
  /** Default: "label" when present. */
  labelColumn?: string;
  /** Default: the first of entity_id, entity present. */
  entityColumn?: string;
  /** binary: labels must be 0 or 1 (a bad one is reported by its line like any other bad value). */
  labelKind?: 'binary' | 'numeric';
  /** Require a timestamp column (and a label column) to be found. */
  requireTimestamp?: boolean;
  requireLabel?: boolean;
  /** Problems listed in the error (all are counted); default 20. */
  maxErrors?: number;
  /** Default: from the file extension (.csv, .parquet/.pq, .arrow/.feather/.ipc). */
  format?: TableFormat;
}

export interface TableColumns {
  file: string;
  format: TableFormat;
  rowCount: number;
  /** Every column in the file, in file order. */
  columnNames: string[];
  timestampColumn: string | null;
  labelColumn: string | null;
  entityColumn: string | null;
  /** Event time in ms since epoch (UTC). */
  timestamps: Float64Array | null;
  labels: Float64Array | null;
  entityIds: (string | null)[] | null;
  /** Numeric columns (declared or inferred); NaN = missing. */
  numeric: Record<string, Float64Array>;
  /** Categorical columns; null = missing. */
  categorical: Record<string, (string | null)[]>;
  /** Where row i came from, for messages: "line 17" or "row 17". */
  rowLabel(i: number): string;
}

/** A column as read from the file, before coercion: strings (CSV) or native values (Parquet/Arrow). */
interface RawTable {
  columnNames: string[];
  columns: Map<string, ArrayLike<unknown>>;
  rowCount: number;
  rowLabel(i: number): string;
}

export function detectFormat(file: string): TableFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv' || ext === '.tsv') return 'csv';
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  if (ext === '.arrow' || ext === '.feather' || ext === '.ipc') return 'arrow';
  throw new TableFileError(file, [{ message: `unknown file type "${ext || '(none)'}": use .csv, .parquet or .arrow (or pass the format explicitly)` }], 1);
}

class Problems {
  readonly list: TableProblem[] = [];
  total = 0;
  constructor(private readonly max: number) {}
  add(problem: TableProblem): void {
    this.total++;
    if (this.list.length < this.max) this.list.push(problem);
  }
}

function readCsv(file: string, text: string, problems: Problems): RawTable {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(text, { info: true, relax_column_count: true, skip_empty_lines: true, bom: true }) as unknown as typeof records;
  } catch (error) {
    // Broken quoting and the like: csv-parse's message already names the line.
    throw new TableFileError(file, [{ message: `not valid CSV: ${(error as Error).message}` }], 1);
  }
  if (records.length === 0) throw new TableFileError(file, [{ message: 'the file is empty: it needs a header line and at least one row' }], 1);
  const header = records[0].record.map((name) => name.trim());
  const seen = new Set<string>();
  for (const name of header) {
    // A broken header makes every later message meaningless: report it alone.
    if (!name) throw new TableFileError(file, [{ where: 'line 1', message: 'the header has an empty column name' }], 1);
    if (seen.has(name)) throw new TableFileError(file, [{ where: 'line 1', message: `column '${name}' appears twice in the header` }], 1);
    seen.add(name);
  }
  const body = records.slice(1);
  // A quoted field may span lines; info.lines is where the record ends, so step back over its newlines.
  const lines = Int32Array.from(body, ({ record, info }) => info.lines - record.reduce((n, field) => n + (field.match(/\n/g)?.length ?? 0), 0));
  const columns = new Map<string, string[]>(header.map((name) => [name, new Array<string>(body.length)]));
  body.forEach(({ record }, i) => {
    if (record.length !== header.length) problems.add({ where: `line ${lines[i]}`, message: `has ${record.length} fields, the header has ${header.length}` });
    header.forEach((name, j) => {
      columns.get(name)![i] = record[j] ?? '';
    });
  });
  return { columnNames: header, columns, rowCount: body.length, rowLabel: (i) => `line ${lines[i]}` };
}

async function readParquet(file: string, bytes: Buffer): Promise<RawTable> {
  // hyparquet is ESM-only; a dynamic import loads it from this CommonJS project.
  const { parquetMetadataAsync, parquetRead, parquetSchema } = await import('hyparquet');
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const asyncBuffer = { byteLength: buffer.byteLength, slice: (start: number, end?: number) => buffer.slice(start, end) };
  let metadata;
  try {
    metadata = await parquetMetadataAsync(asyncBuffer);
  } catch (error) {
    throw new TableFileError(file, [{ message: `not a readable Parquet file: ${(error as Error).message}` }], 1);
  }
  const rowCount = Number(metadata.num_rows);
  const columnNames = parquetSchema(metadata).children.map((child) => child.element.name);
  const columns = new Map<string, unknown[]>(columnNames.map((name) => [name, new Array<unknown>(rowCount)]));
  await parquetRead({
    file: asyncBuffer,
    metadata,
    onChunk: (chunk) => {
      const target = columns.get(chunk.columnName);
      if (!target) return;
      for (let i = 0; i < chunk.columnData.length; i++) {
        const row = chunk.rowStart + i;
        if (row < rowCount) target[row] = chunk.columnData[i];
      }
    },
  });
  return { columnNames, columns, rowCount, rowLabel: (i) => `row ${i + 1}` };
}

function readArrow(file: string, bytes: Buffer): RawTable {
  let table;
  try {
    table = tableFromIPC(bytes);
  } catch (error) {
    throw new TableFileError(file, [{ message: `not a readable Arrow IPC file: ${(error as Error).message}` }], 1);
  }
  const columnNames = table.schema.fields.map((f) => f.name);
  const columns = new Map<string, ArrayLike<unknown>>();
  for (const name of columnNames) {
    const vector = table.getChild(name)!;
    // Plain float/int columns without nulls come back as typed arrays; everything else value by value
    // (get() turns timestamps into ms numbers or Dates, strings into strings, nulls into null).
    const array = vector.nullCount === 0 ? vector.toArray() : null;
    columns.set(name, array && ArrayBuffer.isView(array) && !(array instanceof BigInt64Array || array instanceof BigUint64Array) ? (array as unknown as ArrayLike<number>) : Array.from({ length: vector.length }, (_, i) => vector.get(i)));
  }
  return { columnNames, columns, rowCount: table.numRows, rowLabel: (i) => `row ${i + 1}` };
}

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function isMissing(value: unknown): boolean {
  return value === null || value === undefined || (typeof value === 'string' && value.trim() === '');
}

/** A finite number, NaN for missing, or undefined when the value is not a finite number. */
function toNumber(value: unknown): number | undefined {
  if (isMissing(value)) return Number.NaN;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    if (!NUMBER_TEXT.test(value.trim())) return undefined;
    // "1e999" is well-formed text for a number that does not fit a double: refused, not Infinity.
    const parsed = Number(value.trim());
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

const ISO_HAS_ZONE = /(Z|[+-]\d{2}:?\d{2})$/i;

/** ms since epoch, or undefined. Strings: ISO 8601 (no zone → UTC) or epoch milliseconds. */
function toTime(value: unknown): number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') {
    const text = value.trim();
    if (/^\d{10,}$/.test(text)) return Number(text);
    // A date-time without a zone would be read in the machine's local zone: pin it to UTC instead.
    const iso = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(text) && !ISO_HAS_ZONE.test(text) ? `${text.replace(' ', 'T')}Z` : text;
    const ms = Date.parse(iso);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

function toText(value: unknown): string | null {
  if (isMissing(value)) return null;
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

function show(value: unknown): string {
  const text = value instanceof Date ? value.toISOString() : typeof value === 'bigint' ? value.toString() : String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function pick(names: string[], explicit: string | undefined, candidates: string[]): string | null {
  if (explicit !== undefined) return explicit;
  return candidates.find((c) => names.includes(c)) ?? null;
}

function coerce(file: string, format: TableFormat, raw: RawTable, options: ReadTableOptions, problems: Problems): TableColumns {
  const names = raw.columnNames;
  const rowProblemsSoFar = problems.total;
  const timestampColumn = pick(names, options.timestampColumn, ['event_time', 'timestamp', 'time', 'ts']);
  const labelColumn = pick(names, options.labelColumn, ['label']);
  const entityColumn = pick(names, options.entityColumn, ['entity_id', 'entity']);
  const available = names.map((n) => `'${n}'`).join(', ');
  const requireColumn = (name: string | null, role: string, flag: string, required: boolean) => {
    if (name !== null && !names.includes(name)) problems.add({ column: name, message: `${role} column '${name}' is not in the file (columns: ${available}); pass ${flag}` });
    else if (name === null && required) problems.add({ message: `no ${role} column found (columns: ${available}); pass ${flag}` });
  };
  requireColumn(timestampColumn, 'timestamp', '--timestamp-column', options.requireTimestamp ?? false);
  requireColumn(labelColumn, 'label', '--label-column', options.requireLabel ?? false);
  if (options.entityColumn !== undefined) requireColumn(entityColumn, 'entity', '--entity-column', true);
  const special = new Set([timestampColumn, labelColumn, entityColumn].filter((n): n is string => n !== null));

  let numericNames: string[];
  let categoricalNames: string[];
  if (options.layout) {
    for (const name of [...options.layout.numeric, ...options.layout.categorical]) {
      if (!names.includes(name)) problems.add({ column: name, message: `feature column '${name}' is missing (columns: ${available}): add it or rename the file's column` });
    }
    numericNames = options.layout.numeric.filter((n) => names.includes(n));
    categoricalNames = options.layout.categorical.filter((n) => names.includes(n));
  } else {
    const rest = names.filter((n) => !special.has(n));
    numericNames = rest.filter((name) => {
      const values = raw.columns.get(name)!;
      for (let i = 0; i < values.length; i++) if (!isMissing(values[i]) && toNumber(values[i]) === undefined) return false;
      return true;
    });
    categoricalNames = rest.filter((n) => !numericNames.includes(n));
  }
  // Columns the file lacks are file-level problems: stop before reporting one per row.
  if (problems.total > rowProblemsSoFar) throw new TableFileError(file, problems.list, problems.total);

  const n = raw.rowCount;
  const numericColumn = (name: string, role: string): Float64Array => {
    const values = raw.columns.get(name)!;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = toNumber(values[i]);
      if (v === undefined) {
        problems.add({ where: raw.rowLabel(i), column: name, message: `column '${name}' value '${show(values[i])}' is not a number` });
        out[i] = Number.NaN;
      } else {
        if (role === 'label' && Number.isNaN(v)) problems.add({ where: raw.rowLabel(i), column: name, message: `column '${name}' has no label` });
        else if (role === 'label' && options.labelKind === 'binary' && v !== 0 && v !== 1) {
          problems.add({ where: raw.rowLabel(i), column: name, message: `column '${name}' value '${show(values[i])}' is not 0 or 1 (binary labels)` });
        }
        out[i] = v;
      }
    }
    return out;
  };
  const numeric = Object.fromEntries(numericNames.map((name) => [name, numericColumn(name, 'feature')]));
  const categorical = Object.fromEntries(categoricalNames.map((name) => [name, Array.from(raw.columns.get(name)!, toText)]));
  const labels = labelColumn ? numericColumn(labelColumn, 'label') : null;
  let timestamps: Float64Array | null = null;
  if (timestampColumn) {
    const values = raw.columns.get(timestampColumn)!;
    timestamps = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const t = isMissing(values[i]) ? undefined : toTime(values[i]);
      if (t === undefined) {
        const what = isMissing(values[i]) ? 'is empty' : `value '${show(values[i])}' is not a timestamp`;
        problems.add({ where: raw.rowLabel(i), column: timestampColumn, message: `column '${timestampColumn}' ${what}: use ISO 8601 (2026-01-31T12:00:00Z) or epoch milliseconds` });
        timestamps[i] = Number.NaN;
      } else {
        timestamps[i] = t;
      }
    }
  }
  const entityIds = entityColumn ? Array.from(raw.columns.get(entityColumn)!, toText) : null;
  if (problems.total > 0) throw new TableFileError(file, problems.list, problems.total);
  return {
    file,
    format,
    rowCount: n,
    columnNames: names,
    timestampColumn,
    labelColumn,
    entityColumn,
    timestamps,
    labels,
    entityIds,
    numeric,
    categorical,
    rowLabel: raw.rowLabel,
  };
}

/**
 * Reads a CSV, Parquet or Arrow file into columns. Throws TableFileError listing the first
 * `maxErrors` problems (with their line or row) and the total count; a file with any bad row is
 * rejected as a whole.
 */
export async function readTableFile(file: string, options: ReadTableOptions = {}): Promise<TableColumns> {
  const format = options.format ?? detectFormat(file);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TableFileError(file, [{ message: code === 'ENOENT' ? 'no such file' : `cannot read it: ${(error as Error).message}` }], 1);
  }
  const problems = new Problems(options.maxErrors ?? 20);
  const raw = format === 'csv' ? readCsv(file, bytes.toString('utf8'), problems) : format === 'parquet' ? await readParquet(file, bytes) : readArrow(file, bytes);
  return coerce(file, format, raw, options, problems);
}
