// Workflow histories as text a test can search: every payload (inputs, results, memos, search
// attributes, failure details, heartbeats) decoded from its base64/bytes form to the JSON its
// converter wrote, so "does the password / a feature value appear in Temporal?" is a plain search.
function decodeBytes(value: unknown): string {
  if (typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return String(value);
}

function isPayload(value: unknown): value is { metadata?: Record<string, unknown>; data?: unknown } {
  return typeof value === 'object' && value !== null && 'data' in value && 'metadata' in value;
}

function walk(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(walk);
  if (value instanceof Uint8Array) return decodeBytes(value);
  if (typeof value !== 'object' || value === null) return typeof value === 'bigint' ? String(value) : value;
  if (isPayload(value)) {
    const metadata = Object.fromEntries(Object.entries(value.metadata ?? {}).map(([k, v]) => [k, decodeBytes(v)]));
    return { metadata, data: decodeBytes(value.data) };
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
}

/** The history (or histories) with payloads decoded, as one JSON string. */
export function decodedHistoryText(history: unknown): string {
  return JSON.stringify(walk(history));
}
