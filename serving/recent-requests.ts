// A bounded memory of recent requests, so feedback can be attributed (model, unit, the ranked
// item list) without a database round trip; older requests are looked up in prediction_log.

export interface RecentRequest {
  model: string;
  unitId: string | null;
  kind: 'predict' | 'rank';
  /** Ranking requests: the item id shown at each position. */
  items?: readonly string[];
}

export class RecentRequests {
  private readonly entries = new Map<string, RecentRequest>();

  constructor(private readonly capacity = 100_000) {}

  set(requestId: string, entry: RecentRequest): void {
    this.entries.set(requestId, entry);
    // Map iteration is insertion order, so the first key is the oldest.
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  get(requestId: string): RecentRequest | undefined {
    return this.entries.get(requestId);
  }

  get size(): number {
    return this.entries.size;
  }
}
