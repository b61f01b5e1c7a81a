// Runs the prediction server as a process until SIGINT/SIGTERM, then finishes in-flight requests
// and writes every queued log row before exiting. Settings come from the environment (DATABASE_URL,
// FLYWHEEL_ARTIFACT_ROOT, like the worker) and the options; `flywheel serve` and the benchmark use it.
import { loadConfig } from '../infra/config';
import { openLineageDb } from '../lineage/db';
import { openArtifactStore } from '../storage/artifact-store';
import { parseRateLimit, type RateLimitSettings } from './rate-limit';
import { startPredictionServer, type LogSettings } from './server';

export interface ServeOptions {
  host?: string;
  port?: number;
  /** postgres:// URL; default DATABASE_URL; unset → embedded PGlite (routing changes then apply on the periodic re-read only). */
  databaseUrl?: string;
  artifactRoot?: string;
  bodyLimit?: number;
  refreshMs?: number;
  log?: LogSettings;
  /** Per-client rate limit on POST routes; default FLYWHEEL_SERVE_RATE_LIMIT ("<per second>[/<burst>]" or "off"), else DEFAULT_RATE_LIMIT (20,000/s, bursts of 40,000). */
  rateLimit?: RateLimitSettings | false;
  /** Called once the server listens, with its URL. */
  onListening?: (url: string) => void;
  /** Resolves to stop the server; default: the first SIGINT or SIGTERM. */
  until?: Promise<unknown>;
  say?: (line: string) => void;
}

export async function runPredictionServer(options: ServeOptions = {}): Promise<void> {
  const say = options.say ?? ((line: string) => console.error(line));
  const config = loadConfig();
  const databaseUrl = options.databaseUrl ?? config.databaseUrl;
  // Small pool: logging is batched, routing reads are rare; the rest of the connections stay free.
  const lineage = await openLineageDb({ url: databaseUrl, poolSize: 4 });
  const store = openArtifactStore(options.artifactRoot ?? config.artifactRoot);
  try {
    const server = await startPredictionServer({
      db: lineage.db,
      readArtifact: (uri) => store.get(uri),
      listenUrl: databaseUrl,
      host: options.host,
      port: options.port,
      bodyLimit: options.bodyLimit,
      refreshMs: options.refreshMs,
      log: options.log,
      rateLimit: options.rateLimit ?? parseRateLimit(process.env.FLYWHEEL_SERVE_RATE_LIMIT),
      defaultMetrics: true,
    });
    say(`flywheel prediction server on ${server.url}; lineage ${lineage.location}; artifacts ${store.rootUri}${databaseUrl ? '' : ' (PGlite: routing changes apply on the periodic re-read)'}`);
    options.onListening?.(server.url);
    await (options.until ??
      new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      }));
    const left = await server.close(30_000);
    say(left ? `stopped with ${left} log rows unwritten (the database did not come back in time)` : 'stopped; every logged row written');
  } finally {
    await lineage.close();
  }
}

// `node --import tsx serving/main.ts`: prints {"url": ...} on stdout once listening (the benchmark reads it).
if (require.main === module) {
  runPredictionServer({
    host: process.env.FLYWHEEL_SERVE_HOST,
    port: process.env.FLYWHEEL_SERVE_PORT ? Number(process.env.FLYWHEEL_SERVE_PORT) : 8080,
    onListening: (url) => console.log(JSON.stringify({ url })),
  }).catch((error) => {
    console.error(`flywheel serve: ${(error as Error).message}`);
    process.exit(1);
  });
}
