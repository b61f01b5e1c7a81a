// Records one history per workflow path as a JSON fixture for the replay test
// (test/integration/replay.test.ts), which replays every fixture against the current workflow
// bundle: a workflow change that would break a running execution fails it, until the change is
// guarded with patched() or the fixtures are re-recorded on purpose.
//
//   npm run record-histories            (tsx scripts/record-histories.ts)
//   npx tsx scripts/record-histories.ts --out test/fixtures/histories --only retrain-approval,rollout-operator
//
// Starts its own Temporal dev server, a fresh PostgreSQL database (TEST_PG_ADMIN_URL, default the
// local server; PGlite in a temp folder when none answers), a file:// artifact store and the
// production workers (worker/workers.ts createWorkers, the same bundle the replay test loads).
// Paths recorded: retrainWorkflow promoted, rejected, failed (bad input), with an approval update,
// with a staged-rollout child; rolloutWorkflow standalone with operator pause/resume updates;
// continualLearningWorkflow through one trigger, its retrain child and its exit; the
// freshnessExperimentWorkflow; artifactSweepWorkflow removing a finished run's scratch; monitoringWorkflow
// measuring a production window. The database URL the workers use carries a password placeholder and
// the labelled rows carry marker values, so the replay test can prove neither reaches a payload.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { NativeConnection, type Worker } from '@temporalio/worker';
import pg from 'pg';
import { startRetrain } from '../client/retrain';
import { startDevServer } from '../infra/dev-server';
import { installSdkLogging } from '../infra/sdk-logging';
import { connectClient } from '../infra/temporal-connection';
import { openLineageDb, type LineageDb } from '../lineage/db';
import { insertLabelledExamples } from '../lineage/labelled-examples';
import { applyModelSpec } from '../lineage/models';
import { generateCtrHistory, type LabelledExample } from '../scenarios/ctr-history';
import { pauseRollout, resumeRollout, startRollout } from '../serving/rollout-control';
import { openArtifactStore } from '../storage/artifact-store';
import { seedScenario } from '../test/support/monitoring';
import { registerVersion, seedChampion } from '../test/support/traffic';
import { createWorkers } from '../worker/workers';
import { ModelName, MaturityStage } from '../workflows/search-attributes';
import { approveCandidateUpdate, checkNowSignal, retrainStatusQuery } from '../workflows/signals';
import { ORCHESTRATION_QUEUE } from '../workflows/task-queues';

/** In the URL the workers connect with (trust auth ignores it); must never reach a payload. */
export const FIXTURE_PASSWORD = 'REPLAY-FIXTURE-PASSWORD-PLACEHOLDER';
/** In every 10th labelled row: a feature value and an entity id that must never reach a payload. */
export const FIXTURE_FEATURE_MARKER = 0.4815162342;
export const FIXTURE_ENTITY_MARKER = 'fixture-entity-marker-5e1f';

const END = new Date('2026-01-31T00:00:00Z');
const EXAMPLE_FEATURES = ['ad_relevance', 'user_ctr_7d', 'position', 'hour_sin'].map((name) => ({ name }));

export interface FixtureEntry {
  name: string;
  file: string;
  workflowId: string;
  runId: string;
  workflowType: string;
  description: string;
  events: number;
}

interface Recorded {
  name: string;
  description: string;
  handle: WorkflowHandle;
}

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function marked(rows: LabelledExample[]): LabelledExample[] {
  return rows.map((r, i) => (i % 10 === 0 ? { ...r, entityId: FIXTURE_ENTITY_MARKER, features: { ...r.features, ad_relevance: FIXTURE_FEATURE_MARKER } } : r));
}

async function openDatabase(): Promise<{ lineage: LineageDb; url: string | null; drop: () => Promise<void> }> {
  const admin = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `flywheel_histories_${Date.now().toString(36)}`;
  const client = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query(`create database "${name}"`);
    await client.end();
    const url = new URL(admin);
    url.pathname = `/${name}`;
    url.password = FIXTURE_PASSWORD;
    const lineage = await openLineageDb({ url: url.toString() });
    return {
      lineage,
      url: url.toString(),
      drop: async () => {
        await lineage.close();
        const c = new pg.Client({ connectionString: admin });
        await c.connect();
        await c.query(`drop database if exists "${name}" with (force)`);
        await c.end();
      },
    };
  } catch (error) {
    await client.end().catch(() => {});
    console.error(`record-histories: no PostgreSQL at ${admin} (${(error as Error).message}); using PGlite`);
    const dir = mkdtempSync(path.join(tmpdir(), 'flywheel-histories-pglite-'));
    const lineage = await openLineageDb({ url: '', pgliteDir: dir });
    return { lineage, url: null, drop: async () => lineage.close().then(() => rmSync(dir, { recursive: true, force: true })) };
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`record-histories: timed out waiting for ${what}`);
}

/** Each scenario runs its workflows to the end and returns the executions to record. */
type Scenario = (ctx: { client: Client; lineage: LineageDb; store: ReturnType<typeof openArtifactStore> }) => Promise<Recorded[]>;

const scenarios: Record<string, Scenario> = {
  async 'retrain-promoted'({ client, lineage }) {
    await applyModelSpec(lineage.db, { name: 'hist-plain', features: EXAMPLE_FEATURES, data: { minRows: 200 } });
    await insertLabelledExamples(lineage.db, 'hist-plain', marked(generateCtrHistory({ seed: 41, rows: 1200, end: END, days: 30 })));
    const handle = await startRetrain(client, { model: 'hist-plain', referenceTime: END.toISOString(), idempotencyKey: 'fixture' });
    await handle.result();
    return [{ name: 'retrain-promoted', description: 'retrainWorkflow: plan, labels, test set, pull, validate, dataset, train, evaluate, register, promote, report', handle }];
  },

  async 'retrain-rejected'({ client, lineage }) {
    await applyModelSpec(lineage.db, { name: 'hist-reject', features: EXAMPLE_FEATURES, evaluation: { floors: { auc: 0.99 } } });
    await insertLabelledExamples(lineage.db, 'hist-reject', marked(generateCtrHistory({ seed: 42, rows: 1200, end: END, days: 30 })));
    const handle = await startRetrain(client, { model: 'hist-reject', referenceTime: END.toISOString(), idempotencyKey: 'fixture' });
    const result = await handle.result();
    if (result.decision !== 'rejected') throw new Error(`retrain-rejected: expected a rejection, got ${result.decision}`);
    return [{ name: 'retrain-rejected', description: 'retrainWorkflow: the offline gate fails the candidate (auc floor), reject', handle }];
  },

  async 'retrain-failed'({ client, lineage }) {
    await applyModelSpec(lineage.db, { name: 'hist-empty', features: EXAMPLE_FEATURES });
    const handle = await startRetrain(client, { model: 'hist-empty', referenceTime: '2020-01-01T00:00:00.000Z', idempotencyKey: 'fixture' });
    await handle.result().then(
      () => {
        throw new Error('retrain-failed: the run succeeded');
      },
      () => undefined,
    );
    return [{ name: 'retrain-failed', description: 'retrainWorkflow: EmptyDataWindow fails the run; the failure is recorded (non-cancellable finish)', handle }];
  },

  async 'retrain-approval'({ client, lineage }) {
    await applyModelSpec(lineage.db, { name: 'hist-approval', features: EXAMPLE_FEATURES, evaluation: { requireApproval: true } });
    await insertLabelledExamples(lineage.db, 'hist-approval', marked(generateCtrHistory({ seed: 43, rows: 1200, end: END, days: 30 })));
    const handle = await startRetrain(client, { model: 'hist-approval', referenceTime: END.toISOString(), idempotencyKey: 'fixture' });
    await until('the approval step', async () => ((await handle.query(retrainStatusQuery)).awaitingApproval ? true : undefined));
    await handle.executeUpdate(approveCandidateUpdate, { args: [{ approve: true, by: 'recorder', comment: 'fixture approval' }] });
    await handle.result();
    return [{ name: 'retrain-approval', description: 'retrainWorkflow: awaiting_approval, the approveCandidate update (validator + handler), promote', handle }];
  },

  async 'retrain-rollout'({ client, lineage }) {
    // A first run promotes directly (no champion yet); the second goes through the rollout child.
    await applyModelSpec(lineage.db, {
      name: 'hist-rollout',
      features: EXAMPLE_FEATURES,
      evaluation: { floors: { auc: 0.55 } },
      rollout: { checkInterval: '0.5s', labelEvent: 'click', labelWindow: '1s', phases: [{ kind: 'shadow', minDuration: '1s', maxDuration: '2s', minLabelled: 2 }] },
    });
    await insertLabelledExamples(lineage.db, 'hist-rollout', marked(generateCtrHistory({ seed: 44, rows: 1500, end: END, days: 30 })));
    await (await startRetrain(client, { model: 'hist-rollout', referenceTime: new Date(END.getTime() - 86_400_000).toISOString(), idempotencyKey: 'fixture-first' })).result();
    const handle = await startRetrain(client, { model: 'hist-rollout', referenceTime: END.toISOString(), idempotencyKey: 'fixture' });
    const result = await handle.result();
    if (!result.rollout) throw new Error('retrain-rollout: the second run had no rollout child');
    const child = client.workflow.getHandle(`rollout/hist-rollout/${result.versionId}`);
    return [
      { name: 'retrain-rollout', description: 'retrainWorkflow: offline gate passes against a champion, staged rollout as a child workflow (kept the champion)', handle },
      { name: 'rollout-child', description: 'rolloutWorkflow as the retrain child: shadow phase without traffic times out, candidate rolled back', handle: child },
    ];
  },

  async 'rollout-operator'({ client, lineage, store }) {
    await seedChampion(lineage.db, store, 'hist-live', 'fair');
    const candidate = await registerVersion(lineage.db, store, 'hist-live', 'v2', 'good');
    const handle = await startRollout(client, {
      model: 'hist-live',
      candidateVersionId: candidate.versionId,
      rollout: { checkInterval: '0.5s', labelEvent: 'click', labelWindow: '1s', phases: [{ kind: 'shadow', minDuration: '1s', maxDuration: '4s', minLabelled: 2 }] },
    });
    await until('the rollout to run', async () => ((await handle.query('rolloutState')) as { status: string }).status === 'running' || undefined);
    await pauseRollout(handle, 'fixture: pause');
    await new Promise((r) => setTimeout(r, 700));
    await resumeRollout(handle);
    await handle.result();
    return [{ name: 'rollout-operator', description: 'rolloutWorkflow started by an operator: prepare, shadow route, pauseRollout and resumeRollout updates, checks, kept champion', handle }];
  },

  async continual({ client, lineage }) {
    const spec = { name: 'hist-continual', features: EXAMPLE_FEATURES, stage: 4, continual: { checkEvery: '1s', cooldown: '1h', triggers: { time: { every: '1h' } } } };
    await applyModelSpec(lineage.db, spec);
    await insertLabelledExamples(lineage.db, 'hist-continual', marked(generateCtrHistory({ seed: 45, rows: 1200, end: new Date(), days: 30 })));
    const handle = await client.workflow.start('continualLearningWorkflow', {
      taskQueue: ORCHESTRATION_QUEUE,
      workflowId: 'continual/hist-continual',
      args: [{ modelName: 'hist-continual' }],
      typedSearchAttributes: [
        { key: ModelName, value: 'hist-continual' },
        { key: MaturityStage, value: 4 },
      ],
    });
    // The time trigger fires at once (no trained version yet): one retrain child, then quiet checks.
    const childId = await until('the retrain child', async () => {
      const state = (await handle.query('continualState')) as { lastRetrain: { workflowId: string; result: string } | null };
      return state.lastRetrain && state.lastRetrain.result !== 'running' ? state.lastRetrain.workflowId : undefined;
    });
    // Leaving stage 4 ends the workflow at its next check (apply without the client: no cancellation).
    await applyModelSpec(lineage.db, { ...spec, stage: 1, continual: undefined });
    await handle.signal(checkNowSignal);
    await handle.result();
    return [
      { name: 'continual', description: 'continualLearningWorkflow: time trigger, one retrain child, a quiet check, checkNow signal, exit when the model leaves stage 4', handle },
      { name: 'continual-retrain-child', description: 'retrainWorkflow started by the continual workflow (stage 4, first version)', handle: client.workflow.getHandle(childId) },
    ];
  },

  async 'artifact-sweep'({ client, lineage, store }) {
    // A run that finished two hours ago left its staged window and a checkpoint: the sweep removes them.
    const finished = new Date(Date.now() - 2 * 3_600_000);
    await applyModelSpec(lineage.db, { name: 'hist-sweep', features: EXAMPLE_FEATURES });
    await lineage.db
      .insertInto('pipeline_runs')
      .values({ id: 'retrain/hist-sweep/old', run_id: 'r', model_name: 'hist-sweep', trigger: 'manual', stage: 1, status: 'succeeded', current_step: 'done', timings: '{}', started_at: finished, finished_at: finished })
      .execute();
    await store.put('staging/retrain_hist-sweep_old/part-00000.arrow', 'rows');
    await store.put('models/hist-sweep/runs/retrain_hist-sweep_old/checkpoints/epoch-000001.json', '{}');
    const handle = await client.workflow.start('artifactSweepWorkflow', { taskQueue: ORCHESTRATION_QUEUE, workflowId: 'artifact-sweep/fixture', args: [{ olderThanMs: 3_600_000 }] });
    const result = (await handle.result()) as { removed: number };
    if (result.removed !== 2) throw new Error(`artifact-sweep: expected 2 files removed, got ${result.removed}`);
    return [{ name: 'artifact-sweep', description: 'artifactSweepWorkflow: validate the input, sweepArtifacts removes a finished run’s scratch, summary', handle }];
  },

  async monitoring({ client, lineage, store }) {
    // Four simulated days in the prediction log, the champion trained on the first two.
    await seedScenario(lineage.db, store, { name: 'hist-monitor', days: 4, referenceDays: 2, rowsPerDay: 300, seed: 5, specExtra: { monitoring: { window: '500' } } });
    const handle = await client.workflow.start('monitoringWorkflow', {
      taskQueue: ORCHESTRATION_QUEUE,
      workflowId: 'monitor/hist-monitor/fixture',
      args: [{ modelName: 'hist-monitor' }],
      typedSearchAttributes: [{ key: ModelName, value: 'hist-monitor' }],
    });
    const summary = (await handle.result()) as { signalsStored: number };
    if (!(summary.signalsStored > 0)) throw new Error(`monitoring: expected stored signals, got ${JSON.stringify(summary)}`);
    return [{ name: 'monitoring', description: 'monitoringWorkflow: computeMonitoring on the window ending at the start time, signals stored, summary', handle }];
  },

  async freshness({ client, lineage }) {
    await applyModelSpec(lineage.db, { name: 'hist-fresh', features: EXAMPLE_FEATURES, data: { windowDays: 5, minRows: 100 } });
    await insertLabelledExamples(lineage.db, 'hist-fresh', marked(generateCtrHistory({ seed: 46, rows: 3000, end: END, days: 30 })));
    const handle = await client.workflow.start('freshnessExperimentWorkflow', {
      taskQueue: ORCHESTRATION_QUEUE,
      workflowId: 'freshness/hist-fresh/fixture',
      args: [{ modelName: 'hist-fresh', agesDays: [0, 7] }],
      typedSearchAttributes: [{ key: ModelName, value: 'hist-fresh' }],
    });
    await handle.result();
    return [{ name: 'freshness', description: 'freshnessExperimentWorkflow: plan, one trained point per staleness age, record', handle }];
  },
};

async function main(): Promise<void> {
  const out = path.resolve(argValue('--out') ?? path.join(__dirname, '..', 'test', 'fixtures', 'histories'));
  const only = argValue('--only')?.split(',');
  const chosen = Object.keys(scenarios).filter((name) => !only || only.includes(name));
  installSdkLogging('ERROR');
  const started = Date.now();
  const server = await startDevServer({ uiPort: false });
  const { lineage, url, drop } = await openDatabase();
  // Anything that reads DATABASE_URL in this process sees the placeholder password too.
  if (url) process.env.DATABASE_URL = url;
  const storeDir = mkdtempSync(path.join(tmpdir(), 'flywheel-histories-store-'));
  const store = openArtifactStore(pathToFileURL(storeDir).toString());
  const connection = await NativeConnection.connect({ address: server.address });
  let workers: Worker[] = [];
  let running: Promise<unknown> = Promise.resolve();
  const client = await connectClient(server.address, server.namespace);
  const entries: FixtureEntry[] = [];
  try {
    workers = await createWorkers({ connection, namespace: server.namespace, deps: { db: lineage.db, store }, roles: ['orchestration', 'training'] });
    running = Promise.all(workers.map((w) => w.run()));
    mkdirSync(out, { recursive: true });
    for (const name of chosen) {
      const t0 = Date.now();
      const recorded = await scenarios[name]({ client, lineage, store });
      for (const r of recorded) {
        const description = await r.handle.describe();
        const history = await r.handle.fetchHistory();
        const file = `${r.name}.json`;
        writeFileSync(path.join(out, file), `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 1)}\n`);
        entries.push({ name: r.name, file, workflowId: r.handle.workflowId, runId: description.runId, workflowType: description.type, description: r.description, events: history.events?.length ?? 0 });
        console.log(`recorded ${r.name}: ${description.type} ${r.handle.workflowId} (${history.events?.length ?? 0} events)`);
      }
      console.log(`  scenario ${name} took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    const indexFile = path.join(out, 'index.json');
    const previous = only ? (JSON.parse(await import('node:fs').then((fs) => (fs.existsSync(indexFile) ? fs.readFileSync(indexFile, 'utf8') : '{"fixtures":[]}'))) as { fixtures: FixtureEntry[] }).fixtures : [];
    const merged = [...previous.filter((p) => !entries.some((e) => e.name === p.name)), ...entries].sort((a, b) => a.name.localeCompare(b.name));
    writeFileSync(
      indexFile,
      `${JSON.stringify({ recordedAt: new Date().toISOString(), sdk: '@temporalio/* 1.24', markers: { password: FIXTURE_PASSWORD, feature: FIXTURE_FEATURE_MARKER, entity: FIXTURE_ENTITY_MARKER }, fixtures: merged }, null, 2)}\n`,
    );
    console.log(`record-histories: ${entries.length} histories in ${out} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } finally {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await running.catch(() => {});
    await connection.close();
    await client.connection.close();
    await server.stop();
    await drop().catch(() => {});
    rmSync(storeDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(`record-histories: ${(error as Error).stack ?? error}`);
    process.exit(1);
  });
}
