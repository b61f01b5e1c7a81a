// Database reachability for /healthz: a cheap probe on a timer, so health checks answer at once
// from the last result instead of each opening a connection, and recovery is noticed by itself.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../lineage/schema';

export interface DbHealthState {
  reachable: boolean;
  checkedAt: string | null;
  error: string | null;
  /** When the database was last seen reachable. */
  lastOkAt: string | null;
}

export class DbHealth {
  private state: DbHealthState = { reachable: false, checkedAt: null, error: 'not probed yet', lastOkAt: null };
  private timer: NodeJS.Timeout | null = null;
  private probing = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: { intervalMs?: number; timeoutMs?: number; onChange?: (reachable: boolean) => void } = {},
  ) {}

  async start(): Promise<void> {
    await this.probe();
    this.timer = setInterval(() => void this.probe(), this.options.intervalMs ?? 1_000);
    this.timer.unref();
  }

  get current(): DbHealthState {
    return this.state;
  }

  async probe(): Promise<DbHealthState> {
    if (this.probing) return this.state;
    this.probing = true;
    const timeoutMs = this.options.timeoutMs ?? 2_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        sql`select 1`.execute(this.db),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      this.update({ reachable: true, error: null });
    } catch (error) {
      this.update({ reachable: false, error: (error as Error).message });
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
    return this.state;
  }

  private update(next: { reachable: boolean; error: string | null }): void {
    const now = new Date().toISOString();
    const changed = next.reachable !== this.state.reachable;
    this.state = { ...next, checkedAt: now, lastOkAt: next.reachable ? now : this.state.lastOkAt };
    if (changed) this.options.onChange?.(next.reachable);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
