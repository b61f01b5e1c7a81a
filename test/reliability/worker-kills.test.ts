// kill -9 of the worker at seeded points of the retrain DAG, 20 times, on the real stack: Temporal
// dev server, PostgreSQL (fresh database), file:// artifact store, and the worker (both task
// queues, production activities and workflow code) in a separate process that is SIGKILLed and
// replaced. Four models retrain concurrently in five rounds (20 pipelines); in each round four
// kills land when a chosen run reaches a chosen step (labels, pull, validate, dataset, train,
// evaluate, register or its staged-rollout child) plus a seeded delay. Then: every pipeline completed, lineage has no
// duplicate rows, every URI lineage names exists, and the only unreferenced files are the scratch
// a run leaves on purpose, which the sweeper removes.
//
// Bounded: the fault worker's activities get a 4 s heartbeat timeout (test/support/
// fault-timeouts-interceptor.ts; production: 2 min) so a lost attempt is retried in seconds.
import { mkdtempSync, readdirSync } from 'node:fs';
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
import { artifactCensus, duplicateLineageRows, missingArtifacts } from '../support/fault-lineage';
import { buildFaultBundle, FaultWorker } from '../support/fault-worker';
import { exampleSpec, HISTORY_END } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, type TestTemporal } from '../support/temporal';

const SEED = Number(process.env.FLYWHEEL_FAULT_SEED ?? 20261122);
const ROUNDS = 5;
const KILLS_PER_ROUND = 4;
const STEPS = ['labels', 'pull', 'validate', 'dataset', 'train', 'evaluate', 'register', 'rollout'] as const;
type KillStep = (typeof STEPS)[number];
// pipeline_runs.current_step in DAG order (markStep at the start of each activity); 'rollout' while the child's rollout row runs.
const ORDER = ['start', 'plan', 'labels', 'testset', 'pull', 'validate', 'dataset', 'train', 'evaluate', 'register', 'rollout', 'promote', 'reject', 'done'];

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

interface Kill {
  n: number;
  round: number;
  target: string;
  planned: KillStep;
  actual: string;
  delayMs: number;
  downMs: number;
  pid: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * 20 kills, 4 per round, one per model per round. Every step is planned at least twice: the
 * rollout step on kc (its shadow phase runs for seconds) in rounds 1 and 3, the other seven steps
 * from a seeded shuffle of two of each plus four drawn at random.
 */
function killSchedule(rng: ReturnType<typeof createRng>): Array<{ round: number; model: string; step: KillStep }> {
  const others = STEPS.filter((s) => s !== 'rollout');
  const pool: KillStep[] = [...others, ...others, ...Array.from({ length: 4 }, () => others[rng.nextInt(others.length)])];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  const out: Array<{ round: number; model: string; step: KillStep }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < KILLS_PER_ROUND; i++) {
      const model = MODELS[(round + i) % MODELS.length].name;
      out.push({ round, model, step: model === 'kc' && (round === 1 || round === 3) ? 'rollout' : pool.pop()! });
    }
  }
  return out;
}

describe('worker killed with -9 at seeded points of the retrain DAG', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let store: ArtifactStore;
  let temporal: TestTemporal;
  let worker: FaultWorker;
  let tempRoot: string;

  beforeAll(async () => {
    database = await createTestDatabase('flywheel_fault');
    lineage = await openLineageDb({ url: database.url });
    const root = mkdtempSync(path.join(tmpdir(), 'flywheel-kills-'));
    tempRoot = mkdtempSync(path.join(tmpdir(), 'flywheel-kills-train-'));
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
    });
    await worker.start();
  });

  afterAll(async () => {
    await worker?.stop().catch(() => {});
    await temporal?.stop().catch(() => {});
    await lineage?.close().catch(() => {});
    await database?.drop().catch(() => {});
  });

  it('survives 20 kills: every pipeline completes, no duplicate rows, no orphaned artifacts, lineage matches the store', { timeout: 480_000 }, async () => {
    const started = Date.now();
    const rng = createRng(SEED);
    const { db } = lineage;
    const kills: Kill[] = [];
    const results: Array<{ id: string; result?: RetrainResult; error?: unknown }> = [];
    let carried = 0;
    const schedule = killSchedule(rng);

    const progress = async (ids: string[]) => {
      try {
        const runs = await db.selectFrom('pipeline_runs').select(['id', 'current_step', 'status']).where('id', 'in', ids).execute();
        const rollouts = await db.selectFrom('rollouts').select(['pipeline_run_id', 'status']).where('pipeline_run_id', 'in', ids).where('status', '=', 'running').execute();
        const rolling = new Set(rollouts.map((r) => r.pipeline_run_id));
        return new Map(runs.map((r) => [r.id, { step: rolling.has(r.id) ? 'rollout' : r.current_step, finished: r.status !== 'running' }]));
      } catch {
        // The observer's own connection dropped (a PostgreSQL restart elsewhere on the machine): look again.
        return new Map<string, { step: string; finished: boolean }>();
      }
    };

    for (let round = 0; round < ROUNDS || carried > 0; round++) {
      const reference = new Date(HISTORY_END.getTime() - Math.max(0, ROUNDS - 1 - round) * 86_400_000).toISOString();
      const handles: RetrainHandle[] = [];
      for (const model of MODELS) handles.push(await startRetrain(temporal.client, { model: model.name, referenceTime: reference, idempotencyKey: `round-${round}`, trigger: 'fault-suite' }));
      const ids = handles.map((h) => h.workflowId);
      const outcomes = handles.map((h) =>
        h.result().then(
          (result) => ({ id: h.workflowId, result }),
          (error: unknown) => ({ id: h.workflowId, error }),
        ),
      );
      let done = 0;
      void Promise.all(outcomes).then(() => (done = 1));

      // This round's kills: seeded targets and steps, in DAG order so each lands on work still ahead.
      const planned = schedule
        .filter((k) => k.round === round)
        .concat(Array.from({ length: carried }, () => ({ round, model: MODELS[rng.nextInt(MODELS.length)].name, step: STEPS[rng.nextInt(STEPS.length - 1)] as KillStep })))
        .map((k) => ({ target: `retrain/${k.model}/round-${round}`, step: k.step, delayMs: rng.nextInt(400), downMs: rng.nextInt(1000) }))
        .sort((a, b) => ORDER.indexOf(a.step) - ORDER.indexOf(b.step));
      carried = 0;

      for (const plan of planned) {
        // Wait until the target reaches (or passes) the step; a finished target hands the kill to the least advanced running run.
        let target = plan.target;
        for (;;) {
          const state = await progress(ids);
          const t = state.get(target);
          if (t && !t.finished && ORDER.indexOf(t.step) >= ORDER.indexOf(plan.step)) break;
          if (t?.finished || done) {
            const running = [...state.entries()].filter(([, s]) => !s.finished).sort((a, b) => ORDER.indexOf(a[1].step) - ORDER.indexOf(b[1].step));
            if (running.length === 0) break;
            target = running[0][0];
            break;
          }
          await sleep(25);
        }
        await sleep(plan.delayMs);
        const state = await progress(ids);
        const t = state.get(target);
        if (!t || t.finished) {
          carried++;
          continue;
        }
        const { pid } = await worker.kill();
        kills.push({ n: kills.length + 1, round, target, planned: plan.step, actual: t.step, delayMs: plan.delayMs, downMs: plan.downMs, pid });
        await sleep(plan.downMs);
        await worker.start();
      }
      results.push(...(await Promise.all(outcomes)));
    }

    const wallS = Math.round((Date.now() - started) / 1000);
    const ids = results.map((r) => r.id);
    const failed = results.filter((r) => r.error);
    // Every kill, where it landed and what each pipeline decided, for the log.
    console.log(`worker kills: ${kills.length} in ${wallS} s (seed ${SEED})`);
    for (const k of kills) console.log(`  kill ${String(k.n).padStart(2)} round ${k.round} pid ${k.pid}: ${k.target} planned ${k.planned}, landed in ${k.actual} (+${k.delayMs} ms, down ${k.downMs} ms)`);
    for (const r of results) console.log(`  ${r.id}: ${r.result ? `${r.result.versionId} ${r.result.decision}${r.result.rollout ? ` (rollout ${r.result.rollout.outcome})` : ''}` : `FAILED ${(r.error as Error).message}`}`);
    expect(failed.map((f) => `${f.id}: ${(f.error as Error).message}`)).toEqual([]);
    expect(kills).toHaveLength(20);
    expect(new Set(worker.kills.map((k) => k.pid)).size).toBe(20);
    const landed = new Set(kills.map((k) => k.actual));
    console.log(`  kills landed in: ${[...landed].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b)).map((step) => `${step} ${kills.filter((k) => k.actual === step).length}`).join(', ')}`);
    expect(landed.size).toBeGreaterThanOrEqual(5);
    expect(landed.has('train')).toBe(true);

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
