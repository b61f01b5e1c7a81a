// Error types shared by every artifact store backend, so callers can branch on "missing" without
// knowing whether the bytes live on disk or in GCS.

/** Base class: every error the stores raise on purpose. `uri` names the object when there is one. */
export class ArtifactStoreError extends Error {
  readonly uri?: string;
  /** HTTP status of the last backend response, when the backend speaks HTTP. */
  readonly status?: number;

  constructor(message: string, options: { uri?: string; status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ArtifactStoreError';
    this.uri = options.uri;
    this.status = options.status;
  }
}

/** The object does not exist. Never retried: a missing artifact will not appear by waiting. */
export class ArtifactNotFoundError extends ArtifactStoreError {
  declare readonly uri: string;

  constructor(uri: string, options: { cause?: unknown } = {}) {
    super(`artifact not found: ${uri}`, { uri, status: 404, cause: options.cause });
    this.name = 'ArtifactNotFoundError';
  }
}

/**
 * Waiting will not fix it: the object is missing, or the backend refused the request itself (HTTP
 * 4xx other than 408 and 429: permissions, a missing bucket, a bad request). Transient failures
 * (5xx, timeouts, dropped connections) that outlasted the store's own retries are not permanent.
 */
export function isPermanentStoreError(error: unknown): error is ArtifactStoreError {
  if (!(error instanceof ArtifactStoreError)) return false;
  if (error instanceof ArtifactNotFoundError) return true;
  const status = error.status;
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}
