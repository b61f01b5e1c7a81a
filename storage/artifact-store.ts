// The artifact store: one interface over file:// (embedded default) and gs:// (deployments and the
// emulator). Activities write models, datasets and reports through it and pass URIs around.
import { ArtifactStoreError } from './errors';
import { FileArtifactStore } from './file-store';
import { GcsArtifactStore, type GcsOptions } from './gcs-store';
import type { RetryOptions } from './retry';
import { parseArtifactUri } from './uri';

export { ArtifactNotFoundError, ArtifactStoreError, isPermanentStoreError } from './errors';
export { parseArtifactUri, validateKey, validatePrefix, type ParsedArtifactUri } from './uri';
export type { GcsOptions } from './gcs-store';
export type { RetryOptions, RetryInfo } from './retry';

export interface PutOptions {
  contentType?: string;
  /** Do not overwrite an existing object; put then returns the existing object's URI. */
  ifAbsent?: boolean;
}

export interface ArtifactStore {
  /** e.g. file:///abs/dir or gs://bucket/prefix, never with a trailing slash. */
  readonly rootUri: string;
  /** key is relative, e.g. "models/ctr/v1/model.onnx"; "..", "." and a leading "/" are refused. */
  uriFor(key: string): string;
  put(key: string, data: Uint8Array | string, opts?: PutOptions): Promise<string>;
  /** Throws ArtifactNotFoundError for a missing object. */
  get(uri: string): Promise<Buffer>;
  exists(uri: string): Promise<boolean>;
  /** Idempotent: deleting a missing object is not an error. */
  delete(uri: string): Promise<void>;
  /** URIs of the objects whose key starts with prefix ("" = all), sorted. */
  list(prefix: string): Promise<string[]>;
}

export interface OpenArtifactStoreOptions {
  gcs?: GcsOptions;
  /** Applies to gs:// only; local disk errors are not transient. */
  retry?: RetryOptions;
}

export function openArtifactStore(rootUri: string, options: OpenArtifactStoreOptions = {}): ArtifactStore {
  const parsed = parseArtifactUri(rootUri);
  if (parsed.scheme === 'file') return new FileArtifactStore(parsed.path);
  if (parsed.scheme === 'gs') return new GcsArtifactStore(parsed.bucket, parsed.name, options.gcs, options.retry);
  throw new ArtifactStoreError(`unsupported artifact store root ${rootUri}`);
}
