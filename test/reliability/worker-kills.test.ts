// kill -9 of the worker at seeded points of the retrain DAG, 20 times, on the real stack: Temporal
// dev server, PostgreSQL (fresh database), file:// artifact store, and the worker (both task
// queues, production activities and workflow code) in a separate process that is SIGKILLed and
// replaced. Four models retrain concurrently in five rounds (20 pipelines), one kill per model per
// round. The kill points cover every step deterministically: the 20 kills go round-robin (from a
// seeded start) over the steps labels, testset, pull, validate, dataset, train, evaluate, register
// and the staged-rollout child — 2 or 3 each — and each lands INSIDE its step's activity, after a
// seeded offset into it (test/support/fault-kill-points.ts: the activity runs for the offset or
// until its work is done, then its completion is held until the SIGKILL). Then: each step got at
// least one kill (printed per step), every killed activity was retried (its history shows a later
// attempt), every pipeline completed, lineage has no duplicate rows, every URI lineage names
// exists, and the only unreferenced files are the scratch a run leaves on purpose, which the
// sweeper removes.
//
// Bounded: the fault worker's activities get a 4 s heartbeat timeout (test/support/
// fault-timeouts-interceptor.ts; production: 2 min) so a lost attempt is retried in seconds.
import { mkdtempSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepOrphanedArtifacts } from '../../activities/sweeper';
import { startRetrain, type RetrainHandle } from '../../client/retrain';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { insertLabelledExamples } from '../../lineage/labelled-examples';
import { applyModelSpec } from '../../lineage/models';
import { createRng } from '../../ml/random';
import { generateCtrHistory } from '../../scenarios/ctr-history';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import type { RetrainResult } from '../../workflows/types';
import type { FaultPointReport, KillPoint } from '../support/fault-kill-points';
import { artifactCensus, duplicateLineageRows, missingArtifacts } from '../support/fault-lineage';
import { buildFaultBundle, FaultWorker } from '../support/fault-worker';
import { exampleSpec, HISTORY_END } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, type TestTemporal } from '../support/temporal';

const SEED = Number(process.env.FLYWHEEL_FAULT_SEED ?? 20261122);
const ROUNDS = 5;
const KILLS_PER_ROUND = 4;
/** Every step a kill can land in, in DAG order; 'rollout' is the staged-rollout child workflow. */
const STEPS = ['labels', 'testset', 'pull', 'validate', 'dataset', 'train', 'evaluate', 'register', 'rollout'] as const;
type KillStep = (typeof STEPS)[number];
/** The steps issue 10 names: each must get at least one kill (every other step too, as it happens). */
const NAMED_STEPS: KillStep[] = ['pull', 'labels', 'train', 'evaluate', 'rollout'];
/** The activity each retrain step runs (workflows/retrain.ts). */
const ACTIVITY_OF: Record<Exclude<KillStep, 'rollout'>, string> = {
  labels: 'computeNaturalLabels',
  testset: 'ensureStaticTestSet',
  pull: 'pullLabelledWindow',
  validate: 'validateDataWindow',
  dataset: 'formDatasetSnapshot',
  train: 'trainCandidate',
  evaluate: 'evaluateCandidate',
  register: 'registerCandidateVersion',
};
/** Activities kc's rollout child always runs (plan, shadow route, shadow checks, close on keeping the champion). */
const ROLLOUT_ACTIVITIES = ['prepareRollout', 'applyRolloutRoute', 'checkRolloutShadow', 'closeRollout'];

const LENIENT_GATE = { floors: { auc: 0.55 } };
const MODELS: Array<{ name: string; seed: number; spec: Record<string, unknown> }> = [
  // Plain DAG: promote or reject on the offline gate (with its max-regression rule against the champion).
  { name: 'ka', seed: 11, spec: {} },
  // Staged rollout with no phases: the rollout child promotes at once.
  { name: 'kb', seed: 12, spec: { evaluation: LENIENT_GATE, rollout: { phases: [] } } },
  // Staged rollout whose shadow phase sees no traffic and times out: the champion is kept.
  {
    name: 'kc',
    seed: 13,
    spec: { evaluation: LENIENT_GATE, rollout: { checkInterval: '0.5s', labelEvent: 'click', labelWindow: '1s', phases: [{ kind: 'shadow', minDuration: '1s', maxDuration: '2s', minLabelled: 2 }] } },
  },
  { name: 'kd', seed: 14, spec: { trainer: { type: 'logistic_regression', epochs: 60, checkpointEveryEpochs: 5 } } },
];

interface PlannedKill {
  id: string;
  round: number;
  model: string;
  step: KillStep;
  activityType: string;
  offsetMs: number;
  downMs: number;
}

interface Kill extends PlannedKill {
  n: number;
  pid: number;
  report: FaultPointReport;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Replaces the plan atomically: a worker reading it at an activity start never sees half a file. */
function writePlanFile(file: string, points: KillPoint[]): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(points));
  renameSync(`${file}.tmp`, file);
}

function shuffle<T>(items: T[], rng: ReturnType<typeof createRng>): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * 20 kills, one per model per round. Steps: round-robin over STEPS from a seeded start, so each
 * of the 9 steps gets 2 or 3 kills whatever the seed. The rollout kills go to kc (its shadow phase
 * runs for seconds, and from round 1 on it has a champion to roll out against) in seeded rounds
 * 1-4, at a seeded activity of the child; the other steps are dealt to the remaining (round,
 * model) slots in a seeded order. Each kill gets a seeded offset into its step (0-800 ms) and
 * down time (0-1000 ms).
 */
function killSchedule(rng: ReturnType<typeof createRng>): PlannedKill[] {
  const total = ROUNDS * KILLS_PER_ROUND;
  const first = rng.nextInt(STEPS.length);
  const steps = Array.from({ length: total }, (_, i) => STEPS[(first + i) % STEPS.length]);
  const rolloutRounds = new Set(shuffle([1, 2, 3, 4], rng).slice(0, steps.filter((s) => s === 'rollout').length));
  const others = shuffle(
    steps.filter((s) => s !== 'rollout'),
    rng,
  );
  const out: PlannedKill[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < KILLS_PER_ROUND; i++) {
      const model = MODELS[i].name;
      const step: KillStep = model === 'kc' && rolloutRounds.has(round) ? 'rollout' : others.pop()!;
      const activityType = step === 'rollout' ? ROLLOUT_ACTIVITIES[rng.nextInt(ROLLOUT_ACTIVITIES.length)] : ACTIVITY_OF[step];
      out.push({ id: `kill-${out.length + 1}`, round, model, step, activityType, offsetMs: rng.nextInt(800), downMs: rng.nextInt(1000) });
    }
  }
  return out;
}

/** The workflow a planned kill waits in: the round's retrain run, or (rollout) its model's rollout child. */
function killPointOf(kill: PlannedKill): KillPoint {
  const workflow = kill.step === 'rollout' ? `rollout/${kill.model}/` : `retrain/${kill.model}/round-${kill.round}`;
  return { id: kill.id, workflow, activityType: kill.activityType, offsetMs: kill.offsetMs };
}

describe('worker killed with -9 at seeded points of the retrain DAG', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let store: ArtifactStore;
  let temporal: TestTemporal;
  let worker: FaultWorker;
  let tempRoot: string;
  let planFile: string;

  beforeAll(async () => {
    database = await createTestDatabase('flywheel_fault');
    lineage = await openLineageDb({ url: database.url });
    const root = mkdtempSync(path.join(tmpdir(), 'flywheel-kills-'));
    tempRoot = mkdtempSync(path.join(tmpdir(), 'flywheel-kills-train-'));
    planFile = path.join(root, 'kill-plan.json');
    writeFileSync(planFile, '[]');
    store = openArtifactStore(pathToFileURL(path.join(root, 'artifacts')).toString());
    temporal = await startTestTemporal();
    const bundle = await buildFaultBundle(path.join(root, 'workflow-bundle.js'));
    for (const model of MODELS) {
      await applyModelSpec(lineage.db, exampleSpec({ name: model.name, ...model.spec }));
      await insertLabelledExamples(lineage.db, model.name, generateCtrHistory({ seed: model.seed, rows: 1500, end: HISTORY_END, days: 30 }));
    }
    worker = new FaultWorker({
      TEMPORAL_ADDRESS: temporal.server.address,
      DATABASE_URL: database.url,
      FLYWHEEL_ARTIFACT_ROOT: store.rootUri,
      FAULT_BUNDLE_PATH: bundle,
      FAULT_TEMP_ROOT: tempRoot,
      FAULT_KILL_PLAN: planFile,
    });
    await worker.start();
  });

  afterAll(async () => {
    await worker?.stop().catch(() => {});
    await temporal?.stop().catch(() => {});
    await lineage?.close().catch(() => {});
    await database?.drop().catch(() => {});
  });

  it('survives 20 kills, at least one in every step: every pipeline completes, no duplicate rows, no orphaned artifacts, lineage matches the store', { timeout: 480_000 }, async () => {
    const started = Date.now();
    const rng = createRng(SEED);
    const { db } = lineage;
    const kills: Kill[] = [];
    const results: Array<{ id: string; result?: RetrainResult; error?: unknown }> = [];
    const schedule = killSchedule(rng);
    console.log(`kill plan (seed ${SEED}): ${schedule.map((k) => `${k.id} r${k.round} ${k.model} ${k.step}${k.step === 'rollout' ? `:${k.activityType}` : ''} +${k.offsetMs}ms`).join('; ')}`);
    // Kills whose step never ran in their round (a rollout needs the gate to pass) move to the next round.
    let carried: PlannedKill[] = [];

    for (let round = 0; round < ROUNDS || carried.length > 0; round++) {
      if (round >= ROUNDS + 3) throw new Error(`kills that never found their step: ${carried.map((k) => `${k.id} ${k.model} ${k.step}`).join(', ')}`);
      const planned = new Map<string, PlannedKill>();
      for (const k of schedule.filter((k) => k.round === round)) planned.set(k.id, k);
      // A carried kill keeps its step; a carried rollout kill waits in any model's rollout child, at its first activity.
      for (const k of carried) planned.set(k.id, k.step === 'rollout' ? { ...k, round, model: '', activityType: 'prepareRollout' } : { ...k, round });
      carried = [];
      const writePlan = () => writePlanFile(planFile, [...planned.values()].map((k) => (k.step === 'rollout' && !k.model ? { ...killPointOf(k), workflow: 'rollout/' } : killPointOf(k))));
      writePlan();

      const reports: FaultPointReport[] = [];
      let wake: (() => void) | null = null;
      worker.onFaultPoint = (report) => {
        reports.push(report);
        wake?.();
      };
      const reference = new Date(HISTORY_END.getTime() - Math.max(0, ROUNDS - 1 - round) * 86_400_000).toISOString();
      const handles: RetrainHandle[] = [];
      for (const model of MODELS) handles.push(await startRetrain(temporal.client, { model: model.name, referenceTime: reference, idempotencyKey: `round-${round}`, trigger: 'fault-suite' }));
      const outcomes = handles.map((h) =>
        h.result().then(
          (result) => ({ id: h.workflowId, result }),
          (error: unknown) => ({ id: h.workflowId, error }),
        ),
      );
      let finished = false;
      void Promise.all(outcomes).then(() => {
        finished = true;
        wake?.();
      });

      // Each report is an activity holding its completion at its kill point: kill that worker now.
      while (!finished || reports.length > 0) {
        if (reports.length === 0) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
          continue;
        }
        const report = reports.shift()!;
        const plan = planned.get(report.id);
        // Already fired, or reported by a process that is already dead (its attempt is retried and reports again).
        if (!plan || report.pid !== worker.pid) continue;
        const { pid } = await worker.kill();
        // The plan is rewritten before the next process starts, so the retried attempt runs through.
        planned.delete(report.id);
        writePlan();
        kills.push({ ...plan, n: kills.length + 1, pid, report });
        await sleep(plan.downMs);
        await worker.start();
      }
      worker.onFaultPoint = null;
      carried = [...planned.values()];
      results.push(...(await Promise.all(outcomes)));
    }
    writePlanFile(planFile, []);

    const wallS = Math.round((Date.now() - started) / 1000);
    const ids = results.map((r) => r.id);
    const failed = results.filter((r) => r.error);
    // Every kill, where it landed and what each pipeline decided, for the log.
    console.log(`worker kills: ${kills.length} in ${wallS} s (seed ${SEED})`);
    for (const k of kills) {
      const r = k.report;
      console.log(
        `  kill ${String(k.n).padStart(2)} round ${k.round} pid ${k.pid}: ${k.step} — ${r.workflowId} ${r.activityType} attempt ${r.attempt}, after ${r.ranMs} ms (planned +${k.offsetMs} ms; ${r.workDone ? 'work done, completion not yet reported' : 'mid-work'}), down ${k.downMs} ms`,
      );
    }
    for (const r of results) console.log(`  ${r.id}: ${r.result ? `${r.result.versionId} ${r.result.decision}${r.result.rollout ? ` (rollout ${r.result.rollout.outcome})` : ''}` : `FAILED ${(r.error as Error).message}`}`);
    expect(failed.map((f) => `${f.id}: ${(f.error as Error).message}`)).toEqual([]);
    expect(kills).toHaveLength(20);
    expect(new Set(worker.kills.map((k) => k.pid)).size).toBe(20);
    // Every step got a kill: the ones issue 10 names, and every other step of the DAG.
    const perStep = Object.fromEntries(STEPS.map((step) => [step, kills.filter((k) => k.step === step).length])) as Record<KillStep, number>;
    console.log(`  kills per step: ${STEPS.map((step) => `${step} ${perStep[step]}`).join(', ')}`);
    for (const step of NAMED_STEPS) expect(perStep[step], `kills in ${step}`).toBeGreaterThanOrEqual(1);
    for (const step of STEPS) expect(perStep[step], `kills in ${step}`).toBeGreaterThanOrEqual(1);
    for (const k of kills) {
      expect(k.report.activityType).toBe(k.activityType);
      if (k.step !== 'rollout') expect(k.report.workflowId).toBe(`retrain/${k.model}/round-${k.round}`);
      else expect(k.report.workflowId).toMatch(/^rollout\//);
    }
    // Each killed attempt was lost and retried: the activity's recorded (last) attempt is a later one.
    for (const k of kills) {
      const history = await temporal.client.workflow.getHandle(k.report.workflowId).fetchHistory();
      const scheduled = (history.events ?? []).find((e) => e.activityTaskScheduledEventAttributes?.activityId === k.report.activityId);
      expect(scheduled, `${k.id}: activity ${k.report.activityId} in ${k.report.workflowId}`).toBeDefined();
      const startedEvent = (history.events ?? []).find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId ?? '') === String(scheduled!.eventId));
      expect(startedEvent?.activityTaskStartedEventAttributes?.attempt ?? 0, `${k.id}: ${k.report.activityType} retried after the kill`).toBeGreaterThan(k.report.attempt);
    }

    // The kills cost retries: activities whose recorded attempt is not the first, in the histories.
    let retriedAttempts = 0;
    for (const id of ids) {
      const history = await temporal.client.workflow.getHandle(id).fetchHistory();
      for (const event of history.events ?? []) {
        if (event.activityTaskStartedEventAttributes && (event.activityTaskStartedEventAttributes.attempt ?? 1) > 1) retriedAttempts++;
      }
    }
    console.log(`  activities that completed on a retry: ${retriedAttempts}`);
    expect(retriedAttempts).toBeGreaterThan(0);

    // Lineage: one run row per pipeline, finished; one version and one evaluation per run; no duplicates anywhere.
    const runs = await db.selectFrom('pipeline_runs').select(['id', 'status']).execute();
    expect(runs.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(runs.filter((r) => r.status === 'running' || r.status === 'failed')).toEqual([]);
    expect(await duplicateLineageRows(db)).toEqual([]);
    const versions = await db.selectFrom('model_versions').select(['id', 'pipeline_run_id']).execute();
    expect(versions.map((v) => v.pipeline_run_id).sort()).toEqual([...ids].sort());
    expect(await db.selectFrom('evaluations').select('id').execute()).toHaveLength(results.length);
    expect(await db.selectFrom('rollouts').select('id').where('status', '=', 'running').execute()).toEqual([]);
    for (const r of results) expect(r.result!.versionId).toBe(versions.find((v) => v.pipeline_run_id === r.id)!.id);

    // The artifact store: every URI lineage names exists; nothing unaccounted for; the scratch runs
    // leave on purpose (staged windows, intermediate checkpoints) is all the sweeper finds, and removes.
    expect(await missingArtifacts({ db, store })).toEqual([]);
    const before = await artifactCensus({ db, store });
    console.log(`  artifacts: ${before.total} files ${JSON.stringify(before.byClass)}; scratch ${JSON.stringify(before.scratchKinds)}`);
    expect(before.orphans.map((o) => o.key)).toEqual([]);
    expect(Object.keys(before.scratchKinds).sort()).toEqual(['intermediate training checkpoint', 'staged window']);
    const swept = await sweepOrphanedArtifacts({ db, store }, { olderThanMs: 0 });
    expect(swept.kept).toEqual([]);
    expect(swept.removed).toHaveLength(before.byClass['run-scratch']);
    const after = await artifactCensus({ db, store });
    expect(after.byClass['run-scratch'] ?? 0).toBe(0);
    expect(after.orphans).toEqual([]);
    expect(await missingArtifacts({ db, store })).toEqual([]);
    console.log(`  sweeper removed ${swept.removed.length} scratch files; ${after.total} files left, all referenced`);
    // Attempts killed mid-training leave their temp dirs until the next attempt sweeps dead owners' dirs.
    console.log(`  trainer temp dirs left: ${readdirSync(tempRoot).length}`);
    console.log(`kills survived: ${kills.length}/20; pipelines completed: ${results.length - failed.length}/${results.length}; wall ${Math.round((Date.now() - started) / 1000)} s`);
  });
});
