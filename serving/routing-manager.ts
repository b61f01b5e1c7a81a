// Keeps the server's routing tables in step with Postgres: reads them at start, re-reads a model
// when a NOTIFY on the routing channel says its revision moved, and re-reads everything
// periodically as a safety net (a lost notification, a listener reconnecting). A new table is
// swapped in only after every version it names is loaded, in one assignment, so a request sees
// either the old table or the new one and never a half-loaded version.
import type { Kysely } from 'kysely';
import pg from 'pg';
import { readActiveRouting, ROUTING_CHANNEL } from '../lineage/routing';
import type { Database } from '../lineage/schema';
import type { ModelPool } from './model-pool';
import { versionsOf, type ModelRouting } from './routing-table';
import type { FeatureKind, ServingModel } from './serving-model';

/** What the server needs to answer for one model: its routes, their loaded versions, the accepted features. */
export interface ModelEntry {
  routing: ModelRouting;
  models: ReadonlyMap<string, ServingModel>;
  /** Union of the routed versions' features: a request must carry exactly these. */
  contract: ReadonlyMap<string, FeatureKind>;
}

export type ReloadTrigger = 'start' | 'notify' | 'periodic' | 'listener' | 'manual';

export interface RoutingEvents {
  reloaded?(trigger: ReloadTrigger, changed: string[]): void;
  loadFailed?(model: string, error: Error): void;
  reloadFailed?(trigger: ReloadTrigger, error: Error): void;
  listener?(state: 'connected' | 'lost'): void;
}

export interface RoutingManagerOptions {
  db: Kysely<Database>;
  pool: ModelPool;
  /** postgres:// URL to LISTEN on; without it only the periodic re-read applies changes (PGlite). */
  listenUrl?: string;
  /** Safety-net re-read interval; default 5 s. */
  refreshMs?: number;
  events?: RoutingEvents;
}

function contractOf(models: Iterable<ServingModel>, champion: string | null): Map<string, FeatureKind> {
  const contract = new Map<string, FeatureKind>();
  // The champion's kinds win a conflict (a feature numeric in one version, categorical in another).
  const ordered = [...models].sort((a, b) => (a.versionId === champion ? -1 : b.versionId === champion ? 1 : 0));
  for (const model of ordered) for (const [name, kind] of model.features()) if (!contract.has(name)) contract.set(name, kind);
  return contract;
}

export class RoutingManager {
  private entries = new Map<string, ModelEntry>();
  private known = new Set<string>();
  private running: Promise<void> | null = null;
  private again: ReloadTrigger | null = null;
  private timer: NodeJS.Timeout | null = null;
  private listener: pg.Client | null = null;
  private listenerRetry: NodeJS.Timeout | null = null;
  private listenerBackoffMs = 250;
  private stopped = false;
  lastReloadAt: Date | null = null;
  lastError: string | null = null;
  listening = false;

  constructor(private readonly options: RoutingManagerOptions) {}

  /** Loads every model's table (retrying until `timeoutMs`), then follows changes. */
  async start(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.reloadNow('start');
        break;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`prediction server: cannot read the routing table: ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    this.timer = setInterval(() => void this.reload('periodic').catch(() => {}), this.options.refreshMs ?? 5_000);
    this.timer.unref();
    if (this.options.listenUrl) void this.connectListener();
  }

  get(model: string): ModelEntry | undefined {
    return this.entries.get(model);
  }

  isKnown(model: string): boolean {
    return this.known.has(model);
  }

  knownModels(): string[] {
    return [...this.known].sort();
  }

  snapshot(): ReadonlyMap<string, ModelEntry> {
    return this.entries;
  }

  /** Re-reads the table; calls made while one runs are coalesced into a single follow-up run. */
  reload(trigger: ReloadTrigger): Promise<void> {
    if (this.running) {
      this.again = trigger;
      return this.running;
    }
    this.running = (async () => {
      try {
        await this.reloadNow(trigger);
      } catch (error) {
        this.lastError = (error as Error).message;
        this.options.events?.reloadFailed?.(trigger, error as Error);
      } finally {
        this.running = null;
      }
      const next = this.again;
      this.again = null;
      if (next && !this.stopped) await this.reload(next);
    })();
    return this.running;
  }

  private async reloadNow(trigger: ReloadTrigger): Promise<void> {
    const tables = await readActiveRouting(this.options.db);
    const next = new Map<string, ModelEntry>();
    const changed: string[] = [];
    await Promise.all(
      [...tables.values()].map(async (routing) => {
        const current = this.entries.get(routing.model);
        if (current && current.routing.revision === routing.revision) {
          next.set(routing.model, current);
          return;
        }
        try {
          const loaded = await Promise.all(versionsOf(routing).map((v) => this.options.pool.get(v)));
          const models = new Map(loaded.map((m) => [m.versionId, m]));
          next.set(routing.model, { routing, models, contract: contractOf(models.values(), routing.champion?.versionId ?? null) });
          changed.push(routing.model);
        } catch (error) {
          // Keep serving the previous table; the next notify or periodic re-read retries the load.
          if (current) next.set(routing.model, current);
          this.options.events?.loadFailed?.(routing.model, error as Error);
        }
      }),
    );
    if (this.stopped) return;
    // The swap: one assignment. In-flight requests keep the entry (and version references) they took.
    this.entries = next;
    this.known = new Set(tables.keys());
    const routed = new Set<string>();
    for (const entry of next.values()) for (const id of entry.models.keys()) routed.add(id);
    this.options.pool.retireExcept(routed);
    this.lastReloadAt = new Date();
    this.lastError = null;
    this.options.events?.reloaded?.(trigger, changed);
  }

  private async connectListener(): Promise<void> {
    if (this.stopped || !this.options.listenUrl) return;
    const client = new pg.Client({ connectionString: this.options.listenUrl, connectionTimeoutMillis: 5_000, keepAlive: true });
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      this.listening = false;
      this.listener = null;
      client.end().catch(() => {});
      this.options.events?.listener?.('lost');
      if (this.stopped) return;
      // Reconnect with capped backoff; the re-read after connecting picks up anything missed meanwhile.
      this.listenerRetry = setTimeout(() => void this.connectListener(), this.listenerBackoffMs);
      this.listenerRetry.unref();
      this.listenerBackoffMs = Math.min(this.listenerBackoffMs * 2, 5_000);
    };
    client.on('error', onLost);
    client.on('end', onLost);
    client.on('notification', (message) => {
      if (message.channel === ROUTING_CHANNEL) void this.reload('notify');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${ROUTING_CHANNEL}`);
    } catch {
      onLost();
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.listener = client;
    this.listening = true;
    this.listenerBackoffMs = 250;
    this.options.events?.listener?.('connected');
    void this.reload('listener');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.listenerRetry) clearTimeout(this.listenerRetry);
    const listener = this.listener;
    this.listener = null;
    if (listener) await listener.end().catch(() => {});
    await this.running?.catch(() => {});
    this.entries = new Map();
    this.options.pool.retireAll();
  }
}
