// Our own retry loop for remote storage calls: exponential backoff with jitter, transient errors
// only. Owning it (instead of the GCS client's autoRetry) keeps the policy visible and testable.

export interface RetryInfo {
  /** The attempt that just failed, 1-based. */
  attempt: number;
  /** How long we wait before the next attempt. */
  delayMs: number;
  error: unknown;
}

export interface RetryOptions {
  /** Total attempts including the first. Default 5. */
  maxAttempts?: number;
  /** Backoff ceiling before jitter for the first retry. Default 100 ms. */
  initialDelayMs?: number;
  /** Backoff ceiling never exceeds this. Default 5000 ms. */
  maxDelayMs?: number;
  /** Called before each wait; handy for logs and tests. */
  onRetry?: (info: RetryInfo) => void;
  /** Injected by tests so they do not wait in real time. */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1); injected by tests for exact delays. */
  random?: () => number;
  /** Which errors are worth another attempt. Default: isTransientError. */
  isRetryable?: (error: unknown) => boolean;
}

export const RETRY_DEFAULTS = { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 5000 } as const;

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/** The HTTP status carried by an error from the GCS client (ApiError.code), gaxios or fetch. */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { code?: unknown; status?: unknown; statusCode?: unknown; response?: { status?: unknown } };
  for (const candidate of [e.status, e.statusCode, e.code, e.response?.status]) {
    if (typeof candidate === 'number' && candidate >= 100 && candidate < 600) return candidate;
    if (typeof candidate === 'string' && /^[1-5]\d\d$/.test(candidate)) return Number(candidate);
  }
  return undefined;
}

/**
 * HTTP 408/429/5xx and dropped connections. ECONNREFUSED is deliberately not here: it nearly
 * always means a wrong endpoint or a server that is not running, and waiting will not fix that.
 */
export function isTransientError(error: unknown): boolean {
  const status = httpStatusOf(error);
  if (status !== undefined) return status === 408 || status === 429 || status >= 500;
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const { code, message, cause, type, name } = e as { code?: unknown; message?: unknown; cause?: unknown; type?: unknown; name?: unknown };
    if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
    // A request that timed out: node-fetch (under the GCS client) raises FetchError type
    // "request-timeout" ("network timeout at: …") with no code; fetch/AbortSignal.timeout a TimeoutError.
    if (type === 'request-timeout' || name === 'TimeoutError') return true;
    if (typeof message === 'string' && /socket hang up|ECONNRESET|ETIMEDOUT|network timeout/i.test(message)) return true;
    e = cause;
  }
  return false;
}

/**
 * Equal jitter: half the exponential ceiling is fixed and half random, so consecutive delays
 * never shrink until the cap while concurrent clients still spread out.
 */
export function backoffDelayMs(attempt: number, options: RetryOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialDelayMs ?? RETRY_DEFAULTS.initialDelayMs;
  const max = options.maxDelayMs ?? RETRY_DEFAULTS.maxDelayMs;
  const ceiling = Math.min(max, initial * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs fn until it succeeds, a non-retryable error occurs, or maxAttempts is spent; rethrows the last error as is. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? RETRY_DEFAULTS.maxAttempts));
  const isRetryable = options.isRetryable ?? isTransientError;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= maxAttempts || !isRetryable(error)) throw error;
      const delayMs = backoffDelayMs(attempt, options, random);
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs);
    }
  }
}
