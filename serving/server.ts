// The prediction server: fastify on onnxruntime-node. Wires routing (Postgres table + NOTIFY),
// the batched prediction and outcome logs, shadow scoring, health and metrics to the routes
// POST /predict, POST /rank, POST /feedback, GET /healthz and GET /metrics.
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { appendOutcomes, appendPredictions, type OutcomeRecord, type PredictionRecord } from '../lineage/production-log';
import type { Database } from '../lineage/schema';
import { BatchWriter } from './batch-writer';
import type { ServingContext } from './context';
import { DbHealth } from './db-health';
import { feedbackHandler } from './handlers/feedback';
import { predictHandler } from './handlers/predict';
import { rankHandler } from './handlers/rank';
import { healthHandler, metricsHandler } from './handlers/status';
import { createServingMetrics, type ServingMetrics } from './metrics';
import { ModelPool, type ArtifactReader } from './model-pool';
import { RecentRequests } from './recent-requests';
import { DEFAULT_RATE_LIMIT, RateLimiter, type RateLimitSettings } from './rate-limit';
import { parseJsonBody } from './json-body';
import { HttpError } from './request-validation';
import { RoutingManager } from './routing-manager';
import { ShadowRunner } from './shadow-runner';

export interface LogSettings {
  /** Flush at least this often (ms); default 100. */
  flushMs?: number;
  /** Rows per batch write; default 500. */
  maxBatch?: number;
  /** Queue cap (rows); beyond it requests get 503 rather than an acknowledgement that could be lost. Default 100,000. */
  maxQueued?: number;
  retryMs?: number;
  maxRetryMs?: number;
}

export interface PredictionServerOptions {
  db: Kysely<Database>;
  /** Reads a model artifact (e.g. openArtifactStore(root).get). */
  readArtifact: ArtifactReader;
  /** postgres:// URL to LISTEN for routing changes on; without it only the periodic re-read applies them. */
  listenUrl?: string;
  host?: string;
  /** 0 = any free port. Default 0. */
  port?: number;
  /** Largest accepted body in bytes; default 64 KiB. */
  bodyLimit?: number;
  /** Periodic routing re-read (ms); default 5,000. */
  refreshMs?: number;
  healthIntervalMs?: number;
  log?: LogSettings;
  outcomesLog?: LogSettings;
  maxCandidates?: number;
  shadow?: { maxPending?: number; batchSize?: number };
  recentCapacity?: number;
  /** Process metrics (CPU, heap, event loop lag) in /metrics; default false. */
  defaultMetrics?: boolean;
  /**
   * Per-client request rate limit on POST routes (token bucket per X-API-Key, else per peer
   * address); default DEFAULT_RATE_LIMIT (20,000/s, bursts of 40,000; serving/rate-limit.ts); false: none.
   */
  rateLimit?: RateLimitSettings | false;
  /** Replaces the database writes (tests inject failures here). */
  writePredictions?: (rows: PredictionRecord[]) => Promise<unknown>;
  writeOutcomes?: (rows: OutcomeRecord[]) => Promise<unknown>;
}

export interface PredictionServer {
  url: string;
  app: FastifyInstance;
  routing: RoutingManager;
  metrics: ServingMetrics;
  predictions: BatchWriter<PredictionRecord>;
  outcomes: BatchWriter<OutcomeRecord>;
  shadow: ShadowRunner;
  health: DbHealth;
  /** The per-client rate limit in force (DEFAULT_RATE_LIMIT unless told otherwise); null: none. */
  rateLimit: RateLimitSettings | null;
  /** Waits until shadow scoring is idle and both logs are written (or the timeout passes); returns rows still queued. */
  flush(timeoutMs?: number): Promise<number>;
  /** Stops accepting requests, finishes in-flight ones, drains the logs; returns rows that could not be written. */
  close(timeoutMs?: number): Promise<number>;
}

const ROUTES = 'POST /predict, POST /rank, POST /feedback, GET /healthz, GET /metrics';

function errorBody(code: string, message: string, details?: Record<string, unknown>) {
  return { error: { code, message, ...(details ? { details } : {}) } };
}

/** Fastify's own errors (body parsing, limits) as the same {error: {code, message}} shape. */
function describeFastifyError(error: FastifyError, bodyLimit: number): { status: number; code: string; message: string } {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'body_too_large', message: `the body is larger than the ${bodyLimit}-byte limit; send fewer features or candidates` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'unsupported_media_type', message: 'send the body as JSON with Content-Type: application/json' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, code: 'empty_body', message: 'Content-Type is application/json but the body is empty; send a JSON object' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, code: 'malformed_json', message: `the body is not valid JSON: ${error.message}` };
  }
  if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
    return { status: 400, code: 'malformed_json', message: `the body is not valid JSON: ${error.message}` };
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) return { status: error.statusCode, code: 'bad_request', message: error.message };
  return { status: 500, code: 'internal', message: `internal error: ${error.message}` };
}

export async function startPredictionServer(options: PredictionServerOptions): Promise<PredictionServer> {
  const metrics = createServingMetrics({ defaultMetrics: options.defaultMetrics });
  const { db } = options;
  const writerEvents = (log: string) => ({
    written: (rows: number) => metrics.logRowsWritten.inc({ log }, rows),
    failed: () => metrics.logFlushFailures.inc({ log }),
    poisoned: () => metrics.logRowsPoisoned.inc({ log }),
  });
  const predictions = new BatchWriter<PredictionRecord>({
    name: 'predictions',
    write: options.writePredictions ?? ((rows) => appendPredictions(db, rows)),
    ...options.log,
    events: writerEvents('predictions'),
  });
  const outcomes = new BatchWriter<OutcomeRecord>({
    name: 'outcomes',
    write: options.writeOutcomes ?? ((rows) => appendOutcomes(db, rows)),
    ...(options.outcomesLog ?? options.log),
    events: writerEvents('outcomes'),
  });
  const pool = new ModelPool(options.readArtifact);
  const routing = new RoutingManager({
    db,
    pool,
    listenUrl: options.listenUrl,
    refreshMs: options.refreshMs,
    events: {
      reloaded: (trigger) => metrics.routingReloads.inc({ trigger, result: 'ok' }),
      reloadFailed: (trigger) => metrics.routingReloads.inc({ trigger, result: 'error' }),
      loadFailed: (model) => metrics.modelLoadFailures.inc({ model }),
      listener: (state) => metrics.listenerUp.set(state === 'connected' ? 1 : 0),
    },
  });
  const health = new DbHealth(db, { intervalMs: options.healthIntervalMs, onChange: (up) => metrics.dbUp.set(up ? 1 : 0) });
  const shadow = new ShadowRunner({ log: predictions, metrics, ...options.shadow });
  const ctx: ServingContext = {
    db,
    routing,
    predictions,
    outcomes,
    shadow,
    recent: new RecentRequests(options.recentCapacity),
    health,
    metrics,
    maxCandidates: options.maxCandidates ?? 100,
  };

  await health.start();
  await routing.start();

  const bodyLimit = options.bodyLimit ?? 64 * 1024;
  const app = Fastify({ logger: false, bodyLimit, return503OnClosing: true, keepAliveTimeout: 65_000 });
  // JSON only: a text/plain body gets a 415 that says so, not a confusing "body must be an object".
  app.removeContentTypeParser('text/plain');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as HttpError, undefined);
    }
  });
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    const route = request.routeOptions?.url ?? request.url;
    const { status, code, message, details } =
      error instanceof HttpError ? { status: error.statusCode, code: error.code, message: error.message, details: error.details } : { ...describeFastifyError(error as FastifyError, bodyLimit), details: undefined };
    if (status < 500 || code === 'log_backlog') metrics.rejected.inc({ route, reason: code });
    void reply.code(status).send(errorBody(code, message, details));
  });
  const rateLimit = options.rateLimit === undefined ? DEFAULT_RATE_LIMIT : options.rateLimit;
  let rateLimitInForce: RateLimitSettings | null = null;
  if (rateLimit) {
    const limiter = new RateLimiter(rateLimit);
    rateLimitInForce = { perSecond: limiter.perSecond, burst: limiter.burst, maxClients: rateLimit.maxClients ?? 10_000 };
    // onRequest: refused before the body is read or parsed. Health and metrics stay unlimited.
    app.addHook('onRequest', async (request, reply) => {
      if (request.method !== 'POST') return;
      const apiKey = request.headers['x-api-key'];
      const client = typeof apiKey === 'string' && apiKey ? `key:${apiKey}` : `ip:${request.ip}`;
      const decision = limiter.take(client);
      if (decision.ok) return;
      const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
      metrics.rejected.inc({ route: request.routeOptions?.url ?? request.url, reason: 'rate_limited' });
      return reply
        .code(429)
        .header('retry-after', String(seconds))
        .send(errorBody('rate_limited', `too many requests from this client (${client.startsWith('key:') ? 'its X-API-Key' : request.ip}): the limit is ${limiter.perSecond}/s with bursts of ${limiter.burst}; retry after ${seconds} s`));
    });
  }
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(errorBody('not_found', `no route ${request.method} ${request.url}; the server has ${ROUTES}`));
  });
  app.post('/predict', predictHandler(ctx));
  app.post('/rank', rankHandler(ctx));
  app.post('/feedback', feedbackHandler(ctx));
  app.get('/healthz', healthHandler(ctx));
  app.get('/metrics', metricsHandler(ctx));

  let address: string;
  try {
    address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  } catch (error) {
    await routing.stop();
    health.stop();
    await predictions.close(0);
    await outcomes.close(0);
    throw error;
  }

  const flush = async (timeoutMs = 10_000): Promise<number> => {
    const deadline = Date.now() + timeoutMs;
    await Promise.race([shadow.idle(), new Promise((r) => setTimeout(r, timeoutMs))]);
    const left = Math.max(0, deadline - Date.now());
    return (await predictions.drain(left)) + (await outcomes.drain(Math.max(0, deadline - Date.now())));
  };

  return {
    url: address,
    app,
    routing,
    metrics,
    predictions,
    outcomes,
    shadow,
    health,
    rateLimit: rateLimitInForce,
    flush,
    async close(timeoutMs = 10_000) {
      await app.close();
      const deadline = Date.now() + timeoutMs;
      await Promise.race([shadow.idle(), new Promise((r) => setTimeout(r, timeoutMs))]);
      const left = (await predictions.close(Math.max(0, deadline - Date.now()))) + (await outcomes.close(Math.max(0, deadline - Date.now())));
      await routing.stop();
      health.stop();
      return left;
    },
  };
}
