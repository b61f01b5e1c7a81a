// The production log: services append every prediction they make and every outcome event they see
// (the logging stage of the continual-learning loop). Writes are batched — one statement per chunk
// of thousands of rows, columns passed as arrays and expanded with unnest — never a round trip per row.
import { sql, type Kysely } from 'kysely';
import type { Database, PredictionMode } from './schema';

/** One logged prediction. request_id is the idempotency key: appending it twice keeps one row. */
export interface PredictionRecord {
  requestId: string;
  modelName: string;
  versionId: string;
  mode?: PredictionMode;
  /** The entity the prediction is about (user, order): the unit-join key of label rules. */
  unitId?: string | null;
  /** The features exactly as the model saw them at serving time (training on them avoids skew). */
  features: Record<string, number | string | null>;
  prediction?: number | null;
  /** Multiclass scores or anything else that is not one number. */
  predictionDetail?: unknown;
  predictedAt: Date | string;
}

/** One outcome event (a click, an arrival). Needs a requestId, a unitId, or both. */
export interface OutcomeRecord {
  requestId?: string | null;
  unitId?: string | null;
  modelName: string;
  eventType: string;
  /** Default 1 (a bare "it happened"); regression label rules read it. */
  value?: number;
  occurredAt: Date | string;
}

export class ProductionLogError extends Error {
  override name = 'ProductionLogError';
}

// 5,000 rows keeps each statement's array parameters a few MB at most while amortising the round trip.
const CHUNK_ROWS = 5_000;

function isoTime(value: Date | string, field: string, index: number): string {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new ProductionLogError(`row ${index}: ${field} ${JSON.stringify(value)} is not a valid time: pass a Date or an ISO 8601 string`);
  }
  return date.toISOString();
}

function requireText(value: unknown, field: string, index: number): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ProductionLogError(`row ${index}: ${field} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Appends predictions in chunks; returns how many were new (a re-sent request_id is skipped). */
export async function appendPredictions(db: Kysely<Database>, rows: readonly PredictionRecord[]): Promise<number> {
  let inserted = 0;
  for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
    const chunk = rows.slice(start, start + CHUNK_ROWS);
    const cols = {
      requestId: [] as string[],
      model: [] as string[],
      version: [] as string[],
      mode: [] as string[],
      unit: [] as (string | null)[],
      features: [] as string[],
      prediction: [] as (number | null)[],
      detail: [] as (string | null)[],
      at: [] as string[],
    };
    chunk.forEach((row, offset) => {
      const i = start + offset;
      cols.requestId.push(requireText(row.requestId, 'requestId', i));
      cols.model.push(requireText(row.modelName, 'modelName', i));
      cols.version.push(requireText(row.versionId, 'versionId', i));
      const mode = row.mode ?? 'served';
      if (mode !== 'served' && mode !== 'shadow') throw new ProductionLogError(`row ${i}: mode must be "served" or "shadow", got ${JSON.stringify(mode)}`);
      cols.mode.push(mode);
      cols.unit.push(row.unitId ?? null);
      if (!row.features || typeof row.features !== 'object') throw new ProductionLogError(`row ${i}: features must be an object of feature name → value`);
      cols.features.push(JSON.stringify(row.features));
      const prediction = row.prediction ?? null;
      if (prediction !== null && !Number.isFinite(prediction)) throw new ProductionLogError(`row ${i}: prediction must be a finite number or null, got ${prediction}`);
      cols.prediction.push(prediction);
      cols.detail.push(row.predictionDetail === undefined ? null : JSON.stringify(row.predictionDetail));
      cols.at.push(isoTime(row.predictedAt, 'predictedAt', i));
    });
    const result = await sql<{ n: number }>`
      with ins as (
        insert into prediction_log (request_id, model_name, version_id, mode, unit_id, features, prediction, prediction_detail, predicted_at)
        select * from unnest(${cols.requestId}::text[], ${cols.model}::text[], ${cols.version}::text[], ${cols.mode}::text[], ${cols.unit}::text[],
                             ${cols.features}::jsonb[], ${cols.prediction}::float8[], ${cols.detail}::jsonb[], ${cols.at}::timestamptz[])
        on conflict (request_id) do nothing
        returning 1
      )
      select count(*)::int as n from ins`.execute(db);
    inserted += Number(result.rows[0]?.n ?? 0);
  }
  return inserted;
}

/**
 * Appends outcome events in chunks. Events have no natural key, so a retried append duplicates
 * them; the label rules are insensitive to exact duplicates (a second click is still "a click within
 * the window"; first/last value are unchanged), which is why no dedupe key is demanded of callers.
 */
export async function appendOutcomes(db: Kysely<Database>, rows: readonly OutcomeRecord[]): Promise<number> {
  let inserted = 0;
  for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
    const chunk = rows.slice(start, start + CHUNK_ROWS);
    const request: (string | null)[] = [];
    const unit: (string | null)[] = [];
    const model: string[] = [];
    const type: string[] = [];
    const value: number[] = [];
    const at: string[] = [];
    chunk.forEach((row, offset) => {
      const i = start + offset;
      if (!row.requestId && !row.unitId) throw new ProductionLogError(`row ${i}: an outcome needs requestId or unitId to be joined to a prediction`);
      request.push(row.requestId ?? null);
      unit.push(row.unitId ?? null);
      model.push(requireText(row.modelName, 'modelName', i));
      type.push(requireText(row.eventType, 'eventType', i));
      const v = row.value ?? 1;
      if (!Number.isFinite(v)) throw new ProductionLogError(`row ${i}: value must be a finite number, got ${v}`);
      value.push(v);
      at.push(isoTime(row.occurredAt, 'occurredAt', i));
    });
    const result = await sql<{ n: number }>`
      with ins as (
        insert into outcome_events (request_id, unit_id, model_name, event_type, value, occurred_at)
        select * from unnest(${request}::text[], ${unit}::text[], ${model}::text[], ${type}::text[], ${value}::float8[], ${at}::timestamptz[])
        returning 1
      )
      select count(*)::int as n from ins`.execute(db);
    inserted += Number(result.rows[0]?.n ?? 0);
  }
  return inserted;
}
