// Request validation: each refusal names the field, what was wrong and what is expected.
import { describe, expect, it } from 'vitest';
import { checkFeatures, HttpError, parseFeedbackBody, parsePredictBody, parseRankBody } from '../../serving/request-validation';
import type { FeatureKind } from '../../serving/serving-model';

const contract = new Map<string, FeatureKind>([
  ['age', 'numeric'],
  ['plan', 'categorical'],
]);

function refusal(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('request validation', () => {
  it('accepts exact features; null is a missing categorical value', () => {
    expect(checkFeatures({ age: 3, plan: 'pro' }, contract, 'm')).toEqual({ age: 3, plan: 'pro' });
    expect(checkFeatures({ age: 3, plan: null }, contract, 'm')).toEqual({ age: 3, plan: null });
  });

  it('names missing, unexpected and mistyped features together', () => {
    const e = refusal(() => checkFeatures({ age: 'old', colour: 'red' }, contract, 'm'));
    expect(e.statusCode).toBe(400);
    expect(e.message).toBe('features: missing plan; unexpected colour; features.age must be a finite number, got the string "old" — model "m" takes age, plan (categorical)');
    expect(e.details).toMatchObject({ missing: ['plan'], unexpected: ['colour'] });
    expect(refusal(() => checkFeatures({ age: Infinity, plan: 3 }, contract, 'm')).message).toMatch(/features\.age must be a finite number, got Infinity; features\.plan must be a string \(or null when missing\), got the number 3/);
  });

  it('checks the envelope of each route', () => {
    expect(parsePredictBody({ model: 'm', features: {} })).toEqual({ model: 'm', unitId: null, features: {} });
    expect(refusal(() => parsePredictBody(null)).message).toMatch(/the body must be a JSON object \(got null\)/);
    expect(refusal(() => parsePredictBody({ model: '', features: {} })).message).toMatch(/"model" must be a non-empty string/);
    expect(refusal(() => parsePredictBody({ model: 'm', unitId: 'x'.repeat(201), features: {} })).message).toMatch(/at most 200 characters/);
    expect(refusal(() => parseRankBody({ model: 'm', candidates: [] }, 10)).message).toMatch(/"candidates" must be an array of 1 to 10/);
    expect(refusal(() => parseRankBody({ model: 'm', candidates: [{ id: 'a', features: {}, score: 1 }] }, 10)).message).toMatch(/candidates\[0\] has unknown field "score"/);
    expect(parseFeedbackBody({ requestId: 'r', event: 'click' })).toMatchObject({ requestId: 'r', event: 'click', value: null, model: null });
    expect(refusal(() => parseFeedbackBody({ event: 'click' })).message).toMatch(/give "requestId" .* or "unitId"/);
    expect(refusal(() => parseFeedbackBody({ requestId: 'r', event: 'click', value: '1' })).message).toMatch(/"value" must be a finite number, got the string "1"/);
  });
});
