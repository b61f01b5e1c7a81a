// --json output of the CLI's control commands that cli-json.test.ts does not reach, through the real
// `flywheel` binary against one Temporal dev server (with the project's workers) and one
// PostgreSQL database: schedule pause/resume/trigger/show/backfill, continual
// pause/resume/check/retrain/state, approve, rollout start/status/pause/resume/approve/who-served,
// freshness, bench (the cheap drift suite, --no-save), and the long-running dev and serve (their
// first JSON line, then a real request, then SIGINT/SIGTERM). Every assertion parses stdout as one
// JSON document and checks real values.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyModel } from '../../client/apply';
import { pendingApprovals } from '../../client/approvals';
import { connectClient } from '../../infra/temporal-connection';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { insertLabelledExamples } from '../../lineage/labelled-examples';
import { generateCtrHistory } from '../../scenarios/ctr-history';
import { abortRollout, getRolloutState, rolloutHandle } from '../../serving/rollout-control';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import type { ContinualState } from '../../workflows/continual-state';
import type { RetrainResult } from '../../workflows/types';
import { runCli } from '../support/cli';
import { exampleSpec, HISTORY_END } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, startTestWorkers, type RunningWorkers, type TestTemporal } from '../support/temporal';
import { registerVersion, seedChampion } from '../support/traffic';

const BIN = path.join(__dirname, '..', '..', 'bin', 'flywheel');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value `done` accepts (or fails after timeoutMs). */
async function until<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await sleep(200);
  }
}

type LongRunning = ChildProcessByStdio<null, Readable, Readable>;

/** Starts a long-running command and resolves with its first stdout line parsed as JSON. */
function startLongRunning(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<{ child: LongRunning; first: Record<string, unknown>; exited: Promise<number | null>; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`flywheel ${args.join(' ')} printed no line within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (d) => {
      stdout += d;
      const newline = stdout.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      try {
        resolve({ child, first: JSON.parse(stdout.slice(0, newline)), exited, stderr: () => stderr });
      } catch (error) {
        child.kill('SIGKILL');
        reject(new Error(`first line of flywheel ${args.join(' ')} is not JSON: ${stdout.slice(0, newline)} (${(error as Error).message})`));
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`flywheel ${args.join(' ')} exited (${code}) before printing a line\n${stdout}\n${stderr}`));
    });
  });
}

// The tests touch different models (sched, cont, appr, ro) and run concurrently: vitest runs one
// file at a time, so this uses the second core while a test waits on a CLI process or a workflow.
describe('flywheel control commands --json', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let store: ArtifactStore;
  let temporal: TestTemporal;
  let workers: RunningWorkers;
  let env: Record<string, string>;
  let scratch: string;

  const json = async (args: string[], timeoutMs?: number) => {
    const result = await runCli([...args, '--json'], env, timeoutMs);
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines, args.join(' ')).toHaveLength(1);
    return JSON.parse(lines[0]);
  };
  /** A command that must fail: one line on stderr, nothing on stdout, exit 1. */
  const refusal = async (args: string[]) => {
    const result = await runCli([...args, '--json'], env);
    expect(result.code, args.join(' ')).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines, args.join(' ')).toHaveLength(1);
    return lines[0];
  };

  const describeSchedule = () => temporal.client.schedule.getHandle('retrain-schedule/sched').describe();
  const continualState = () => temporal.client.workflow.getHandle('continual/cont').query<ContinualState>('continualState');
  const rolloutState = () => getRolloutState(rolloutHandle(temporal.client, 'ro', 'ro@v2'));

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    scratch = mkdtempSync(path.join(tmpdir(), 'flywheel-cli-controls-'));
    const artifacts = pathToFileURL(path.join(scratch, 'artifacts')).toString();
    store = openArtifactStore(artifacts);
    temporal = await startTestTemporal();
    workers = await startTestWorkers(temporal.server.address, { db: lineage.db, store });
    const trainer = { ...(exampleSpec().trainer as object), epochs: 8 };
    await Promise.all([
      applyModel(temporal.client, lineage.db, exampleSpec({ name: 'sched', stage: 2, schedule: { every: '1d' } })),
      applyModel(temporal.client, lineage.db, exampleSpec({ name: 'cont', stage: 4, continual: { checkEvery: '1h', triggers: { volume: { everyRows: 1_000_000 }, upstream: false } } })),
      applyModel(temporal.client, lineage.db, exampleSpec({ name: 'appr', trainer, evaluation: { ...(exampleSpec().evaluation as object), requireApproval: true } })),
      insertLabelledExamples(lineage.db, 'appr', generateCtrHistory({ seed: 7, rows: 1500, end: HISTORY_END, days: 30 })),
      seedChampion(lineage.db, store, 'ro', 'fair'),
    ]);
    await registerVersion(lineage.db, store, 'ro', 'v2', 'good');
    env = { DATABASE_URL: database.url, TEMPORAL_ADDRESS: temporal.server.address, FLYWHEEL_ARTIFACT_ROOT: artifacts, FLYWHEEL_DATA_DIR: path.join(scratch, 'data') };
  });

  afterAll(async () => {
    await workers?.stop();
    await temporal?.stop();
    await lineage?.close();
    await database?.drop();
  });

  it.concurrent('schedule pause / resume / trigger / show / backfill', async () => {
    expect(await json(['schedule', 'pause', 'sched'])).toEqual({ model: 'sched', scheduleId: 'retrain-schedule/sched', action: 'pause', message: 'paused' });
    expect(await json(['schedule', 'show', 'sched'])).toMatchObject({ model: 'sched', paused: true, recentActions: [] });
    expect(await json(['schedule', 'resume', 'sched'])).toEqual({ model: 'sched', scheduleId: 'retrain-schedule/sched', action: 'resume', message: 'resumed' });
    expect((await describeSchedule()).state.paused).toBe(false);

    expect(await json(['schedule', 'trigger', 'sched'])).toEqual({ model: 'sched', scheduleId: 'retrain-schedule/sched', action: 'trigger', message: 'triggered one run now' });
    await until('a run started by the trigger', () => describeSchedule(), (d) => d.info.recentActions.length >= 1);
    expect((await describeSchedule()).info.recentActions[0].action.workflow.workflowId).toMatch(/^retrain\/sched\/scheduled-\d{4}-/);

    const [backfill, incomplete] = await Promise.all([
      json(['schedule', 'backfill', 'sched', '--from', '2026-01-27T12:00:00Z', '--to', '2026-01-29T12:00:00Z']),
      refusal(['schedule', 'backfill', 'sched', '--from', '2026-01-27T00:00:00Z']),
    ]);
    expect(incomplete).toBe('flywheel: backfill needs --from and --to (ISO 8601 times)');
    expect(backfill).toEqual({ model: 'sched', scheduleId: 'retrain-schedule/sched', action: 'backfill', message: 'backfilling 2026-01-27T12:00:00.000Z → 2026-01-29T12:00:00.000Z' });
    // The two midnights in the range each start a run whose id carries its scheduled time.
    await until('the backfilled runs', () => describeSchedule(), (d) => d.info.recentActions.length >= 3);
    const backfilled = await json(['schedule', 'show', 'sched']);
    expect(backfilled.paused).toBe(false);
    // every 1d: the next action is a UTC midnight within a day.
    expect(backfilled.nextActionTimes[0]).toMatch(/T00:00:00\.000Z$/);
    expect(new Date(backfilled.nextActionTimes[0]).getTime() - Date.now()).toBeLessThanOrEqual(86_400_000);
    // The triggered run (scheduled now) and the two backfilled ones.
    expect(backfilled.recentActions).toHaveLength(3);
    const now = backfilled.recentActions.filter((a: { scheduledAt: string }) => !a.scheduledAt.startsWith('2026-01'));
    expect(now).toHaveLength(1);
    expect(Math.abs(new Date(now[0].scheduledAt).getTime() - Date.now())).toBeLessThan(10 * 60_000);
    expect(now[0].workflowId).toBe(`retrain/sched/scheduled-${now[0].scheduledAt.replace(/\.\d{3}Z$/, 'Z')}`);
    expect(backfilled.recentActions.filter((a: { scheduledAt: string }) => a.scheduledAt.startsWith('2026-01')).map((a: { scheduledAt: string; workflowId: string }) => [a.scheduledAt, a.workflowId])).toEqual([
      ['2026-01-28T00:00:00.000Z', 'retrain/sched/scheduled-2026-01-28T00:00:00Z'],
      ['2026-01-29T00:00:00.000Z', 'retrain/sched/scheduled-2026-01-29T00:00:00Z'],
    ]);

  });

  it.concurrent('continual pause / resume / check / retrain / state', async () => {
    await until('the first check', () => continualState(), (s) => s.checks >= 1);
    const initial = await json(['continual', 'state', 'cont']);
    expect(initial).toMatchObject({ paused: false, retrainsStarted: 0, forceRetrain: null });
    expect(initial.lastChecks[0].signals.map((s: { kind: string; fired: boolean }) => [s.kind, s.fired])).toEqual([['volume', false]]);

    expect(await json(['continual', 'pause', 'cont'])).toEqual({ model: 'cont', signal: 'pause' });
    await until('paused', () => continualState(), (s) => s.paused);
    expect(await json(['continual', 'resume', 'cont'])).toEqual({ model: 'cont', signal: 'resume' });
    // Resuming checks at once.
    const resumed = await until('resumed', () => continualState(), (s) => !s.paused && s.checks > initial.checks);
    expect(await json(['continual', 'check', 'cont'])).toEqual({ model: 'cont', signal: 'checkNow' });
    await until('checked', () => continualState(), (s) => s.checks > resumed.checks);

    expect(await json(['continual', 'retrain', 'cont'])).toEqual({ model: 'cont', signal: 'retrainNow' });
    await until('retrain started', () => continualState(), (s) => s.retrainsStarted === 1 && s.lastRetrain !== null);
    const [retrained, unknown] = await Promise.all([json(['continual', 'state', 'cont']), refusal(['continual', 'state', 'nope'])]);
    expect(retrained.checks).toBeGreaterThan(resumed.checks);
    expect(retrained.lastRetrain.workflowId).toMatch(/^retrain\/cont\//);
    expect(retrained.lastRetrain.reason).toMatch(/manual/);

    expect(unknown).toMatch(/^flywheel: .*continual\/nope/);
  });

  it.concurrent('approve signs off a candidate waiting for approval', async () => {
    const started = await json(['retrain', 'appr', '--reference-time', HISTORY_END.toISOString(), '--key', 'a1', '--no-wait']);
    expect(started).toEqual({ workflowId: 'retrain/appr/a1' });
    await until('awaiting approval', () => pendingApprovals(temporal.client, 'appr'), (p) => p.length === 1, 60_000);
    const answer = await json(['approve', 'appr', '--by', 'alice', '--comment', 'looks good']);
    expect(answer).toMatchObject({ workflowId: 'retrain/appr/a1', candidateVersionId: 'appr@v1', outcome: 'approved by alice' });
    const result = await temporal.client.workflow.getHandle('retrain/appr/a1').result() as RetrainResult;
    expect(result).toMatchObject({ versionId: 'appr@v1', decision: 'promoted', approval: { approved: true, by: 'alice', comment: 'looks good' } });
    expect(await refusal(['approve', 'appr'])).toBe('flywheel: no candidate of model "appr" is waiting for approval');
  });

  it.concurrent('retrain --mode accepts only stateless or stateful (a usage error, one line, before anything starts)', async () => {
    const result = await runCli(['retrain', 'appr', '--mode', 'warm', '--key', 'bad-mode', '--json'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual(["error: option '--mode <mode>' argument 'warm' is invalid. Allowed choices are stateless, stateful. (see flywheel retrain --help)"]);
    expect((await temporal.client.workflow.count('WorkflowId = "retrain/appr/bad-mode"')).count).toBe(0);
  });

  it.concurrent('freshness runs the experiment and prints its curve; --no-wait prints the workflow id', async () => {
    const result = await json(['freshness', 'appr', '--ages', '0,3', '--window-days', '10', '--key', 'f1'], 120_000);
    expect(result).toMatchObject({ experimentId: 'freshness/appr/f1', modelName: 'appr', metric: 'auc', recommendation: { metric: 'auc', tolerance: 0.01 } });
    expect(result.test.rows).toBeGreaterThan(0);
    const points = result.points as Array<{ ageDays: number; value: number | null; rows: { train: number } }>;
    expect(points.map((p) => p.ageDays)).toEqual([0, 3]);
    for (const p of points) {
      expect(p.value).toBeGreaterThan(0.5);
      expect(p.value).toBeLessThanOrEqual(1);
      expect(p.rows.train).toBeGreaterThan(100);
    }
    expect(result.recommendation.freshest).toBe(points[0].value);
    expect(result.reportUri).toMatch(/^file:\/\/.*\.html$/);
    expect(await json(['freshness', 'appr', '--ages', '0,3', '--key', 'f2', '--no-wait'])).toEqual({ workflowId: 'freshness/appr/f2' });
    await temporal.client.workflow.getHandle('freshness/appr/f2').terminate('test: only the start was under test');
  });

  it.concurrent('serve prints {url} and answers; dev prints its addresses and the stack answers; both stop on a signal', async () => {
    const [serve, dev] = await Promise.all([
      startLongRunning(['serve', '--port', '0', '--json', '--refresh-ms', '500'], { ...process.env, ...env }),
      // dev brings its own Temporal dev server (free ports) and worker, here on the test's PostgreSQL.
      startLongRunning(['dev', '--port', '0', '--ui-port', '0', '--json'], { ...process.env, DATABASE_URL: database.url, FLYWHEEL_DATA_DIR: path.join(scratch, 'dev-data'), FLYWHEEL_ARTIFACT_ROOT: pathToFileURL(path.join(scratch, 'dev-artifacts')).toString() }, 90_000),
    ]);
    try {
      expect(Object.keys(serve.first)).toEqual(['url']);
      expect(serve.first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await fetch(`${serve.first.url}/healthz`);
      expect(health.status).toBe(200);
      const predicted = await fetch(`${serve.first.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'ro', unitId: 'u-1', features: { ad_relevance: 0.1, user_ctr_7d: 0.2, position: -0.3, hour_sin: 0.4 } }),
      });
      expect(predicted.status).toBe(200);
      const body = (await predicted.json()) as { version: string; score?: number };
      expect(body.version).toBe('ro@v1');

      expect(Object.keys(dev.first).sort()).toEqual(['artifacts', 'lineage', 'temporalAddress', 'temporalUi']);
      expect(dev.first.temporalAddress).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(dev.first.temporalUi).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(dev.first.lineage).toMatch(new RegExp(`^postgres://.*/${database.name}$`));
      expect(dev.first.artifacts).toBe(pathToFileURL(path.join(scratch, 'dev-artifacts')).toString());
      const client = await connectClient(String(dev.first.temporalAddress), 'default');
      try {
        // The dev stack's own worker polls the orchestration queue of its dev server.
        const queue = await until('a poller on the dev server', () => client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: 'flywheel' }, taskQueueType: 1 }), (d) => (d.pollers?.length ?? 0) > 0);
        expect(queue.pollers!.length).toBeGreaterThan(0);
      } finally {
        await client.connection.close();
      }
      expect((await fetch(String(dev.first.temporalUi))).status).toBe(200);
    } finally {
      serve.child.kill('SIGTERM');
      dev.child.kill('SIGINT');
    }
    expect(await serve.exited).toBe(0);
    expect(await dev.exited).toBe(0);
  });

  it.concurrent('rollout who-served / start / status / pause / resume / approve', async () => {
    const before = await json(['rollout', 'who-served', 'ro', 'unit-7']);
    expect(before).toMatchObject({ routed: { versionId: 'ro@v1', mode: 'champion' }, lastLogged: null });
    const specFile = path.join(scratch, 'canary.json');
    const guardrails = { minLabelled: 50, minRequests: 30, minPredictions: 50, latencySlackMs: 50, maxPredictionPsi: 5 };
    writeFileSync(specFile, JSON.stringify({ checkInterval: '0.25s', labelEvent: 'click', labelWindow: '0.5s', phases: [{ kind: 'canary', steps: [10, 50, 100], stepDuration: '60s', maxStepDuration: '120s', minLabelledPerStep: 10, guardrails }] }));
    expect(JSON.parse(readFileSync(specFile, 'utf8')).phases[0].steps).toEqual([10, 50, 100]);

    expect(await json(['rollout', 'start', 'ro', 'ro@v2', '--spec', specFile])).toEqual({ workflowId: 'rollout/ro/ro@v2' });
    try {
      await until('canary at 10%', () => rolloutState(), (s) => s.position?.trafficPercent === 10);
      const running = await json(['rollout', 'status', 'ro', 'ro@v2']);
      expect(running).toMatchObject({ model: 'ro', candidate: 'ro@v2', champion: 'ro@v1', status: 'running', paused: false, position: { kind: 'canary', step: 0, trafficPercent: 10 } });

      const paused = await json(['rollout', 'pause', 'ro', 'ro@v2', '--reason', 'hold for the release freeze']);
      expect(paused).toMatchObject({ candidate: 'ro@v2', paused: true, position: { step: 0, trafficPercent: 10 } });
      const resumed = await json(['rollout', 'resume', 'ro', 'ro@v2']);
      expect(resumed).toMatchObject({ candidate: 'ro@v2', paused: false });

      await json(['rollout', 'approve', 'ro', 'ro@v2', '--reason', 'metrics look fine']);
      const advanced = await until('canary at 50%', () => rolloutState(), (s) => s.position?.trafficPercent === 50);
      expect(advanced.position).toMatchObject({ kind: 'canary', step: 1, trafficPercent: 50 });

      const during = await json(['rollout', 'who-served', 'ro', 'unit-7']);
      expect(['ro@v1', 'ro@v2']).toContain(during.routed.versionId);
      expect(during.routed.mode).toBe(during.routed.versionId === 'ro@v2' ? 'canary' : 'champion');
    } finally {
      await abortRollout(rolloutHandle(temporal.client, 'ro', 'ro@v2'), 'test finished').catch(() => undefined);
    }
    expect((await temporal.client.workflow.getHandle('rollout/ro/ro@v2').result()).outcome).toBe('aborted');
  });

  it.concurrent('bench --only <figure> --quick --no-save prints the run; an unknown id is one line and exit 1', async () => {
    const results = path.join(__dirname, '..', '..', 'bench', 'results.json');
    const before = readFileSync(results, 'utf8');
    const run = await json(['bench', '--only', 'drift_values_per_s', '--quick', '--no-save'], 120_000);
    expect(run).toMatchObject({ quick: true, ok: true, written: [] });
    expect(run.suites.map((s: { name: string; ok: boolean; error: string | null }) => [s.name, s.ok, s.error])).toEqual([['drift', true, null]]);
    expect(run.figures.map((f: { id: string }) => f.id)).toEqual(['drift_values_per_s', 'drift_rows_per_s']);
    const values = run.figures[0];
    expect(values).toMatchObject({ unit: 'values/s', runs: 3 });
    expect(values.value).toBeGreaterThan(100_000);
    expect(values.min).toBeLessThanOrEqual(values.value);
    expect(values.max).toBeGreaterThanOrEqual(values.value);
    expect(readFileSync(results, 'utf8')).toBe(before);

    const unknown = await refusal(['bench', '--only', 'no_such_figure']);
    expect(unknown).toMatch(/^flywheel: --only names no suite or figure: no_such_figure; known: .*drift_values_per_s/);
  });
});
