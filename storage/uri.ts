// Parsing artifact URIs and validating object keys. Keys end up as file paths and GCS object
// names, so anything that could escape the store's root is refused here, once, for both backends.
import { fileURLToPath } from 'node:url';
import { ArtifactStoreError } from './errors';

export type ParsedArtifactUri = { scheme: 'file'; path: string } | { scheme: 'gs'; bucket: string; name: string };

const SUPPORTED = 'supported: file:///absolute/path, gs://bucket/path';
// GCS bucket naming rules (lower case, digits, dots, dashes, underscores; 3-222 chars).
const BUCKET_RE = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

export function parseArtifactUri(uri: string): ParsedArtifactUri {
  if (typeof uri !== 'string' || uri.length === 0) {
    throw new ArtifactStoreError(`artifact URI must be a non-empty string (${SUPPORTED})`);
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    throw new ArtifactStoreError(`not an artifact URI: ${JSON.stringify(uri)} has no scheme (${SUPPORTED})`, { uri });
  }
  if (scheme === 'file') return parseFileUri(uri);
  if (scheme === 'gs') return parseGsUri(uri);
  throw new ArtifactStoreError(`unsupported artifact URI scheme "${scheme}:" in ${JSON.stringify(uri)} (${SUPPORTED})`, { uri });
}

function parseFileUri(uri: string): ParsedArtifactUri {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ArtifactStoreError(`malformed file URI ${JSON.stringify(uri)}`, { uri });
  }
  // A host would mean a network share; "file://data/x" is also the usual typo for a relative path.
  if (url.hostname !== '' && url.hostname !== 'localhost') {
    throw new ArtifactStoreError(
      `file URI ${JSON.stringify(uri)} names host "${url.hostname}"; use an absolute path with three slashes, e.g. file:///abs/dir`,
      { uri },
    );
  }
  if (url.search || url.hash) {
    throw new ArtifactStoreError(`file URI ${JSON.stringify(uri)} must not have a query or fragment (percent-encode "?" and "#")`, { uri });
  }
  return { scheme: 'file', path: fileURLToPath(url) };
}

function parseGsUri(uri: string): ParsedArtifactUri {
  // Object names are kept raw (no percent-decoding), as gsutil and the console print them.
  const m = /^gs:\/\/([^/]*)(?:\/(.*))?$/s.exec(uri);
  const bucket = m?.[1] ?? '';
  if (!BUCKET_RE.test(bucket)) {
    throw new ArtifactStoreError(`malformed gs URI ${JSON.stringify(uri)}: expected gs://bucket/path with a valid bucket name`, { uri });
  }
  return { scheme: 'gs', bucket, name: m?.[2] ?? '' };
}

function keyError(key: string, why: string): ArtifactStoreError {
  return new ArtifactStoreError(`invalid artifact key ${JSON.stringify(key)}: ${why}`);
}

function checkSegments(original: string, segments: string[], allowEmptyLast: boolean): void {
  segments.forEach((segment, i) => {
    if (segment === '..' || segment === '.') throw keyError(original, 'must not contain "." or ".." path segments');
    if (segment === '' && !(allowEmptyLast && i === segments.length - 1)) {
      throw keyError(original, 'must not contain empty path segments ("//") or end with "/"');
    }
  });
}

function checkCommon(key: string): void {
  if (key.startsWith('/')) throw keyError(key, 'must be relative to the store root (no leading "/")');
  // Backslashes become separators on Windows and control characters break listings and logs.
  if (/[\\\u0000-\u001f\u007f]/.test(key)) throw keyError(key, 'must not contain backslashes or control characters');
}

/** A relative object key such as "models/ctr/v1/model.onnx". Returns it unchanged when valid. */
export function validateKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw keyError(String(key), 'must be a non-empty relative path');
  checkCommon(key);
  checkSegments(key, key.split('/'), false);
  return key;
}

/** A listing prefix: "" (everything), "models/", or a partial name such as "models/ctr/v". */
export function validatePrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw keyError(String(prefix), 'list prefix must be a string');
  if (prefix === '') return prefix;
  checkCommon(prefix);
  checkSegments(prefix, prefix.split('/'), true);
  return prefix;
}
