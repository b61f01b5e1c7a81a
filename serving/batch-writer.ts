// A bounded queue that writes rows to Postgres in batches (every flushMs, or at once when a batch
// is full) off the request path. A row the server acknowledged is never dropped on a database
// failure: the batch stays at the head of the queue and is retried with capped backoff. The queue
// is capped; when full, offer() says no and the caller refuses the request (503) instead of
// acknowledging a row it could lose. Only a row the database rejects as invalid is ever dropped
// (after bisecting the batch down to it), and counted.

export interface BatchWriterEvents {
  written?(rows: number, ms: number): void;
  failed?(error: Error, rows: number): void;
  poisoned?(error: Error): void;
  depth?(rows: number): void;
}

export interface BatchWriterOptions<T> {
  name: string;
  write(rows: T[]): Promise<unknown>;
  /** Flush when this many rows are queued; default 500. */
  maxBatch?: number;
  /** Flush at least this often; default 100 ms. */
  flushMs?: number;
  /** Queue cap; default 100,000 rows. */
  maxQueued?: number;
  /** Retry backoff after a failed flush: starts here and doubles up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
  /** Errors that retrying cannot fix (bad data rather than a bad connection). */
  isPermanent?(error: unknown): boolean;
  events?: BatchWriterEvents;
}

/** pg SQLSTATE classes 22 (data exception) and 23 (integrity violation) describe the rows, not the connection. */
export function isDataError(error: unknown): boolean {
  const e = error as { name?: string; code?: unknown };
  if (e?.name === 'ProductionLogError') return true;
  return typeof e?.code === 'string' && /^2[23]/.test(e.code);
}

export class BatchWriter<T> {
  private queue: T[] = [];
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private backoffUntil = 0;
  private backoffMs: number;
  private closed = false;
  readonly maxQueued: number;
  private readonly maxBatch: number;
  writtenRows = 0;
  failures = 0;
  poisonedRows = 0;
  lastError: string | null = null;

  constructor(private readonly options: BatchWriterOptions<T>) {
    this.maxQueued = options.maxQueued ?? 100_000;
    this.maxBatch = options.maxBatch ?? 500;
    this.backoffMs = options.retryMs ?? 100;
    this.timer = setInterval(() => this.kick(), options.flushMs ?? 100);
    this.timer.unref();
  }

  get depth(): number {
    return this.queue.length;
  }

  /** Room for n more rows? */
  hasRoom(n = 1): boolean {
    return !this.closed && this.queue.length + n <= this.maxQueued;
  }

  /** Queues rows; false (nothing queued) when the queue cannot take them all. */
  offer(...rows: T[]): boolean {
    if (!this.hasRoom(rows.length)) return false;
    for (const row of rows) this.queue.push(row);
    this.options.events?.depth?.(this.queue.length);
    if (this.queue.length >= this.maxBatch) setImmediate(() => this.kick());
    return true;
  }

  private kick(): void {
    if (this.flushing || this.queue.length === 0 || Date.now() < this.backoffUntil) return;
    this.flushing = this.flushOnce().finally(() => {
      this.flushing = null;
      if (this.queue.length >= this.maxBatch && Date.now() >= this.backoffUntil) setImmediate(() => this.kick());
    });
  }

  private async flushOnce(): Promise<void> {
    const batch = this.queue.slice(0, this.maxBatch);
    const started = performance.now();
    try {
      await this.writeBisecting(batch);
      // Only now leave the queue: a crash or error before this point keeps the rows queued.
      this.queue.splice(0, batch.length);
      this.writtenRows += batch.length;
      this.backoffMs = this.options.retryMs ?? 100;
      this.backoffUntil = 0;
      this.options.events?.written?.(batch.length, performance.now() - started);
    } catch (error) {
      this.failures++;
      this.lastError = (error as Error).message;
      this.backoffUntil = Date.now() + this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxRetryMs ?? 2_000);
      this.options.events?.failed?.(error as Error, batch.length);
    }
    this.options.events?.depth?.(this.queue.length);
  }

  // A data error in a batch is narrowed to the offending row by halving, so one bad row cannot
  // block (or take down) the rows around it. Transient errors propagate and the batch is retried.
  private async writeBisecting(rows: T[]): Promise<void> {
    try {
      await this.options.write(rows);
    } catch (error) {
      const permanent = (this.options.isPermanent ?? isDataError)(error);
      if (!permanent) throw error;
      if (rows.length === 1) {
        this.poisonedRows++;
        this.options.events?.poisoned?.(error as Error);
        return;
      }
      const mid = rows.length >> 1;
      await this.writeBisecting(rows.slice(0, mid));
      await this.writeBisecting(rows.slice(mid));
    }
  }

  /** Writes everything queued now (retrying through failures) or gives up at the deadline; returns rows left. */
  async drain(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0 && Date.now() < deadline) {
      if (this.flushing) await this.flushing;
      else if (Date.now() < this.backoffUntil) await new Promise((r) => setTimeout(r, Math.min(50, this.backoffUntil - Date.now())));
      else this.kick();
    }
    if (this.flushing) await this.flushing;
    return this.queue.length;
  }

  /** Stops taking rows, drains, and stops the timer; returns rows that could not be written. */
  async close(timeoutMs = 10_000): Promise<number> {
    this.closed = true;
    const left = await this.drain(timeoutMs);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return left;
  }
}
