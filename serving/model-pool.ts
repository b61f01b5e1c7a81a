// Loads model versions once and shares them across routing tables: a version id names immutable
// bytes, so the cache key is the version id. Concurrent loads of one version are deduplicated.
import { ServingModel } from './serving-model';
import type { RoutedVersion } from './routing-table';

export type ArtifactReader = (uri: string) => Promise<Uint8Array>;

export class ModelPool {
  private readonly loaded = new Map<string, ServingModel>();
  private readonly loading = new Map<string, Promise<ServingModel>>();

  constructor(private readonly read: ArtifactReader) {}

  /** The version, loading it first if needed; rejects with the reason when its artifact cannot be served. */
  async get(version: RoutedVersion): Promise<ServingModel> {
    const ready = this.loaded.get(version.versionId);
    if (ready) return ready;
    let pending = this.loading.get(version.versionId);
    if (!pending) {
      pending = (async () => {
        const bytes = await this.read(version.artifactUri);
        const model = await ServingModel.load(version.versionId, bytes);
        this.loaded.set(version.versionId, model);
        return model;
      })().finally(() => this.loading.delete(version.versionId));
      this.loading.set(version.versionId, pending);
    }
    return pending;
  }

  /** Retires every loaded version not in `keep` (each is freed once its in-flight requests finish). */
  retireExcept(keep: ReadonlySet<string>): string[] {
    const retired: string[] = [];
    for (const [id, model] of this.loaded) {
      if (keep.has(id)) continue;
      this.loaded.delete(id);
      model.retire();
      retired.push(id);
    }
    return retired;
  }

  get size(): number {
    return this.loaded.size;
  }

  retireAll(): void {
    this.retireExcept(new Set());
  }
}
