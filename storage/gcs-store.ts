// gs:// backend through @google-cloud/storage, for real GCS and for gcp-storage-emulator.
//
// What we found running @google-cloud/storage 7.22 against gcp-storage-emulator (PyPI, 2026.7):
// - Both upload kinds work; we use `resumable: false` (one multipart POST) because artifacts are
//   small enough that a resumable session only adds a round trip and a second code path. CRC32C/MD5
//   validation works both ways (the emulator returns crc32c/md5Hash and the x-goog-hash header),
//   so `validation` stays on.
// - The emulator ignores preconditions (ifGenerationMatch=0 overwrites an existing object), so
//   `ifAbsent` also checks existence first; on real GCS the precondition makes it race-free.
// - The library builds its JSON API base URL from STORAGE_EMULATOR_HOST *verbatim* at construction
//   whenever that variable is set, even when an explicit apiEndpoint is passed; we hide the variable
//   while constructing so one endpoint wins, and add "http://" to a bare host:port (emulators are
//   plain HTTP; the library would assume https).
// - `retryOptions.maxRetries: 0` is silently replaced by the default 3 (falsy check), so the
//   library's retries are switched off with `autoRetry: false` and a retryableErrorFn that says no.
// - The emulator's list ignores maxResults/pageToken and returns everything in one page; we still
//   paginate for real GCS.
import { Storage, type Bucket } from '@google-cloud/storage';
import type { ArtifactStore, PutOptions } from './artifact-store';
import { ArtifactNotFoundError, ArtifactStoreError } from './errors';
import { httpStatusOf, isTransientError, withRetry, type RetryOptions } from './retry';
import { parseArtifactUri, validateKey, validatePrefix } from './uri';

export interface GcsOptions {
  /** e.g. http://127.0.0.1:9023; wins over STORAGE_EMULATOR_HOST. Omitted: that variable, else real GCS. */
  apiEndpoint?: string;
  /** Default "flywheel-local"; object operations do not depend on it. */
  projectId?: string;
  /** Per HTTP request, in ms. Default 60000. */
  timeoutMs?: number;
}

export const DEFAULT_GCS_PROJECT_ID = 'flywheel-local';

function normalizeEndpoint(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  return withScheme.replace(/\/+$/, '');
}

export function createGcsClient(options: GcsOptions = {}): Storage {
  const endpoint = normalizeEndpoint(options.apiEndpoint ?? process.env.STORAGE_EMULATOR_HOST);
  const saved = process.env.STORAGE_EMULATOR_HOST;
  delete process.env.STORAGE_EMULATOR_HOST;
  try {
    return new Storage({
      projectId: options.projectId ?? DEFAULT_GCS_PROJECT_ID,
      apiEndpoint: endpoint,
      // Plain-HTTP endpoints are emulators and need no credentials; an https custom endpoint
      // (e.g. Private Service Connect) is real GCS and keeps authenticating.
      useAuthWithCustomEndpoint: endpoint !== undefined && endpoint.startsWith('https:'),
      timeout: options.timeoutMs ?? 60_000,
      retryOptions: { autoRetry: false, retryableErrorFn: () => false },
    });
  } finally {
    if (saved !== undefined) process.env.STORAGE_EMULATOR_HOST = saved;
  }
}

type Op = 'put' | 'get' | 'exists' | 'delete' | 'list';

// Download errors carry the raw JSON error body as their message; show just its text.
function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  try {
    const inner = (JSON.parse(message) as { error?: { message?: unknown } }).error?.message;
    if (typeof inner === 'string' && inner) return inner;
  } catch {
    // Not JSON: already a readable message.
  }
  return message;
}

export class GcsArtifactStore implements ArtifactStore {
  readonly rootUri: string;
  private readonly bucket: Bucket;

  constructor(
    private readonly bucketName: string,
    private readonly prefix: string,
    gcs: GcsOptions = {},
    private readonly retry: RetryOptions = {},
  ) {
    this.prefix = prefix.replace(/\/+$/, '');
    if (this.prefix) validateKey(this.prefix);
    this.rootUri = this.prefix ? `gs://${bucketName}/${this.prefix}` : `gs://${bucketName}`;
    this.bucket = createGcsClient(gcs).bucket(bucketName);
  }

  uriFor(key: string): string {
    return `${this.rootUri}/${validateKey(key)}`;
  }

  async put(key: string, data: Uint8Array | string, opts: PutOptions = {}): Promise<string> {
    const uri = this.uriFor(key);
    const file = this.bucket.file(this.nameFor(key));
    if (opts.ifAbsent && (await this.call('exists', uri, async () => (await file.exists())[0]))) return uri;
    try {
      await this.call('put', uri, () =>
        file.save(typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength), {
          resumable: false,
          contentType: opts.contentType ?? 'application/octet-stream',
          preconditionOpts: opts.ifAbsent ? { ifGenerationMatch: 0 } : undefined,
        }),
      );
    } catch (error) {
      // 412: someone else created it between our check and our write (or our own earlier attempt did).
      if (opts.ifAbsent && error instanceof ArtifactStoreError && error.status === 412) return uri;
      throw error;
    }
    return uri;
  }

  async get(uri: string): Promise<Buffer> {
    const file = this.bucket.file(this.nameOf(uri));
    return this.call('get', uri, async () => (await file.download())[0]);
  }

  async exists(uri: string): Promise<boolean> {
    const file = this.bucket.file(this.nameOf(uri));
    return this.call('exists', uri, async () => (await file.exists())[0]);
  }

  async delete(uri: string): Promise<void> {
    const file = this.bucket.file(this.nameOf(uri));
    await this.call('delete', uri, () => file.delete({ ignoreNotFound: true }));
  }

  async list(prefix: string): Promise<string[]> {
    validatePrefix(prefix);
    const namePrefix = this.prefix ? `${this.prefix}/${prefix}` : prefix;
    const uris: string[] = [];
    let pageToken: string | undefined;
    do {
      const query = { prefix: namePrefix || undefined, autoPaginate: false, maxResults: 1000, pageToken };
      const [files, next] = await this.call('list', `gs://${this.bucketName}/${namePrefix}`, () => this.bucket.getFiles(query));
      // Names ending in "/" are folder placeholders made by the console, not artifacts.
      for (const f of files) if (!f.name.endsWith('/')) uris.push(`gs://${this.bucketName}/${f.name}`);
      pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken;
    } while (pageToken);
    return uris.sort();
  }

  private nameFor(key: string): string {
    return this.prefix ? `${this.prefix}/${validateKey(key)}` : validateKey(key);
  }

  /** Maps a URI back to an object name, refusing anything outside this store's root. */
  private nameOf(uri: string): string {
    const parsed = parseArtifactUri(uri);
    const rootPrefix = this.prefix ? `${this.prefix}/` : '';
    if (parsed.scheme !== 'gs' || parsed.bucket !== this.bucketName || !parsed.name.startsWith(rootPrefix)) {
      throw new ArtifactStoreError(`URI ${uri} is not under this store's root ${this.rootUri}`, { uri });
    }
    validateKey(parsed.name.slice(rootPrefix.length));
    return parsed.name;
  }

  private async call<T>(op: Op, uri: string, fn: () => Promise<T>): Promise<T> {
    const retryable = this.retry.isRetryable ?? isTransientError;
    let attempts = 0;
    try {
      return await withRetry(
        (attempt) => {
          attempts = attempt;
          return fn();
        },
        { ...this.retry, isRetryable: (e) => httpStatusOf(e) !== 404 && retryable(e) },
      );
    } catch (error) {
      throw this.translate(op, uri, error, attempts);
    }
  }

  private translate(op: Op, uri: string, error: unknown, attempts: number): Error {
    if (error instanceof ArtifactStoreError) return error;
    const status = httpStatusOf(error);
    // On get, 404 is the object; on put/list it can only be the bucket, which is a setup problem.
    if (status === 404 && op === 'get') return new ArtifactNotFoundError(uri, { cause: error });
    const reason = status === 404 ? `bucket "${this.bucketName}" not found` : describe(error);
    const http = status === undefined ? '' : ` (HTTP ${status})`;
    const tries = `${attempts} attempt${attempts === 1 ? '' : 's'}`;
    return new ArtifactStoreError(`GCS ${op} of ${uri} failed${http} after ${tries}: ${reason}`, { uri, status, cause: error });
  }
}
