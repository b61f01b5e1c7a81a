// Request validation for the prediction server: every refusal is a 4xx whose message names the
// field, what is wrong and what was expected, so a client can fix its call from the error alone.
import type { FeatureKind, FeatureRow, FeatureValue } from './serving-model';

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const MAX_ID_LENGTH = 200;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number') return Number.isFinite(value) ? `the number ${value}` : String(value);
  return `a ${typeof value}`;
}

function requireObjectBody(body: unknown, route: string): Record<string, unknown> {
  if (!isPlainObject(body)) {
    throw new HttpError(400, 'invalid_body', `${route}: the body must be a JSON object (got ${body === undefined ? 'no body' : describe(body)}); send it with Content-Type: application/json`);
  }
  return body;
}

function rejectUnknownFields(body: Record<string, unknown>, allowed: readonly string[], route: string): void {
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length) throw new HttpError(400, 'unknown_field', `${route}: unknown field${extra.length > 1 ? 's' : ''} ${extra.map((k) => `"${k}"`).join(', ')}; it takes ${allowed.join(', ')}`, { unknown: extra });
}

function idField(body: Record<string, unknown>, field: string, route: string, required: boolean): string | null {
  const value = body[field];
  if (value === undefined || value === null) {
    if (required) throw new HttpError(400, 'missing_field', `${route}: "${field}" is required (a non-empty string)`);
    return null;
  }
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new HttpError(400, 'invalid_field', `${route}: "${field}" must be a non-empty string of at most ${MAX_ID_LENGTH} characters, got ${describe(value)}`);
  }
  return value;
}

/**
 * Checks one feature object against the model's contract: exactly the contract's names, numbers
 * finite, categorical values strings (null = missing, encoded like an unseen category).
 */
export function checkFeatures(features: unknown, contract: ReadonlyMap<string, FeatureKind>, model: string, field = 'features'): FeatureRow {
  if (!isPlainObject(features)) throw new HttpError(400, 'invalid_field', `"${field}" must be an object of feature name → value, got ${describe(features)}`);
  const missing: string[] = [];
  const invalid: Array<{ feature: string; expected: string; got: string }> = [];
  for (const [name, kind] of contract) {
    if (!Object.hasOwn(features, name)) {
      missing.push(name);
      continue;
    }
    const value = features[name];
    if (kind === 'numeric' ? typeof value !== 'number' || !Number.isFinite(value) : value !== null && typeof value !== 'string') {
      invalid.push({ feature: name, expected: kind === 'numeric' ? 'a finite number' : 'a string (or null when missing)', got: describe(value) });
    }
  }
  const unexpected = Object.keys(features).filter((name) => !contract.has(name));
  if (missing.length || unexpected.length || invalid.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing ${missing.join(', ')}`);
    if (unexpected.length) parts.push(`unexpected ${unexpected.join(', ')}`);
    for (const bad of invalid.slice(0, 10)) parts.push(`${field}.${bad.feature} must be ${bad.expected}, got ${bad.got}`);
    const takes = [...contract].map(([name, kind]) => (kind === 'numeric' ? name : `${name} (categorical)`)).join(', ');
    throw new HttpError(400, 'invalid_features', `${field}: ${parts.join('; ')} — model "${model}" takes ${takes}`, { missing, unexpected, invalid });
  }
  return features as Record<string, FeatureValue>;
}

export interface PredictRequest {
  model: string;
  unitId: string | null;
  features: unknown;
}

export function parsePredictBody(raw: unknown): PredictRequest {
  const route = 'POST /predict';
  const body = requireObjectBody(raw, route);
  rejectUnknownFields(body, ['model', 'unitId', 'features'], route);
  const model = idField(body, 'model', route, true)!;
  const unitId = idField(body, 'unitId', route, false);
  if (body.features === undefined) throw new HttpError(400, 'missing_field', `${route}: "features" is required (an object of feature name → value)`);
  return { model, unitId, features: body.features };
}

export interface RankRequest {
  model: string;
  unitId: string | null;
  candidates: Array<{ id: string; features: unknown }>;
}

export function parseRankBody(raw: unknown, maxCandidates: number): RankRequest {
  const route = 'POST /rank';
  const body = requireObjectBody(raw, route);
  rejectUnknownFields(body, ['model', 'unitId', 'candidates'], route);
  const model = idField(body, 'model', route, true)!;
  const unitId = idField(body, 'unitId', route, false);
  const list = body.candidates;
  if (!Array.isArray(list) || list.length === 0 || list.length > maxCandidates) {
    throw new HttpError(400, 'invalid_field', `${route}: "candidates" must be an array of 1 to ${maxCandidates} {id, features} objects, got ${Array.isArray(list) ? `${list.length} items` : describe(list)}`);
  }
  const seen = new Set<string>();
  const candidates = list.map((item, i) => {
    if (!isPlainObject(item)) throw new HttpError(400, 'invalid_field', `${route}: candidates[${i}] must be an object {id, features}, got ${describe(item)}`);
    const extra = Object.keys(item).filter((k) => k !== 'id' && k !== 'features');
    if (extra.length) throw new HttpError(400, 'unknown_field', `${route}: candidates[${i}] has unknown field ${extra.map((k) => `"${k}"`).join(', ')}; a candidate is {id, features}`);
    const id = idField(item, 'id', `${route}: candidates[${i}]`, true)!;
    if (seen.has(id)) throw new HttpError(400, 'duplicate_candidate', `${route}: candidates[${i}].id "${id}" appears twice; candidate ids must be unique`);
    seen.add(id);
    if (item.features === undefined) throw new HttpError(400, 'missing_field', `${route}: candidates[${i}].features is required`);
    return { id, features: item.features };
  });
  return { model, unitId, candidates };
}

export interface FeedbackRequest {
  model: string | null;
  requestId: string | null;
  unitId: string | null;
  event: string;
  value: number | null;
  itemId: string | null;
}

export function parseFeedbackBody(raw: unknown): FeedbackRequest {
  const route = 'POST /feedback';
  const body = requireObjectBody(raw, route);
  rejectUnknownFields(body, ['model', 'requestId', 'unitId', 'event', 'value', 'itemId'], route);
  const requestId = idField(body, 'requestId', route, false);
  const unitId = idField(body, 'unitId', route, false);
  if (!requestId && !unitId) throw new HttpError(400, 'missing_field', `${route}: give "requestId" (from the prediction's response) or "unitId" so the outcome can be joined to predictions`);
  const model = idField(body, 'model', route, false);
  if (!requestId && !model) throw new HttpError(400, 'missing_field', `${route}: "model" is required when only "unitId" is given`);
  const event = idField(body, 'event', route, true)!;
  let value: number | null = null;
  if (body.value !== undefined && body.value !== null) {
    if (typeof body.value !== 'number' || !Number.isFinite(body.value)) throw new HttpError(400, 'invalid_field', `${route}: "value" must be a finite number, got ${describe(body.value)}`);
    value = body.value;
  }
  const itemId = idField(body, 'itemId', route, false);
  return { model, requestId, unitId, event, value, itemId };
}
