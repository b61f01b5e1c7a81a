// Per-client request rate limit for the prediction server: a token bucket per client, keyed by the
// X-API-Key header when the request has one, else by the peer address. A bucket holds `burst`
// tokens and refills at `perSecond`; a request takes one or is refused (429 with Retry-After).
// Memory is bounded: at most `maxClients` buckets, least recently used dropped first (a dropped
// bucket was full or nearly so: forgetting it only forgives a client its last burst).
//
// On by default (DEFAULT_RATE_LIMIT: 20,000 requests/s per client, bursts of 40,000): above what
// one client of this server can push (the serving benchmark's 4 loopback clients, which share one
// bucket, reach up to ~6,700/s on the 2-core dev machine when it is idle), low enough that one
// runaway client cannot take a large host's whole capacity. Behind a proxy every caller shares the
// proxy's address: send X-API-Key per service, or raise or turn off the limit. FLYWHEEL_SERVE_RATE_LIMIT=<per second>[/<burst>] changes it,
// FLYWHEEL_SERVE_RATE_LIMIT=off turns it off; in code, startPredictionServer({ rateLimit: false }).

export interface RateLimitSettings {
  /** Sustained requests per second per client. */
  perSecond: number;
  /** Requests a client may send at once; default 2 × perSecond (at least 1). */
  burst?: number;
  /** Buckets kept; default 10,000. */
  maxClients?: number;
}

export type RateDecision = { ok: true; remaining: number } | { ok: false; retryAfterMs: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly perSecond: number;
  readonly burst: number;
  private readonly maxClients: number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(settings: RateLimitSettings, private readonly now: () => number = () => performance.now()) {
    if (!(settings.perSecond > 0) || !Number.isFinite(settings.perSecond)) throw new Error(`rate limit: perSecond must be a positive number, got ${settings.perSecond}`);
    this.perSecond = settings.perSecond;
    this.burst = Math.max(1, Math.floor(settings.burst ?? Math.max(1, 2 * settings.perSecond)));
    this.maxClients = settings.maxClients ?? 10_000;
  }

  get clients(): number {
    return this.buckets.size;
  }

  take(client: string): RateDecision {
    const now = this.now();
    const bucket = this.buckets.get(client) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    // Re-insert: Map order is then least recently used first.
    this.buckets.delete(client);
    this.buckets.set(client, bucket);
    while (this.buckets.size > this.maxClients) this.buckets.delete(this.buckets.keys().next().value as string);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true, remaining: Math.floor(bucket.tokens) };
    }
    return { ok: false, retryAfterMs: Math.ceil(((1 - bucket.tokens) / this.perSecond) * 1000) };
  }
}

/** The per-client limit a server gets when it is not told otherwise. */
export const DEFAULT_RATE_LIMIT: Readonly<RateLimitSettings> = Object.freeze({ perSecond: 20_000, burst: 40_000 });

/**
 * FLYWHEEL_SERVE_RATE_LIMIT: "<perSecond>" or "<perSecond>/<burst>" (e.g. 50/100); "off" (or
 * "none", "0") → no limit (false); unset or empty → undefined (the server's DEFAULT_RATE_LIMIT).
 */
export function parseRateLimit(text: string | undefined): RateLimitSettings | false | undefined {
  if (!text || !text.trim()) return undefined;
  if (/^\s*(off|none|0)\s*$/i.test(text)) return false;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(\d+))?\s*$/.exec(text);
  if (!m || Number(m[1]) <= 0) throw new Error(`rate limit "${text}": use <requests per second>[/<burst>], e.g. 50/100, or off`);
  return { perSecond: Number(m[1]), burst: m[2] ? Number(m[2]) : undefined };
}
