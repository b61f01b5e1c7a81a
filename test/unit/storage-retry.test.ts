// The storage retry wrapper: which errors it retries, how long it waits, and when it gives up.
import { describe, expect, it, vi } from 'vitest';
import { ArtifactNotFoundError } from '../../storage/errors';
import { backoffDelayMs, isTransientError, withRetry, type RetryInfo } from '../../storage/retry';

function httpError(status: number): Error {
  // The shape of @google-cloud/storage's ApiError: the HTTP status lives in .code.
  return Object.assign(new Error(`HTTP ${status}`), { code: status });
}

function netError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

/** fn that throws the given errors in order, then returns "ok". */
function failing(...errors: unknown[]) {
  return vi.fn(async () => {
    const next = errors.shift();
    if (next !== undefined) throw next;
    return 'ok';
  });
}

function recorder() {
  const sleeps: number[] = [];
  const retries: RetryInfo[] = [];
  return {
    sleeps,
    retries,
    options: {
      sleep: async (ms: number) => void sleeps.push(ms),
      onRetry: (info: RetryInfo) => void retries.push(info),
    },
  };
}

describe('withRetry', () => {
  it('retries transient errors with growing delays, then succeeds', async () => {
    const r = recorder();
    const fn = failing(httpError(503), httpError(429), netError('ECONNRESET'), netError('ETIMEDOUT'));
    await expect(withRetry(fn, { ...r.options, maxAttempts: 5 })).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(5);
    expect(r.retries.map((i) => i.attempt)).toEqual([1, 2, 3, 4]);
    expect(r.retries.map((i) => i.delayMs)).toEqual(r.sleeps);
    for (let i = 1; i < r.sleeps.length; i++) expect(r.sleeps[i]).toBeGreaterThanOrEqual(r.sleeps[i - 1]);
    expect(r.sleeps[3]).toBeGreaterThan(r.sleeps[0]);
  });

  it('uses exponential backoff from initialDelayMs, jittered within [ceiling/2, ceiling], capped at maxDelayMs', async () => {
    const low = recorder();
    const high = recorder();
    const errors = () => Array.from({ length: 7 }, () => httpError(500));
    const opts = { maxAttempts: 8, initialDelayMs: 100, maxDelayMs: 1000 };
    await withRetry(failing(...errors()), { ...opts, ...low.options, random: () => 0 });
    await withRetry(failing(...errors()), { ...opts, ...high.options, random: () => 1 });
    expect(low.sleeps).toEqual([50, 100, 200, 400, 500, 500, 500]);
    expect(high.sleeps).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    for (let attempt = 1; attempt <= 5; attempt++) {
      const d = backoffDelayMs(attempt, opts);
      expect(d).toBeGreaterThanOrEqual(Math.min(1000, 100 * 2 ** (attempt - 1)) / 2);
      expect(d).toBeLessThanOrEqual(Math.min(1000, 100 * 2 ** (attempt - 1)));
    }
  });

  it('gives up after maxAttempts and rethrows the last error', async () => {
    const r = recorder();
    const last = httpError(502);
    const fn = failing(httpError(503), netError('ECONNRESET', 'socket hang up'), last);
    await expect(withRetry(fn, { ...r.options, maxAttempts: 3 })).rejects.toBe(last);
    expect(fn).toHaveBeenCalledTimes(3);
    expect(r.sleeps).toHaveLength(2);
  });

  it('defaults to 5 attempts', async () => {
    const r = recorder();
    const fn = vi.fn(async () => {
      throw httpError(503);
    });
    await expect(withRetry(fn, r.options)).rejects.toThrow('HTTP 503');
    expect(fn).toHaveBeenCalledTimes(5);
  });

  it.each([
    ['404', httpError(404)],
    ['403', httpError(403)],
    ['401', httpError(401)],
    ['400', httpError(400)],
    ['ArtifactNotFoundError', new ArtifactNotFoundError('gs://b/x')],
    ['a plain bug', new TypeError('x is undefined')],
    ['ECONNREFUSED', netError('ECONNREFUSED')],
  ])('does not retry %s', async (_name, error) => {
    const r = recorder();
    const fn = failing(error);
    await expect(withRetry(fn, r.options)).rejects.toBe(error);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(r.retries).toEqual([]);
  });

  it('accepts a custom isRetryable', async () => {
    const r = recorder();
    const fn = failing(httpError(404), httpError(404));
    await expect(withRetry(fn, { ...r.options, isRetryable: () => true })).resolves.toBe('ok');
    expect(r.retries).toHaveLength(2);
  });
});

describe('isTransientError', () => {
  it('recognises HTTP and socket failures', () => {
    expect(isTransientError(httpError(500))).toBe(true);
    expect(isTransientError(httpError(503))).toBe(true);
    expect(isTransientError(httpError(429))).toBe(true);
    expect(isTransientError({ response: { status: 502 } })).toBe(true);
    expect(isTransientError(new Error('request to http://x failed, reason: socket hang up'))).toBe(true);
    expect(isTransientError(new Error('fetch failed', { cause: netError('ETIMEDOUT') }))).toBe(true);
    expect(isTransientError(httpError(412))).toBe(false);
    expect(isTransientError('boom')).toBe(false);
    expect(isTransientError(undefined)).toBe(false);
  });
});
