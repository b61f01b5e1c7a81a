// The prediction server's JSON body parser. Fastify's default one answers every parse failure with
// the same "Body is not valid JSON" and drops the parser's own message; this one keeps it (Node's
// JSON.parse gives the position or quotes the text around the bad token) and refuses the keys that
// pollute prototypes (`__proto__`, `constructor.prototype`) with a message that says so, since such
// a body is valid JSON.
import { HttpError } from './request-validation';

function refuseForbiddenKeys(this: unknown, key: string, value: unknown): unknown {
  if (key === '__proto__' || (key === 'constructor' && value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, 'prototype'))) {
    throw new HttpError(400, 'forbidden_key', 'the body has a "__proto__" or "constructor.prototype" key, which the server refuses (prototype pollution); remove it');
  }
  return value;
}

/** Parses a request body; every failure is a 400 HttpError with a code and a message a caller can act on. */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw new HttpError(400, 'empty_body', 'Content-Type is application/json but the body is empty; send a JSON object');
  try {
    return JSON.parse(text, refuseForbiddenKeys);
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(400, 'malformed_json', `the body is not valid JSON: ${(error as Error).message}`);
  }
}
