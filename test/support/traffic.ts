// Simulated production traffic with known effects, for serving and rollout tests: a true click
// model, logistic-regression versions that are better or worse than each other by construction,
// a helper that registers them in lineage (with their ONNX artifacts), and bounded loopback load
// loops that call the prediction server and send click feedback the way users would.
import http from 'node:http';
import type { Kysely } from 'kysely';
import { applyModelSpec } from '../../lineage/models';
import { applyRoutingChange } from '../../lineage/routing';
import type { Database } from '../../lineage/schema';
import { exportLogisticRegressionToOnnx } from '../../ml/onnx';
import { createRng, type Rng } from '../../ml/random';
import type { ArtifactStore } from '../../storage/artifact-store';
import { generateDay, SIMULATOR_FEATURES } from '../../scenarios/simulator';

export const FEATURES = ['ad_relevance', 'user_ctr_7d', 'position', 'hour_sin'] as const;

/** The world: P(click | x) = sigmoid(TRUE_WEIGHTS · x + TRUE_BIAS), x ~ N(0, I). */
export const TRUE_WEIGHTS = [1.6, 1.0, -0.9, 0.3];
export const TRUE_BIAS = -0.4;

/**
 * Versions with known quality, measured on 200,000 draws of this world (accuracy at 0.5 / log loss):
 * good = the truth (0.790 / 0.443); fair = right signs, shrunk (0.772 / 0.481; prediction PSI
 * against good about 0.2); poor = mostly wrong sizes (0.666 / 0.610); bad = inverted (0.210 / 1.786).
 */
export const WEIGHTS = {
  good: { weights: TRUE_WEIGHTS, bias: TRUE_BIAS },
  fair: { weights: [1.0, 0.6, -0.5, 0.6], bias: -0.2 },
  poor: { weights: [0.5, 0.2, -0.2, 0.9], bias: 0 },
  bad: { weights: TRUE_WEIGHTS.map((w) => -w), bias: -TRUE_BIAS },
} as const;

export type Quality = keyof typeof WEIGHTS;

export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

export function trueProbability(x: Record<string, number>): number {
  return sigmoid(TRUE_BIAS + FEATURES.reduce((s, name, j) => s + TRUE_WEIGHTS[j] * x[name], 0));
}

export function drawFeatures(rng: Rng): Record<string, number> {
  const x: Record<string, number> = {};
  for (const name of FEATURES) x[name] = Math.round(rng.normal() * 1000) / 1000;
  return x;
}

export interface SeededVersion {
  versionId: string;
  artifactUri: string;
}

let runCounter = 0;

/** Registers a logistic-regression version of the given quality (pipeline run, dataset and version rows, ONNX artifact). */
/** Explicit logistic-regression weights over named features (raw inputs, no standardisation). */
export interface LogisticWeights {
  featureNames: readonly string[];
  weights: readonly number[];
  bias: number;
}

export async function registerVersion(db: Kysely<Database>, store: ArtifactStore, model: string, version: string, quality: Quality | LogisticWeights): Promise<SeededVersion> {
  const versionId = `${model}@${version}`;
  const { weights, bias } = typeof quality === 'string' ? WEIGHTS[quality] : quality;
  const featureNames: readonly string[] = typeof quality === 'string' ? FEATURES : quality.featureNames;
  const bytes = exportLogisticRegressionToOnnx({ kind: 'logistic_regression', featureNames: [...featureNames], mean: featureNames.map(() => 0), std: featureNames.map(() => 1), weights: [...weights], bias });
  const artifactUri = await store.put(`models/${model}/${version}/model.onnx`, bytes);
  const runId = `test-run/${model}/${version}/${++runCounter}`;
  await db.insertInto('pipeline_runs').values({ id: runId, run_id: 'r', model_name: model, trigger: 'manual', stage: 1, status: 'succeeded', current_step: 'done', timings: '{}', started_at: new Date() }).execute();
  await db
    .insertInto('datasets')
    .values({ id: `ds-${versionId}`, model_name: model, window_start: new Date(0), window_end: new Date(1), row_count: 1, content_hash: `h-${versionId}`, uri: 'file:///x', manifest: '{}' })
    .execute();
  const major = Number(version.replace(/\D/g, '')) || 1;
  await db
    .insertInto('model_versions')
    .values({
      id: versionId,
      model_name: model,
      version,
      major,
      minor: 0,
      parent_version_id: null,
      training_mode: 'stateless',
      iteration_kind: 'model',
      spec_hash: 'h',
      dataset_id: `ds-${versionId}`,
      artifact_uri: artifactUri,
      status: 'candidate',
      metrics: '{}',
      samples_seen: 1,
      high_water_mark: new Date(),
      pipeline_run_id: runId,
    })
    .execute();
  return { versionId, artifactUri };
}

/** A minimal spec over FEATURES (defaults fill the rest), independent of the example files. */
export function servingSpec(model: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: model, features: FEATURES.map((name) => ({ name })), ...overrides };
}

/** Applies servingSpec(model) and makes `quality` its v1 champion. */
export async function seedChampion(db: Kysely<Database>, store: ArtifactStore, model: string, quality: Quality = 'fair', overrides: Record<string, unknown> = {}): Promise<SeededVersion> {
  await applyModelSpec(db, servingSpec(model, overrides));
  const v1 = await registerVersion(db, store, model, 'v1', quality);
  await applyRoutingChange(db, {
    model,
    changeKey: `seed/${model}/v1`,
    kind: 'promote',
    reason: 'test seed',
    start: [{ versionId: v1.versionId, mode: 'champion', trafficPercent: 100 }],
    statuses: [{ versionId: v1.versionId, status: 'champion' }],
  });
  return v1;
}

// ---- HTTP on loopback ----------------------------------------------------------------------

export interface HttpResult<T = unknown> {
  status: number;
  body: T;
}

export function createAgent(maxSockets = 8): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets });
}

/** POSTs JSON (or a raw string body) and parses the JSON answer. */
export function postJson<T = Record<string, unknown>>(agent: http.Agent, baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
  const url = new URL(path, baseUrl);
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : null) as T });
          } catch {
            resolve({ status: res.statusCode ?? 0, body: text as unknown as T });
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export async function getText(agent: http.Agent, baseUrl: string, path: string): Promise<HttpResult<string>> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    http
      .get({ agent, host: url.hostname, port: url.port, path: url.pathname }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      })
      .on('error', reject);
  });
}

// ---- Load loops ----------------------------------------------------------------------------

export interface PredictResponseBody {
  prediction: number;
  version: string;
  requestId: string;
  mode: string;
}

export interface TrafficStats {
  sent: number;
  statuses: Record<number, number>;
  versions: Record<string, number>;
  modes: Record<string, number>;
  feedbackSent: number;
  feedbackFailed: number;
  failures: Array<{ status: number; body: unknown }>;
  latenciesMs: number[];
  /** Per version: requests and how many the served prediction got right (threshold 0.5) against the drawn label. */
  correct: Record<string, { n: number; right: number }>;
}

export interface TrafficOptions {
  url: string;
  model: string;
  /** Concurrent clients, each sending requests one after another. */
  clients: number;
  /** Requests per client. */
  requests: number;
  /** Distinct units (users); requests pick one at random, so assignment is sticky per unit. */
  units?: number;
  seed?: number;
  /** Send a "click" feedback event when the drawn label is 1 (the natural label). Default true. */
  feedback?: boolean;
  /** Stop early when this returns true (checked before each request). */
  stop?: () => boolean;
  /** Pause between a client's requests (ms); default 0. */
  pauseMs?: number;
  agent?: http.Agent;
  /**
   * Where requests and clicks come from: "click-model" (default) draws FEATURES and clicks from
   * TRUE_WEIGHTS; "simulator" replays scenarios/simulator.ts's CTR task (its features, its own
   * click draws), for models registered with SIMULATOR_WEIGHTS under simulatorServingSpec.
   */
  source?: 'click-model' | 'simulator';
}

function emptyStats(): TrafficStats {
  return { sent: 0, statuses: {}, versions: {}, modes: {}, feedbackSent: 0, feedbackFailed: 0, failures: [], latenciesMs: [], correct: {} };
}

/** Bounded loop of /predict calls with click feedback drawn from the true model. */
export async function runPredictTraffic(options: TrafficOptions): Promise<TrafficStats> {
  const agent = options.agent ?? createAgent(options.clients * 2);
  const stats = emptyStats();
  const units = options.units ?? 1000;
  await Promise.all(
    Array.from({ length: options.clients }, async (_, c) => {
      const rng = createRng((options.seed ?? 1) * 1000 + c);
      const simulated = options.source === 'simulator' ? simulatorStream((options.seed ?? 1) * 1000 + c) : null;
      for (let i = 0; i < options.requests; i++) {
        if (options.stop?.()) break;
        const drawn = simulated?.next();
        const features = drawn?.features ?? drawFeatures(rng);
        const unitId = `u${rng.nextInt(units)}`;
        const clicked = drawn ? drawn.clicked : rng.next() < trueProbability(features) ? 1 : 0;
        const started = performance.now();
        const res = await postJson<PredictResponseBody>(agent, options.url, '/predict', { model: options.model, unitId, features });
        stats.latenciesMs.push(performance.now() - started);
        stats.sent++;
        stats.statuses[res.status] = (stats.statuses[res.status] ?? 0) + 1;
        if (res.status !== 200) {
          if (stats.failures.length < 20) stats.failures.push({ status: res.status, body: res.body });
          continue;
        }
        const { version, mode, requestId, prediction } = res.body;
        stats.versions[version] = (stats.versions[version] ?? 0) + 1;
        stats.modes[mode] = (stats.modes[mode] ?? 0) + 1;
        const tally = (stats.correct[version] ??= { n: 0, right: 0 });
        tally.n++;
        if ((prediction >= 0.5 ? 1 : 0) === clicked) tally.right++;
        if (options.feedback !== false && clicked) {
          const fb = await postJson(agent, options.url, '/feedback', { requestId, event: 'click' });
          if (fb.status === 202) stats.feedbackSent++;
          else stats.feedbackFailed++;
        }
        if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
      }
    }),
  );
  if (!options.agent) agent.destroy();
  return stats;
}

export interface RankTrafficOptions extends Omit<TrafficOptions, 'feedback'> {
  /** Candidates per ranking request; default 8. */
  candidates?: number;
}

export interface RankStats {
  sent: number;
  statuses: Record<number, number>;
  modes: Record<string, number>;
  clicks: number;
  failures: Array<{ status: number; body: unknown }>;
}

/**
 * Bounded loop of /rank calls. Users scan the list top-down (position-biased examination
 * 1 / (1 + position)) and click an examined item with its true click probability, so a ranker
 * that orders by the truth earns more clicks. Each click is sent as feedback naming the item.
 */
export async function runRankTraffic(options: RankTrafficOptions): Promise<RankStats> {
  const agent = options.agent ?? createAgent(options.clients * 2);
  const stats: RankStats = { sent: 0, statuses: {}, modes: {}, clicks: 0, failures: [] };
  const units = options.units ?? 1000;
  const k = options.candidates ?? 8;
  await Promise.all(
    Array.from({ length: options.clients }, async (_, c) => {
      const rng = createRng((options.seed ?? 1) * 7919 + c);
      for (let i = 0; i < options.requests; i++) {
        if (options.stop?.()) break;
        const candidates = Array.from({ length: k }, (_, j) => ({ id: `item${j}`, features: drawFeatures(rng) }));
        const truth = new Map(candidates.map((cand) => [cand.id, trueProbability(cand.features)]));
        const res = await postJson<{ requestId: string; mode: string; ranking: Array<{ id: string }> }>(agent, options.url, '/rank', { model: options.model, unitId: `u${rng.nextInt(units)}`, candidates });
        stats.sent++;
        stats.statuses[res.status] = (stats.statuses[res.status] ?? 0) + 1;
        if (res.status !== 200) {
          if (stats.failures.length < 20) stats.failures.push({ status: res.status, body: res.body });
          continue;
        }
        stats.modes[res.body.mode] = (stats.modes[res.body.mode] ?? 0) + 1;
        for (const [position, item] of res.body.ranking.entries()) {
          if (rng.next() < 1 / (1 + position) && rng.next() < truth.get(item.id)!) {
            const fb = await postJson(agent, options.url, '/feedback', { requestId: res.body.requestId, itemId: item.id, event: 'click' });
            if (fb.status === 202) stats.clicks++;
          }
        }
        if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
      }
    }),
  );
  if (!options.agent) agent.destroy();
  return stats;
}

export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

// ---- The drifting-data simulator as traffic ------------------------------------------------

/**
 * The simulator's CTR features that the served versions take: its numeric ones. Its categorical
 * `device` stays in the simulator's own click probabilities (a small effect) but is not sent:
 * the built-in logistic-regression ONNX export has no categorical input, and the server answers
 * 400 to a feature the model does not take.
 */
export const SIMULATOR_SERVED_FEATURES: readonly string[] = SIMULATOR_FEATURES.ctr.filter((f) => f.type === 'numeric').map((f) => f.name);

/**
 * Versions of known quality in the simulator's CTR world (scenarios/simulator.ts: logit =
 * -2.4 + device effect + 1.2 ad_relevance + 0.8 user_ctr_7d - 0.5 (position - 3) + 0.3 hour_sin,
 * base click rate about 10%). good = the simulator's own numeric weights, the position offset and
 * the mean device effect folded into the bias; fair = right signs, shrunk, miscalibrated bias;
 * bad = inverted weights.
 */
export const SIMULATOR_WEIGHTS = {
  good: { featureNames: SIMULATOR_SERVED_FEATURES, weights: [1.2, 0.8, -0.5, 0.3], bias: -2.4 + 1.5 + 0.085 },
  fair: { featureNames: SIMULATOR_SERVED_FEATURES, weights: [0.6, 0.4, -0.25, 0.1], bias: -1.2 },
  bad: { featureNames: SIMULATOR_SERVED_FEATURES, weights: [-1.2, -0.8, 0.5, -0.3], bias: -2.4 - 1.5 + 0.085 },
} as const satisfies Record<string, LogisticWeights>;

export type SimulatorQuality = keyof typeof SIMULATOR_WEIGHTS;

/** A minimal spec over the simulator's served features. */
export function simulatorServingSpec(model: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: model, features: SIMULATOR_SERVED_FEATURES.map((name) => ({ name })), ...overrides };
}

/** Applies simulatorServingSpec(model) and makes `quality` its v1 champion. */
export async function seedSimulatorChampion(db: Kysely<Database>, store: ArtifactStore, model: string, quality: SimulatorQuality = 'fair', overrides: Record<string, unknown> = {}): Promise<SeededVersion> {
  await applyModelSpec(db, simulatorServingSpec(model, overrides));
  const v1 = await registerVersion(db, store, model, 'v1', SIMULATOR_WEIGHTS[quality]);
  await applyRoutingChange(db, {
    model,
    changeKey: `seed/${model}/v1`,
    kind: 'promote',
    reason: 'test seed (simulator world)',
    start: [{ versionId: v1.versionId, mode: 'champion', trafficPercent: 100 }],
    statuses: [{ versionId: v1.versionId, status: 'champion' }],
  });
  return v1;
}

const SIMULATOR_CHUNK = 2_000;

/**
 * An endless stream of the simulator's CTR requests: each its served features and whether the
 * simulator's user clicked (its own draw from its own click probability), generated a simulated
 * day of SIMULATOR_CHUNK requests at a time with scenarios/simulator.ts's generateDay.
 */
export function simulatorStream(seed: number): { next(): { features: Record<string, number>; clicked: number } } {
  let day = 0;
  let rows: { features: Record<string, number>; clicked: number }[] = [];
  let at = 0;
  const options = { task: 'ctr' as const, modelName: 'sim-traffic', start: '2026-01-01T00:00:00Z', days: 1, rowsPerDay: SIMULATOR_CHUNK, seed };
  return {
    next() {
      if (at >= rows.length) {
        const generated = generateDay(options, day++);
        rows = generated.predictions.map((p, i) => ({
          features: Object.fromEntries(SIMULATOR_SERVED_FEATURES.map((name) => [name, Math.round((p.features[name] as number) * 1000) / 1000])),
          clicked: generated.truth[i],
        }));
        at = 0;
      }
      return rows[at++];
    },
  };
}
