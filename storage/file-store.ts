// file:// backend: the embedded default for demos and a newcomer's first run. Writes are atomic
// (temp file + rename in the same directory) so a crashed activity never leaves half an artifact.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ArtifactStore, PutOptions } from './artifact-store';
import { ArtifactNotFoundError, ArtifactStoreError } from './errors';
import { parseArtifactUri, validateKey, validatePrefix } from './uri';

// Temp files start with this so listings can skip the leftovers of a killed process.
const TEMP_MARK = '.flywheel-tmp-';

function isErrno(error: unknown, ...codes: string[]): boolean {
  return typeof error === 'object' && error !== null && codes.includes((error as NodeJS.ErrnoException).code ?? '');
}

// fsync before rename: without it a power cut can leave the renamed file empty on ext4/xfs.
async function writeDurably(file: string, data: Uint8Array | string): Promise<void> {
  const handle = await fs.open(file, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class FileArtifactStore implements ArtifactStore {
  readonly rootUri: string;
  private readonly rootDir: string;

  constructor(rootDir: string) {
    if (!path.isAbsolute(rootDir)) throw new ArtifactStoreError(`file store root must be an absolute path, got ${JSON.stringify(rootDir)}`);
    this.rootDir = path.resolve(rootDir);
    this.rootUri = pathToFileURL(this.rootDir).href.replace(/\/+$/, '');
  }

  uriFor(key: string): string {
    return pathToFileURL(path.join(this.rootDir, validateKey(key))).href;
  }

  async put(key: string, data: Uint8Array | string, opts: PutOptions = {}): Promise<string> {
    // contentType is accepted for interface parity; a plain file has nowhere to keep it.
    const target = path.join(this.rootDir, validateKey(key));
    const uri = pathToFileURL(target).href;
    // Cheap early exit; the link below is what makes ifAbsent safe under races.
    if (opts.ifAbsent && (await this.isFile(target))) return uri;
    const dir = path.dirname(target);
    await fs.mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `${TEMP_MARK}${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}`);
    try {
      await writeDurably(tmp, data);
      if (opts.ifAbsent) await this.linkIfAbsent(tmp, target);
      else await fs.rename(tmp, target);
    } finally {
      await fs.rm(tmp, { force: true });
    }
    return uri;
  }

  // link(2) fails with EEXIST instead of replacing, which makes "create only if absent" atomic
  // even when two workers race; filesystems without hard links fall back to check-then-rename.
  private async linkIfAbsent(tmp: string, target: string): Promise<void> {
    try {
      await fs.link(tmp, target);
    } catch (error) {
      if (isErrno(error, 'EEXIST')) return;
      if (!isErrno(error, 'EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP')) throw error;
      if (await this.isFile(target)) return;
      await fs.rename(tmp, target);
    }
  }

  async get(uri: string): Promise<Buffer> {
    const file = this.pathOf(uri);
    try {
      return await fs.readFile(file);
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'EISDIR', 'ENOTDIR')) throw new ArtifactNotFoundError(uri, { cause: error });
      throw error;
    }
  }

  async exists(uri: string): Promise<boolean> {
    return this.isFile(this.pathOf(uri));
  }

  async delete(uri: string): Promise<void> {
    try {
      await fs.unlink(this.pathOf(uri));
    } catch (error) {
      if (!isErrno(error, 'ENOENT', 'ENOTDIR')) throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    validatePrefix(prefix);
    // Walk only the deepest directory the prefix names; the rest of the prefix filters names,
    // which matches GCS's plain string-prefix semantics ("models/ctr/v" finds "models/ctr/v1/...").
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const keys: string[] = [];
    await this.walk(path.join(this.rootDir, dirPart), dirPart, keys);
    return keys
      .filter((key) => key.startsWith(prefix))
      .map((key) => pathToFileURL(path.join(this.rootDir, key)).href)
      .sort();
  }

  private async walk(dir: string, relDir: string, out: string[]): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return;
      throw error;
    }
    for (const entry of entries) {
      const rel = relDir ? `${relDir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await this.walk(path.join(dir, entry.name), rel, out);
      else if (entry.isFile() && !entry.name.startsWith(TEMP_MARK)) out.push(rel);
    }
  }

  private async isFile(file: string): Promise<boolean> {
    try {
      return (await fs.stat(file)).isFile();
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return false;
      throw error;
    }
  }

  /** Maps a URI back to a path, refusing anything outside this store's root. */
  private pathOf(uri: string): string {
    const parsed = parseArtifactUri(uri);
    if (parsed.scheme !== 'file') {
      throw new ArtifactStoreError(`URI ${uri} is not under this store's root ${this.rootUri}`, { uri });
    }
    const rel = path.relative(this.rootDir, parsed.path);
    if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
      throw new ArtifactStoreError(`URI ${uri} is not under this store's root ${this.rootUri}`, { uri });
    }
    validateKey(rel.split(path.sep).join('/'));
    return parsed.path;
  }
}
