// Orchestration benchmarks: what Temporal costs per DAG step. The retrain DAG runs on a tiny
// dataset (300 labelled rows) against a real dev server, a real PostgreSQL database and the
// file:// artifact store, with one in-process worker for both task queues; the same steps run as a
// plain sequential script (bench/script-baseline.ts) on identical data in the same database,
// interleaved with the DAG runs so drift in the machine's state hits both alike.
//
//   orchestration_overhead_ms_per_step  (DAG wall − Σ activity time) / activity executions
//   dag_vs_script_ratio                 DAG wall / script wall, paired run by run
//   dag_wall_ms, script_wall_ms         the two wall times
//
// "Activity time" is measured by an activity inbound interceptor around every activity function
// (all 11 of them, including those without an elapsedMs in RetrainResult.stepMs); the DAG wall is
// taken in the client from before workflow.start to handle.result() resolving.
//
// Also exports the worker harness the scale suite uses: Worker.create options the project's
// createWorkers does not expose yet (interceptors, workflow-task concurrency, cache size) are
// merged in for the duration of createWorkers, so the bench still runs the project's own worker code.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { WorkflowFailedError } from '@temporalio/client';
import { NativeConnection, Worker, type ActivityInterceptorsFactory, type WorkerOptions } from '@temporalio/worker';
import { orchestrationActivities, trainingActivities } from '../../activities';
import { startRetrain } from '../../client/retrain';
import { insertLabelledExamples } from '../../lineage/labelled-examples';
import { applyModelSpec } from '../../lineage/models';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import type { Database } from '../../lineage/schema';
import { generateCtrHistory } from '../../scenarios/ctr-history';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { exampleSpec, HISTORY_END } from '../../test/support/fixtures';
import { createTestDatabase, type TestDatabase } from '../../test/support/postgres';
import { startTestTemporal, type TestTemporal } from '../../test/support/temporal';
import { createWorkers, type QueueRole } from '../../worker/workers';
import type { RetrainResult } from '../../workflows/types';
import { summarize, type BenchSuite, type Figure } from '../figure';
import { runRetrainScript } from '../script-baseline';
import type { Kysely } from 'kysely';

export const ids = ['orchestration_overhead_ms_per_step', 'dag_vs_script_ratio', 'dag_wall_ms', 'script_wall_ms'];

export const TINY_ROWS = 300;

// ---- worker harness (shared with scale.ts) ------------------------------------------------------

/** Worker.create options the bench sets on top of what worker/workers.ts passes. */
export interface WorkerOverrides {
  /** Only for workers that run workflows (the orchestration queue). */
  workflow?: Pick<WorkerOptions, 'maxConcurrentWorkflowTaskExecutions' | 'maxCachedWorkflows' | 'maxConcurrentWorkflowTaskPolls' | 'workflowThreadPoolSize'>;
  /** Appended to every worker's activity interceptors. */
  activityInterceptors?: ActivityInterceptorsFactory[];
}

/**
 * Runs `fn` (which calls createWorkers) with Worker.create wrapped so `overrides` are merged into
 * its options; restored afterwards. A stand-in until createWorkers takes these settings itself.
 */
export async function withWorkerOverrides<T>(overrides: WorkerOverrides, fn: () => Promise<T>): Promise<T> {
  const target = Worker as unknown as { create: (options: WorkerOptions) => Promise<Worker> };
  const original = target.create;
  target.create = (options: WorkerOptions) => {
    const runsWorkflows = Boolean(options.workflowBundle || options.workflowsPath);
    const merged: WorkerOptions = {
      ...options,
      ...(runsWorkflows ? overrides.workflow : {}),
      interceptors: {
        ...options.interceptors,
        activity: [...(options.interceptors?.activity ?? []), ...(overrides.activityInterceptors ?? [])],
      },
    };
    return original.call(Worker, merged);
  };
  try {
    return await fn();
  } finally {
    target.create = original;
  }
}

export interface ActivityRecord {
  activity: string;
  ms: number;
  attempt: number;
  ok: boolean;
  error?: string;
  /** From the server scheduling this attempt to the function starting (task-queue wait + dispatch). */
  queuedMs: number;
}

/** Times every activity execution (the function itself, nothing around it) per workflow id. */
export class ActivityClock {
  readonly byWorkflow = new Map<string, ActivityRecord[]>();

  readonly interceptor: ActivityInterceptorsFactory = (ctx) => ({
    inbound: {
      execute: async (input, next) => {
        const started = performance.now();
        const record: ActivityRecord = {
          activity: ctx.info.activityType,
          ms: 0,
          attempt: ctx.info.attempt,
          ok: false,
          queuedMs: Math.max(0, Date.now() - ctx.info.currentAttemptScheduledTimestampMs),
        };
        try {
          const result = await next(input);
          record.ok = true;
          return result;
        } catch (error) {
          record.error = error instanceof Error ? error.message : String(error);
          throw error;
        } finally {
          record.ms = performance.now() - started;
          const key = ctx.info.workflowExecution?.workflowId ?? '(none)';
          const list = this.byWorkflow.get(key) ?? [];
          list.push(record);
          this.byWorkflow.set(key, list);
        }
      },
    },
  });

  records(workflowId: string): ActivityRecord[] {
    return this.byWorkflow.get(workflowId) ?? [];
  }

  all(): ActivityRecord[] {
    return [...this.byWorkflow.values()].flat();
  }
}

export interface BenchWorker {
  stop(): Promise<void>;
}

/** In-process workers for both queues, built by the project's createWorkers, with overrides merged in. */
export async function startBenchWorkers(
  address: string,
  deps: { db: Kysely<Database>; store: ArtifactStore },
  options: { roles?: QueueRole[]; trainingSlots?: number; activitySlots?: number; overrides?: WorkerOverrides } = {},
): Promise<BenchWorker> {
  const connection = await NativeConnection.connect({ address });
  const workers = await withWorkerOverrides(options.overrides ?? {}, () =>
    createWorkers({ connection, namespace: 'default', deps, roles: options.roles ?? ['orchestration', 'training'], trainingSlots: options.trainingSlots, activitySlots: options.activitySlots }),
  );
  const running = Promise.all(workers.map((w) => w.run()));
  return {
    async stop() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** A fresh PostgreSQL database, lineage on it, a temp file:// store, a dev server. */
export interface Lab {
  database: TestDatabase;
  lineage: LineageDb;
  store: ArtifactStore;
  storeDir: string;
  temporal: TestTemporal;
  /** Runs `cleanup` on close, before what the lab itself set up (e.g. stop a worker process). */
  defer(cleanup: () => Promise<unknown> | unknown): void;
  close(): Promise<void>;
}

const openLabs = new Set<() => Promise<void>>();
let signalsHooked = false;

/** Ctrl-C or SIGTERM during a bench still drops its databases and stops its servers and workers. */
function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\nbench: ${signal}: cleaning up ${openLabs.size} lab(s) (databases, dev servers, workers)`);
      const force = setTimeout(() => process.exit(130), 20_000);
      void Promise.all([...openLabs].map((close) => close())).finally(() => {
        clearTimeout(force);
        process.exit(130);
      });
    });
  }
}

export async function openLab(prefix: string): Promise<Lab> {
  hookSignals();
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      openLabs.delete(close);
      for (const cleanup of cleanups.reverse()) {
        await Promise.resolve()
          .then(cleanup)
          .catch((error) => console.error(`bench: ${prefix} cleanup failed (${error instanceof Error ? error.message : String(error)}); remove what it left by hand`));
      }
    })();
    return closed;
  };
  openLabs.add(close);
  try {
    const database = await createTestDatabase('flywheel_bench');
    // A busy server can refuse the admin connection for a moment (too many clients): try again.
    cleanups.push(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await database.drop();
        } catch (error) {
          if (attempt >= 3) throw new Error(`could not drop database ${database.name}: ${error instanceof Error ? error.message : String(error)}`);
          await new Promise((r) => setTimeout(r, 2_000));
        }
      }
    });
    const lineage = await openLineageDb({ url: database.url });
    cleanups.push(() => lineage.close());
    const storeDir = mkdtempSync(path.join(tmpdir(), `flywheel-bench-${prefix}-`));
    cleanups.push(() => rmSync(storeDir, { recursive: true, force: true }));
    const store = openArtifactStore(pathToFileURL(storeDir).toString());
    const temporal = await startTestTemporal();
    cleanups.push(() => temporal.stop());
    return { database, lineage, store, storeDir, temporal, close, defer: (cleanup) => cleanups.push(cleanup) };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The example CTR spec under `name` with `rows` labelled rows ending at HISTORY_END (same seed → same rows). */
export async function seedTinyModel(db: Kysely<Database>, name: string, rows: number, seed = 7): Promise<void> {
  await applyModelSpec(db, exampleSpec({ name }));
  await insertLabelledExamples(db, name, generateCtrHistory({ seed, rows, end: HISTORY_END, days: 30 }));
}

/** Waits for a promise at most `ms`; rejects with `what` named otherwise. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export function rootCause(error: unknown): string {
  let current = error as { message?: string; cause?: unknown } | undefined;
  while (current && typeof current === 'object' && current.cause) current = current.cause as typeof current;
  const message = current?.message ?? String(error);
  return error instanceof WorkflowFailedError ? `workflow failed: ${message}` : message;
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

// ---- the suite ------------------------------------------------------------------------------------

interface PairSample {
  dagWallMs: number;
  dagActivityMs: number;
  dagSteps: number;
  dagStepMsSum: number;
  scriptWallMs: number;
  scriptCallMs: number;
  trainMs: number;
  scriptTrainMs: number;
  workflowId: string;
  stepKeys: number;
  /** Σ over activities of schedule → start (the server dispatching the task to the worker). */
  dagQueuedMs: number;
  /** Largest |interceptor time − the activity's own elapsedMs| over the steps in stepMs. */
  stepMsDisagreement: number;
}

const STEP_ACTIVITY: Record<string, string> = {
  pull: 'pullLabelledWindow',
  validate: 'validateDataWindow',
  dataset: 'formDatasetSnapshot',
  train: 'trainCandidate',
  evaluate: 'evaluateCandidate',
  register: 'registerCandidateVersion',
  promote: 'promoteToChampion',
  reject: 'rejectCandidate',
};

/** How far the interceptor's times are from what the activities report themselves (should be ~0). */
export function stepMsDisagreement(stepMs: Record<string, number>, records: ActivityRecord[]): number {
  let worst = 0;
  for (const [step, ms] of Object.entries(stepMs)) {
    const record = records.find((r) => r.ok && r.activity === STEP_ACTIVITY[step]);
    if (record) worst = Math.max(worst, Math.abs(record.ms - ms));
  }
  return worst;
}

const RUN_TIMEOUT_MS = 5 * 60_000;

/** The comparison is only fair while the script runs exactly the DAG's activities, in its order. */
export function assertSameSteps(dagActivities: string[], scriptActivities: string[]): void {
  if (dagActivities.join(',') === scriptActivities.join(',')) return;
  throw new Error(
    `bench/script-baseline.ts is out of step with workflows/retrain.ts, so the DAG/script comparison would not be fair: ` +
      `the DAG ran [${dagActivities.join(', ')}], the script [${scriptActivities.join(', ')}]; update the script to call the same activities in the same order`,
  );
}

export async function run(options: { quick: boolean; log: (line: string) => void }): Promise<Figure[]> {
  const { quick, log } = options;
  const runs = quick ? 3 : 9;
  const lab = await openLab('orchestration');
  const clock = new ActivityClock();
  let worker: BenchWorker | undefined;
  try {
    const deps = { db: lab.lineage.db, store: lab.store };
    // One model per run and path, all seeded with the same rows: every run is a first run (v1, no
    // champion), so the DAG and the script do exactly the same work.
    log(`seeding ${2 * (runs + 1)} models x ${TINY_ROWS} rows`);
    for (let i = 0; i <= runs; i++) {
      await seedTinyModel(lab.lineage.db, `dag${i}`, TINY_ROWS);
      await seedTinyModel(lab.lineage.db, `script${i}`, TINY_ROWS);
    }
    worker = await startBenchWorkers(lab.temporal.server.address, deps, { overrides: { activityInterceptors: [clock.interceptor] } });
    // The script shares its activity objects across runs, as a worker process shares its registered ones.
    const activities = { light: orchestrationActivities(deps), training: trainingActivities(deps) };

    const dag = async (i: number): Promise<{ wallMs: number; result: RetrainResult }> => {
      const started = performance.now();
      const handle = await startRetrain(lab.temporal.client, { model: `dag${i}`, referenceTime: HISTORY_END.toISOString(), idempotencyKey: `bench-${i}` });
      try {
        const result = await within(handle.result(), RUN_TIMEOUT_MS, `retrain DAG ${handle.workflowId}`);
        return { wallMs: performance.now() - started, result };
      } catch (error) {
        await handle.terminate('bench timeout').catch(() => {});
        throw error;
      }
    };
    const script = async (i: number) => {
      const started = performance.now();
      const result = await within(
        runRetrainScript(deps, { modelName: `script${i}`, referenceTime: HISTORY_END.toISOString(), pipelineRunId: `script/script${i}/bench-${i}` }, activities),
        RUN_TIMEOUT_MS,
        `script run ${i}`,
      );
      return { wallMs: performance.now() - started, result };
    };

    // Warm-up pair (index 0, not counted): workflow bundle in the worker's VM, sticky queue, JIT,
    // tsx's transform cache for the trainer child process, PostgreSQL's plan and buffer caches.
    log('warm-up run (DAG + script, not counted)');
    const warmDag = await dag(0);
    const warmScript = await script(0);
    log(`  warm-up: DAG ${round(warmDag.wallMs)} ms (${warmDag.result.decision}), script ${round(warmScript.wallMs)} ms (${warmScript.result.decision})`);

    const samples: PairSample[] = [];
    for (let i = 1; i <= runs; i++) {
      // Alternate which goes first, so neither always runs on a machine the other just warmed.
      let d: Awaited<ReturnType<typeof dag>>;
      let s: Awaited<ReturnType<typeof script>>;
      if (i % 2) {
        d = await dag(i);
        s = await script(i);
      } else {
        s = await script(i);
        d = await dag(i);
      }
      const records = clock.records(d.result.workflowId);
      const failed = records.filter((r) => !r.ok);
      if (failed.length) log(`  note: ${failed.length} activity attempt(s) failed in ${d.result.workflowId}: ${failed.map((r) => `${r.activity}#${r.attempt}: ${r.error}`).join('; ')}`);
      if (d.result.decision !== s.result.decision) throw new Error(`DAG and script disagree on the same data: DAG ${d.result.decision}, script ${s.result.decision}`);
      assertSameSteps(records.filter((r) => r.ok).map((r) => r.activity), s.result.calls.map((c) => c.activity));
      const sample: PairSample = {
        dagWallMs: d.wallMs,
        dagActivityMs: records.reduce((sum, r) => sum + r.ms, 0),
        dagSteps: records.length,
        dagStepMsSum: Object.values(d.result.stepMs).reduce((sum, ms) => sum + ms, 0),
        scriptWallMs: s.wallMs,
        scriptCallMs: s.result.calls.reduce((sum, c) => sum + c.ms, 0),
        trainMs: d.result.stepMs.train ?? 0,
        scriptTrainMs: s.result.calls.find((c) => c.activity === 'trainCandidate')?.ms ?? 0,
        workflowId: d.result.workflowId,
        stepKeys: Object.keys(d.result.stepMs).length,
        dagQueuedMs: records.reduce((sum, r) => sum + r.queuedMs, 0),
        stepMsDisagreement: stepMsDisagreement(d.result.stepMs, records),
      };
      samples.push(sample);
      const overhead = (sample.dagWallMs - sample.dagActivityMs) / sample.dagSteps;
      log(
        `  run ${i}/${runs}: DAG ${round(sample.dagWallMs)} ms (activities ${round(sample.dagActivityMs)} ms over ${sample.dagSteps} executions, train ${round(sample.trainMs)} ms) ` +
          `→ ${round(overhead, 2)} ms/step; script ${round(sample.scriptWallMs)} ms (calls ${round(sample.scriptCallMs)} ms, train ${round(sample.scriptTrainMs)} ms); ratio ${round(sample.dagWallMs / sample.scriptWallMs, 3)}`,
      );
    }

    const steps = samples[0].dagSteps;
    const activityNames = [...new Set(clock.records(samples[0].workflowId).map((r) => r.activity))].join(', ');
    const median = (xs: number[]) => summarize('_', '', xs, '').value;
    const outsideStepMs = median(samples.map((s) => s.dagActivityMs - s.dagStepMsSum));
    const where = `${TINY_ROWS} labelled rows, example CTR spec (logistic regression, ${lab.temporal.server.binary.includes('sdk') ? 'SDK' : 'CLI'} dev server in-memory SQLite, PostgreSQL database, file:// store, one in-process worker with the default createWorkers settings)`;
    return [
      summarize(
        'orchestration_overhead_ms_per_step',
        'ms/step',
        samples.map((s) => (s.dagWallMs - s.dagActivityMs) / s.dagSteps),
        `(DAG wall from client start to result − Σ time inside the ${steps} activity executions, timed by an activity interceptor) / ${steps}; ` +
          `of which schedule → start of the activity task is a median ${round(median(samples.map((s) => s.dagQueuedMs / s.dagSteps)), 2)} ms/step (the rest: workflow tasks, completions, client start and result); ` +
          `activities: ${activityNames}; the ${steps - samples[0].stepKeys} without an entry in RetrainResult.stepMs took a median ${round(outsideStepMs)} ms together; ` +
          `for the others the interceptor and the activity's own elapsedMs differ by ≤ ${round(Math.max(...samples.map((s) => s.stepMsDisagreement)), 2)} ms; ${where}; median of ${runs} runs after 1 warm-up`,
      ),
      summarize(
        'dag_vs_script_ratio',
        'x',
        samples.map((s) => s.dagWallMs / s.scriptWallMs),
        `wall time of the retrain DAG on Temporal / the same activity functions called in the same order by bench/script-baseline.ts, paired per run on identical data in the same database, alternating which goes first; ` +
          `medians: DAG ${round(median(samples.map((s) => s.dagWallMs)))} ms = Σ activities ${round(median(samples.map((s) => s.dagActivityMs)))} ms (train ${round(median(samples.map((s) => s.trainMs)))} ms) + orchestration; ` +
          `script ${round(median(samples.map((s) => s.scriptWallMs)))} ms = Σ the same calls ${round(median(samples.map((s) => s.scriptCallMs)))} ms (train ${round(median(samples.map((s) => s.scriptTrainMs)))} ms); ${where}`,
      ),
      summarize('dag_wall_ms', 'ms', samples.map((s) => s.dagWallMs), `retrain DAG wall, client start → result; median train step ${round(median(samples.map((s) => s.trainMs)))} ms (a child process per training); ${where}`),
      summarize('script_wall_ms', 'ms', samples.map((s) => s.scriptWallMs), `bench/script-baseline.ts wall for the same steps (no Temporal); Σ activity calls ${round(median(samples.map((s) => s.scriptCallMs)))} ms median; ${where}`),
    ];
  } finally {
    await worker?.stop().catch((error) => log(`worker stop failed: ${rootCause(error)}`));
    await lab.close();
  }
}

const suite: BenchSuite = { ids, run };
export default suite;

if (require.main === module) {
  run({ quick: process.argv.includes('--quick'), log: (line) => console.error(line) })
    .then((figures) => console.log(JSON.stringify(figures, null, 2)))
    .catch((error) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exitCode = 1;
    });
}
