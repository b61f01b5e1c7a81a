// Time to production (issue 11 item 4): from a stage-4 trigger firing to the candidate serving
// canary traffic. Everything real: the Temporal dev server, PostgreSQL, the project's workers, the
// prediction server (onnxruntime-node) under closed-loop /predict traffic with click feedback.
//
// Per run, a fresh model (the four-feature click model of test/support/traffic.ts):
//   1. labelled history (from the true click model) and a first retrain: a real champion v1 with
//      its checkpoint and high-water mark;
//   2. the spec re-applied at stage 4 with a volume trigger and a rollout section (a short shadow
//      phase, then canary steps), so the continual workflow starts and runs its first check;
//   3. traffic on the champion (2 closed-loop clients, clicks drawn from the true model), then
//      NEW_ROWS labelled rows inserted after the champion's high-water mark — the volume trigger's
//      threshold is crossed at once;
//   4. the continual workflow's next check fires and starts the retrain DAG (stateful, warm-started
//      from v1), which passes the offline gate and hands the candidate to the rollout child: shadow,
//      then canary;
//   5. measured: t_fire (the check that fired: continualState.lastChecks[].at, taken by the
//      workflow when the check began) → t_served (the first /predict reply the candidate served in
//      canary mode: prediction_log's served row with routing mode "canary", predicted_at + its
//      latency). Then the rollout is aborted, the retrain awaited and the continual workflow
//      terminated, so nothing of this run goes on during the next one.
//
//   trigger_to_canary_s    t_fire → t_served (the figure)
//   trigger_detect_s       rows inserted → t_fire: detection lag, bounded by continual.checkEvery
//   retrain_to_rollout_s   retrain workflow start → rollout child start: the retrain DAG
//   shadow_phase_s         shadow route start → canary route start (its minimum is a setting: SHADOW_MIN)
//
// Timestamps come from one clock (same machine): workflow time, PostgreSQL's and the server's.
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { applyModel } from '../../client/apply';
import { startRetrain } from '../../client/retrain';
import { insertLabelledExamples } from '../../lineage/labelled-examples';
import { currentChampion } from '../../lineage/models';
import { routingHistory } from '../../lineage/routing';
import type { Database } from '../../lineage/schema';
import { createRng } from '../../ml/random';
import { continualWorkflowIdFor } from '../../schedules/reconcile';
import { startPredictionServer, type PredictionServer } from '../../serving/server';
import { createAgent, drawFeatures, postJson, runPredictTraffic, servingSpec, trueProbability, type TrafficStats } from '../../test/support/traffic';
import type { ContinualState } from '../../workflows/continual-state';
import type { RetrainResult } from '../../workflows/types';
import { summarize, type Figure } from '../figure';
import { openLab, rootCause, startBenchWorkers, within, type BenchWorker } from './orchestration';

export const ids = ['trigger_to_canary_s', 'trigger_detect_s', 'retrain_to_rollout_s', 'shadow_phase_s'];

/** Labelled history for the first (stateless) retrain, one row every 10 minutes. */
export const HISTORY_ROWS = 3000;
/** Rows inserted after the champion's high-water mark; the volume trigger fires at VOLUME_EVERY_ROWS. */
export const NEW_ROWS = 1000;
export const VOLUME_EVERY_ROWS = 800;
export const CHECK_EVERY = '1s';
export const SHADOW_MIN = '2s';

/** The rollout section: a short shadow phase, then canary steps with small minimums. */
export const ROLLOUT = {
  checkInterval: '0.5s',
  labelEvent: 'click',
  labelWindow: '0.5s',
  phases: [
    { kind: 'shadow', minDuration: SHADOW_MIN, maxDuration: '120s', minLabelled: 200, maxPredictionPsi: 1 },
    {
      kind: 'canary',
      steps: [10, 50, 100],
      stepDuration: '1s',
      maxStepDuration: '120s',
      minLabelledPerStep: 80,
      guardrails: { metric: 'log_loss', minLabelled: 80, minRequests: 50, minPredictions: 80, latencySlackMs: 50, maxPredictionPsi: 1 },
    },
  ],
};

export const CONTINUAL = { checkEvery: CHECK_EVERY, cooldown: '1h', triggers: { volume: { everyRows: VOLUME_EVERY_ROWS } } };

/** The model's spec; the row-count history check is off (the new window is by design far smaller than the first). */
export function rolloutBenchSpec(model: string, stage4: boolean): Record<string, unknown> {
  return servingSpec(model, {
    rollout: ROLLOUT,
    data: { windowDays: 30, minRows: 200, validation: { minRowCountRatio: 0, maxRowCountRatio: 1e12 } },
    ...(stage4 ? { stage: 4, continual: CONTINUAL } : {}),
  });
}

/** Milliseconds since the epoch of each moment of one run. */
export interface RunTimes {
  inserted: number;
  fired: number;
  retrainStarted: number;
  rolloutStarted: number;
  shadowRouted: number;
  canaryRouted: number;
  served: number;
}

export interface RunBreakdown {
  /** The figure: t_fire → t_served. */
  totalS: number;
  detectS: number;
  /** The firing check (its evaluateTriggers activity) and the child workflow start. */
  fireToRetrainS: number;
  dagS: number;
  /** prepareRollout and the shadow route. */
  rolloutToShadowS: number;
  shadowS: number;
  /** Ending the shadow route, the canary route, NOTIFY to the server, loading the version, the first canary-routed request. */
  canaryRouteToServedS: number;
}

const s = (ms: number) => ms / 1000;

/** Splits one run's timeline; the parts from t_fire add up to the total. Throws when the moments are out of order. */
export function breakdown(t: RunTimes): RunBreakdown {
  const order: Array<keyof RunTimes> = ['fired', 'retrainStarted', 'rolloutStarted', 'shadowRouted', 'canaryRouted', 'served'];
  for (let i = 1; i < order.length; i++) {
    if (t[order[i]] < t[order[i - 1]]) throw new Error(`timeline out of order: ${order[i]} (${new Date(t[order[i]]).toISOString()}) before ${order[i - 1]} (${new Date(t[order[i - 1]]).toISOString()})`);
  }
  return {
    totalS: s(t.served - t.fired),
    detectS: s(t.fired - t.inserted),
    fireToRetrainS: s(t.retrainStarted - t.fired),
    dagS: s(t.rolloutStarted - t.retrainStarted),
    rolloutToShadowS: s(t.shadowRouted - t.rolloutStarted),
    shadowS: s(t.canaryRouted - t.shadowRouted),
    canaryRouteToServedS: s(t.served - t.canaryRouted),
  };
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const r2 = (x: number) => Math.round(x * 100) / 100;
const range = (xs: number[]) => `${r2(median(xs))} s (${r2(Math.min(...xs))}–${r2(Math.max(...xs))})`;

async function poll<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | null | false>, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The labelled history for the first retrain: rows from the true click model, every 10 minutes up to `end`. */
function history(seed: number, end: Date): Array<{ entityId: string; eventTime: Date; features: Record<string, number>; label: number }> {
  const rng = createRng(seed);
  return Array.from({ length: HISTORY_ROWS }, (_, i) => {
    const features = drawFeatures(rng);
    return { entityId: `u${i % 500}`, eventTime: new Date(end.getTime() - (HISTORY_ROWS - i) * 600_000), features, label: rng.next() < trueProbability(features) ? 1 : 0 };
  });
}

/** `count` rows from the true click model with event times spread over (after, before). */
function freshRows(seed: number, count: number, after: number, before: number) {
  const rng = createRng(seed);
  const span = before - after;
  return Array.from({ length: count }, (_, i) => {
    const features = drawFeatures(rng);
    return { entityId: `n${i % 300}`, eventTime: new Date(after + 1 + Math.floor(((i + 1) / (count + 1)) * (span - 2))), features, label: rng.next() < trueProbability(features) ? 1 : 0 };
  });
}

/** When the first served /predict reply of `versionId` in canary mode left the server (predicted_at + its latency). */
async function firstCanaryReply(db: Kysely<Database>, model: string, versionId: string): Promise<number | undefined> {
  const row = await db
    .selectFrom('prediction_log')
    .select(['predicted_at', sql<number | null>`(prediction_detail->>'latencyMs')::float8`.as('latency_ms')])
    .where('model_name', '=', model)
    .where('version_id', '=', versionId)
    .where('mode', '=', 'served')
    .where(sql<boolean>`prediction_detail->'routing'->>'mode' = 'canary'`)
    .orderBy('predicted_at')
    .limit(1)
    .executeTakeFirst();
  return row ? row.predicted_at.getTime() + (row.latency_ms ?? 0) : undefined;
}

interface RunRecord {
  times: RunTimes;
  parts: RunBreakdown;
  candidate: string;
  trainingMode: string | null;
  stepMs: Record<string, number>;
  traffic: TrafficStats;
  rolloutOutcome: string;
}

const RUN_TIMEOUT_MS = 4 * 60_000;

async function oneRun(i: number, ctx: { client: Client; db: Kysely<Database>; server: PredictionServer; log: (line: string) => void }): Promise<RunRecord> {
  const { client, db, server, log } = ctx;
  const model = `ttc${i}`;
  const end = new Date(Math.floor((Date.now() - 15 * 60_000) / 1000) * 1000);

  // 1. A real champion: the first retrain (stateless, no champion yet → promoted directly).
  await applyModel(client, db, rolloutBenchSpec(model, false));
  await insertLabelledExamples(db, model, history(100 + i, end));
  const first = await within((await startRetrain(client, { model, referenceTime: end.toISOString(), idempotencyKey: 'initial' })).result(), RUN_TIMEOUT_MS, `${model}: first retrain`);
  const champion = await currentChampion(db, model);
  if (first.decision !== 'promoted' || !champion) throw new Error(`${model}: the first retrain did not produce a champion (${first.decision}: ${first.reasons.join('; ')})`);
  if (!champion.checkpoint_uri) throw new Error(`${model}: champion ${champion.id} has no checkpoint, so a stateful update cannot warm-start from it`);
  const hwm = new Date(champion.high_water_mark).getTime();

  // 2. Stage 4: the continual workflow starts; its first check sees no new rows.
  const applied = await applyModel(client, db, rolloutBenchSpec(model, true));
  if (applied.temporal.continual !== 'started') throw new Error(`${model}: applying stage 4 did not start the continual workflow (${applied.temporal.continual})`);
  const continual = client.workflow.getHandle(continualWorkflowIdFor(model));
  const state = () => continual.query<ContinualState>('continualState');
  await poll(`${model}: the continual workflow's first check`, 60_000, async () => (await state()).checks >= 1);
  if ((await state()).retrainsStarted) throw new Error(`${model}: a retrain fired before any new rows were inserted`);

  // 3. Traffic on the champion: wait until the server serves the model, then run the load.
  const agent = createAgent(4);
  await poll(`${model}: the prediction server serving ${champion.id}`, 30_000, async () => {
    const res = await postJson<{ version?: string }>(agent, server.url, '/predict', { model, unitId: 'probe', features: drawFeatures(createRng(1)) });
    return res.status === 200 && res.body.version === champion.id;
  });
  let stopTraffic = false;
  const traffic = runPredictTraffic({ url: server.url, model, clients: 2, requests: 10_000_000, units: 3_000, seed: 50 + i, pauseMs: 1, agent, stop: () => stopTraffic });
  let retrainId: string | undefined;
  let rolloutId: string | undefined;
  try {
    await new Promise((r) => setTimeout(r, 1_500));

    // 4. New labelled rows after the high-water mark, past the volume trigger's threshold at once.
    const inserted = Date.now();
    await insertLabelledExamples(db, model, freshRows(900 + i, NEW_ROWS, hwm, inserted - 1_000));

    const fired = await poll(`${model}: the volume trigger to fire`, 60_000, async () => (await state()).lastChecks.find((c) => c.retrainWorkflowId));
    retrainId = fired.retrainWorkflowId!;
    const volume = fired.signals.find((sig) => sig.kind === 'volume');
    if (!volume?.fired) throw new Error(`${model}: the retrain ${retrainId} was started by "${fired.outcome}", not the volume trigger`);
    const retrain = client.workflow.getHandle(retrainId);

    // 5. Wait for the candidate's canary route and its first served canary reply.
    let candidate: string | undefined;
    const served = await poll(
      `${model}: the candidate serving canary traffic`,
      RUN_TIMEOUT_MS,
      async () => {
        if (!candidate) {
          const canary = (await routingHistory(db, model)).find((h) => h.mode === 'canary' && h.rolloutId);
          if (!canary) {
            const described = await retrain.describe().catch(() => undefined);
            if (described && described.status.name !== 'RUNNING') {
              const result = await retrain.result().catch((error: unknown) => rootCause(error));
              throw new Error(`${model}: the triggered retrain ended (${described.status.name}) before its candidate reached canary: ${typeof result === 'string' ? result : `${result.decision}: ${result.reasons.join('; ')}`}`);
            }
            return undefined;
          }
          candidate = canary.versionId;
        }
        return firstCanaryReply(db, model, candidate);
      },
      50,
    );
    const routes = (await routingHistory(db, model)).filter((h) => h.versionId === candidate && h.rolloutId);
    const shadowRoute = routes.find((h) => h.mode === 'shadow');
    const canaryRoute = routes.find((h) => h.mode === 'canary');
    if (!shadowRoute || !canaryRoute) throw new Error(`${model}: routing history of ${candidate} lacks a shadow or canary row: ${JSON.stringify(routes)}`);
    rolloutId = `rollout/${model}/${candidate}`;
    const rollout = client.workflow.getHandle(rolloutId);
    const [retrainInfo, rolloutInfo] = await Promise.all([retrain.describe(), rollout.describe()]);
    const times: RunTimes = {
      inserted,
      fired: Date.parse(fired.at),
      retrainStarted: retrainInfo.startTime.getTime(),
      rolloutStarted: rolloutInfo.startTime.getTime(),
      shadowRouted: Date.parse(shadowRoute.startedAt),
      canaryRouted: Date.parse(canaryRoute.startedAt),
      served,
    };

    // Clean up: the candidate goes no further (rollout aborted, routes back on the champion).
    await rollout.executeUpdate('abortRollout', { args: ['benchmark: time to canary measured'] }).catch(() => undefined);
    const result = await within(retrain.result(), 120_000, `${model}: the retrain after the rollout was aborted`).catch((error: unknown) => {
      log(`  run ${i + 1}: retrain did not end cleanly: ${rootCause(error)}`);
      return undefined as RetrainResult | undefined;
    });
    stopTraffic = true;
    const stats = await traffic;
    return {
      times,
      parts: breakdown(times),
      candidate: candidate!,
      trainingMode: result?.trainingMode ?? null,
      stepMs: result?.stepMs ?? {},
      traffic: stats,
      rolloutOutcome: result?.rollout?.outcome ?? 'unknown',
    };
  } finally {
    stopTraffic = true;
    await traffic.catch(() => undefined);
    agent.destroy();
    await continual.terminate('benchmark run finished').catch(() => undefined);
    for (const id of [rolloutId, retrainId]) {
      if (!id) continue;
      const handle = client.workflow.getHandle(id);
      const described = await handle.describe().catch(() => undefined);
      if (described?.status.name === 'RUNNING') await handle.terminate('benchmark run finished').catch(() => undefined);
    }
  }
}

export async function run(options: { quick: boolean; log: (line: string) => void }): Promise<Figure[]> {
  const { quick, log } = options;
  const runs = quick ? 2 : 5;
  const lab = await openLab('rollout');
  let worker: BenchWorker | undefined;
  let server: PredictionServer | undefined;
  try {
    const deps = { db: lab.lineage.db, store: lab.store };
    worker = await startBenchWorkers(lab.temporal.server.address, deps);
    lab.defer(() => worker?.stop());
    server = await startPredictionServer({ db: lab.lineage.db, readArtifact: (uri) => lab.store.get(uri), listenUrl: lab.database.url, refreshMs: 1_000, log: { flushMs: 25 } });
    lab.defer(() => server?.close());
    log(`${runs} runs, one fresh model each; shadow min ${SHADOW_MIN}, rollout checks every ${ROLLOUT.checkInterval}, continual checks every ${CHECK_EVERY}`);

    const records: RunRecord[] = [];
    for (let i = 0; i < runs; i++) {
      const record = await oneRun(i, { client: lab.temporal.client, db: lab.lineage.db, server, log });
      records.push(record);
      const p = record.parts;
      log(
        `  run ${i + 1}: trigger → canary ${r2(p.totalS)} s (detect ${r2(p.detectS)} s; fire → retrain ${r2(p.fireToRetrainS)} s, DAG ${r2(p.dagS)} s, rollout → shadow ${r2(p.rolloutToShadowS)} s, ` +
          `shadow ${r2(p.shadowS)} s, canary route → served ${r2(p.canaryRouteToServedS)} s); ${record.candidate} (${record.trainingMode ?? '?'}), rollout ${record.rolloutOutcome}; ${record.traffic.sent} requests, ${record.traffic.failures.length} failed`,
      );
    }

    const parts = (key: keyof RunBreakdown) => records.map((r) => r.parts[key]);
    const train = records.map((r) => r.stepMs.train).filter((x): x is number => typeof x === 'number');
    const failures = records.reduce((n, r) => n + Object.entries(r.traffic.statuses).filter(([code]) => code !== '200').reduce((m, [, c]) => m + c, 0), 0);
    const requests = records.reduce((n, r) => n + r.traffic.sent, 0);
    const modes = [...new Set(records.map((r) => r.trainingMode ?? '?'))].join('/');
    const settings =
      `settings (part of the figure): continual.checkEvery ${CHECK_EVERY}; rollout.checkInterval ${ROLLOUT.checkInterval}, labelWindow ${ROLLOUT.labelWindow}; ` +
      `shadow minDuration ${SHADOW_MIN} and minLabelled 200; canary first step 10% (steps 10/50/100, stepDuration 1s, only the first is reached before the rollout is aborted). ` +
      `With the spec defaults (shadow minDuration 10m, checkInterval 30s, checkEvery 5m) the same path takes ≥ 10 min plus the DAG`;
    const setup =
      `per run a fresh model: first retrain on ${HISTORY_ROWS} labelled rows → champion v1 with checkpoint; stage 4 with volume.everyRows ${VOLUME_EVERY_ROWS}; ${NEW_ROWS} rows inserted after its high-water mark at once; ` +
      `candidate retrained ${modes}; 2 closed-loop /predict clients with click feedback (${requests} requests, ${failures} non-200). ` +
      `Dev server, PostgreSQL, one in-process worker (createWorkers defaults), prediction server and load generator in the bench process, on this 2-core machine`;
    const breakdownNote =
      `breakdown, median (min–max): fire → retrain workflow start ${range(parts('fireToRetrainS'))}; retrain DAG to the rollout child ${range(parts('dagS'))}` +
      (train.length ? ` (train step ${Math.round(median(train))} ms)` : '') +
      `; rollout start → shadow route ${range(parts('rolloutToShadowS'))}; shadow phase ${range(parts('shadowS'))}; canary route → first served canary reply ${range(parts('canaryRouteToServedS'))}; ` +
      `detection lag before t_fire (not in the figure) ${range(parts('detectS'))}`;
    return [
      summarize(
        'trigger_to_canary_s',
        's',
        parts('totalS'),
        `from the stage-4 check that fired the volume trigger (continualState.lastChecks[].at) to the first /predict reply served by the candidate in canary mode (prediction_log); ${breakdownNote}. ${settings}. ${setup}`,
      ),
      summarize('trigger_detect_s', 's', parts('detectS'), `start of inserting the new labelled rows → the start of the continual check that fired (bounded by continual.checkEvery ${CHECK_EVERY}); not part of trigger_to_canary_s`),
      summarize(
        'retrain_to_rollout_s',
        's',
        parts('dagS'),
        `triggered retrain workflow start → its rollout child's start: the stage-4 (stateful, warm-started) DAG on ${NEW_ROWS} new rows${train.length ? `; train step median ${Math.round(median(train))} ms` : ''}; part of trigger_to_canary_s`,
      ),
      summarize('shadow_phase_s', 's', parts('shadowS'), `candidate's shadow route start → its canary route start; minDuration ${SHADOW_MIN}, minLabelled 200, checks every ${ROLLOUT.checkInterval}; part of trigger_to_canary_s`),
    ];
  } catch (error) {
    throw new Error(rootCause(error));
  } finally {
    await lab.close();
  }
}

if (require.main === module) {
  run({ quick: process.argv.includes('--quick'), log: (line) => console.log(line) }).then(
    (figures) => {
      for (const f of figures) console.log(`${f.id} = ${f.value} ${f.unit} (min ${f.min}, max ${f.max}, ${f.runs} runs)\n  ${f.note}`);
      process.exit(0);
    },
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
