// Scale benchmark: 100 models retraining at once (quick mode: 20) against one Temporal dev server
// and ONE worker process serving both task queues. The worker is a separate Node process built the
// way worker/run.ts builds it (lineage pool, artifact store, the project's createWorkers), so its
// RSS is the worker's alone; the bench process only starts the runs and waits for their results.
//
//   concurrent_pipelines          retrain DAGs started at once (one per model)
//   concurrent_pipeline_failures  of those, how many did not complete (must be 0); causes in the note
//   pipelines_per_min             completed pipelines / minutes from the first start to the last result
//   worker_rss_mb                 peak RSS of the worker process while the pipelines ran (sampled
//                                 every 100 ms from /proc; trainer child processes reported apart)
//
// Worker settings: DEFAULT_SETTINGS below (chosen by the sweep in bench/README.md); override with
// FLYWHEEL_BENCH_SCALE='{"trainingSlots":4,...}'. Sweep: `npx tsx bench/suites/scale.ts --sweep [--models N] [--labels a,b] [--repeat N]`.
// Child side: `node -r tsx/cjs bench/suites/scale.ts --worker '<settings json>'`.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { NativeConnection } from '@temporalio/worker';
import { startRetrain } from '../../client/retrain';
import { installSdkLogging } from '../../infra/sdk-logging';
import { openLineageDb } from '../../lineage/db';
import { openArtifactStore } from '../../storage/artifact-store';
import { HISTORY_END } from '../../test/support/fixtures';
import { createWorkers } from '../../worker/workers';
import { summarize, type BenchSuite, type Figure } from '../figure';
import { watchCpu } from '../machine';
import { ActivityClock, openLab, rootCause, seedTinyModel, TINY_ROWS, within, withWorkerOverrides, type ActivityRecord } from './orchestration';

export const ids = ['concurrent_pipelines', 'concurrent_pipeline_failures', 'pipelines_per_min', 'worker_rss_mb'];

/** The worker knobs the sweep varies. Undefined = the SDK's / the project's default. */
export interface ScaleWorkerSettings {
  /** createWorkers trainingSlots: concurrent training activities (each runs a trainer child process). */
  trainingSlots: number;
  /** createWorkers activitySlots: concurrent light activities on the orchestration queue. */
  activitySlots: number;
  /** Worker option maxConcurrentWorkflowTaskExecutions (SDK default 40). */
  workflowTaskSlots?: number;
  /** Worker option maxCachedWorkflows (SDK default: from the heap size, ~1,900 here). */
  maxCachedWorkflows?: number;
  /** openLineageDb poolSize: the worker's PostgreSQL connections (project default 10). */
  poolSize: number;
}

/**
 * Chosen from the sweep recorded in bench/README.md (2 cores, 24 GiB): 4 training slots won every
 * paired comparison against 2; the other knobs made no difference beyond the noise at their
 * project/SDK defaults, so they stay there.
 */
export const DEFAULT_SETTINGS: ScaleWorkerSettings = { trainingSlots: 4, activitySlots: 20, poolSize: 10 };

/** What the sweep varies one knob from: the project's defaults with 2 training slots (one per core). */
export const SWEEP_BASE: ScaleWorkerSettings = { trainingSlots: 2, activitySlots: 20, poolSize: 10 };

export function describeSettings(s: ScaleWorkerSettings): string {
  const parts = [`training slots ${s.trainingSlots}`, `activity slots ${s.activitySlots}`, `PG pool ${s.poolSize}`];
  parts.push(`workflow-task slots ${s.workflowTaskSlots ?? 'default (40)'}`);
  parts.push(`cached workflows ${s.maxCachedWorkflows ?? 'default'}`);
  return parts.join(', ');
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): ScaleWorkerSettings {
  const raw = env.FLYWHEEL_BENCH_SCALE;
  if (!raw) return DEFAULT_SETTINGS;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new Error(`FLYWHEEL_BENCH_SCALE is not JSON (${(error as Error).message}); e.g. '{"trainingSlots":4}'`);
  }
  const known = ['trainingSlots', 'activitySlots', 'workflowTaskSlots', 'maxCachedWorkflows', 'poolSize'];
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!known.includes(key)) throw new Error(`FLYWHEEL_BENCH_SCALE: unknown setting "${key}"; known: ${known.join(', ')}`);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new Error(`FLYWHEEL_BENCH_SCALE: ${key} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return { ...DEFAULT_SETTINGS, ...(parsed as Partial<ScaleWorkerSettings>) };
}

// ---- /proc sampling --------------------------------------------------------------------------------

const PAGE_BYTES = 4096;
const CLOCK_TICKS = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  rssBytes: number;
  cpuSeconds: number;
  childrenCpuSeconds: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": field n of proc(5) is at index n - 3.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      pid,
      ppid: Number(f[1]),
      rssBytes: Number(f[21]) * PAGE_BYTES,
      cpuSeconds: (Number(f[11]) + Number(f[12])) / CLOCK_TICKS,
      childrenCpuSeconds: (Number(f[13]) + Number(f[14])) / CLOCK_TICKS,
    };
  } catch {
    return undefined;
  }
}

function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

function descendants(pid: number): ProcStat[] {
  const all: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) all.push(stat);
  }
  const out: ProcStat[] = [];
  const frontier = [pid];
  while (frontier.length) {
    const parent = frontier.pop()!;
    for (const s of all) {
      if (s.ppid === parent) {
        out.push(s);
        frontier.push(s.pid);
      }
    }
  }
  return out;
}

interface RssSampler {
  stop(): { workerPeakMb: number; workerStartMb: number; trainersPeakMb: number; totalPeakMb: number; maxTrainers: number; samples: number };
}

function sampleRss(pid: number, everyMs = 100): RssSampler {
  const mb = (bytes: number) => bytes / 1_048_576;
  const startBytes = readStat(pid)?.rssBytes ?? 0;
  let workerPeak = startBytes;
  let trainersPeak = 0;
  let totalPeak = startBytes;
  let maxTrainers = 0;
  let samples = 0;
  const tick = () => {
    const worker = readStat(pid);
    if (!worker) return;
    const kids = descendants(pid);
    const kidBytes = kids.reduce((sum, k) => sum + k.rssBytes, 0);
    workerPeak = Math.max(workerPeak, worker.rssBytes);
    trainersPeak = Math.max(trainersPeak, kidBytes);
    totalPeak = Math.max(totalPeak, worker.rssBytes + kidBytes);
    maxTrainers = Math.max(maxTrainers, kids.length);
    samples++;
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    stop() {
      clearInterval(timer);
      tick();
      return { workerPeakMb: mb(workerPeak), workerStartMb: mb(startBytes), trainersPeakMb: mb(trainersPeak), totalPeakMb: mb(totalPeak), maxTrainers, samples };
    },
  };
}

// ---- the worker process ----------------------------------------------------------------------------

export interface ActivityTypeStats {
  executions: number;
  failedAttempts: number;
  retried: number;
  medianMs: number;
  p95Ms: number;
  medianQueuedMs: number;
  p95QueuedMs: number;
  errors: string[];
}

export type WorkerStats = Record<string, ActivityTypeStats>;

function quantile(values: number[], q: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function activityStats(records: ActivityRecord[]): WorkerStats {
  const byType = new Map<string, ActivityRecord[]>();
  for (const r of records) byType.set(r.activity, [...(byType.get(r.activity) ?? []), r]);
  const out: WorkerStats = {};
  for (const [type, list] of byType) {
    const errors = [...new Set(list.filter((r) => !r.ok).map((r) => r.error ?? '?'))];
    out[type] = {
      executions: list.length,
      failedAttempts: list.filter((r) => !r.ok).length,
      retried: list.filter((r) => r.attempt > 1).length,
      medianMs: quantile(list.map((r) => r.ms), 0.5),
      p95Ms: quantile(list.map((r) => r.ms), 0.95),
      medianQueuedMs: quantile(list.map((r) => r.queuedMs), 0.5),
      p95QueuedMs: quantile(list.map((r) => r.queuedMs), 0.95),
      errors: errors.slice(0, 5),
    };
  }
  return out;
}

/** Child side: what worker/run.ts does, with the bench's settings and an activity clock. */
async function workerProcess(settings: ScaleWorkerSettings): Promise<void> {
  installSdkLogging('ERROR');
  const address = process.env.TEMPORAL_ADDRESS!;
  const lineage = await openLineageDb({ url: process.env.DATABASE_URL!, poolSize: settings.poolSize, migrate: false });
  const store = openArtifactStore(process.env.FLYWHEEL_ARTIFACT_ROOT!);
  const connection = await NativeConnection.connect({ address });
  const clock = new ActivityClock();
  try {
    const workflow: Record<string, number> = {};
    if (settings.workflowTaskSlots !== undefined) workflow.maxConcurrentWorkflowTaskExecutions = settings.workflowTaskSlots;
    if (settings.maxCachedWorkflows !== undefined) workflow.maxCachedWorkflows = settings.maxCachedWorkflows;
    const workers = await withWorkerOverrides({ workflow, activityInterceptors: [clock.interceptor] }, () =>
      createWorkers({ connection, namespace: 'default', deps: { db: lineage.db, store }, roles: ['orchestration', 'training'], trainingSlots: settings.trainingSlots, activitySlots: settings.activitySlots }),
    );
    process.stdout.write('READY\n');
    // The SDK shuts every worker down on SIGTERM; run() resolves once in-flight tasks drained.
    await Promise.all(workers.map((w) => w.run()));
    process.stdout.write(`STATS ${JSON.stringify(activityStats(clock.all()))}\n`);
  } finally {
    await connection.close();
    await lineage.close();
  }
}

interface WorkerChild {
  child: ChildProcess;
  pid: number;
  stderrTail(): string;
  /** SIGTERM, wait for the drain, return the activity statistics it printed. */
  stop(): Promise<WorkerStats | undefined>;
}

async function startWorkerChild(env: NodeJS.ProcessEnv, settings: ScaleWorkerSettings): Promise<WorkerChild> {
  const child = spawn(process.execPath, ['-r', require.resolve('tsx/cjs'), __filename, '--worker', JSON.stringify(settings)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.includes('READY\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the bench worker process exited (${code}) before it was ready: ${stderr.trim().slice(-2000)}`)));
  });
  try {
    await within(ready, 120_000, 'bench worker start-up');
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  let stopping: Promise<WorkerStats | undefined> | undefined;
  return {
    child,
    pid: child.pid!,
    stderrTail: () => stderr,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        await exited;
        clearTimeout(killer);
        const line = stdout.split('\n').find((l) => l.startsWith('STATS '));
        return line ? (JSON.parse(line.slice(6)) as WorkerStats) : undefined;
      })();
      return stopping;
    },
  };
}

// ---- one scale run ---------------------------------------------------------------------------------

export interface ScaleRunResult {
  settings: ScaleWorkerSettings;
  pipelines: number;
  completed: number;
  failures: Array<{ workflowId: string; cause: string }>;
  decisions: Record<string, number>;
  elapsedMs: number;
  perMin: number;
  latencyMedianMs: number;
  latencyP95Ms: number;
  rss: ReturnType<RssSampler['stop']> & { hwmMb: number };
  workerCpuSeconds: number;
  trainerCpuSeconds: number;
  stats: WorkerStats | undefined;
  runsByStatus: Record<string, number>;
  versions: number;
}

export async function scaleRun(options: { models: number; settings: ScaleWorkerSettings; rows?: number; deadlineMs?: number; log: (line: string) => void }): Promise<ScaleRunResult> {
  const { models, settings, log } = options;
  const rows = options.rows ?? TINY_ROWS;
  const deadlineMs = options.deadlineMs ?? 20 * 60_000;
  const lab = await openLab('scale');
  let worker: WorkerChild | undefined;
  try {
    log(`seeding ${models} models x ${rows} rows`);
    const names = Array.from({ length: models }, (_, i) => `m${String(i).padStart(3, '0')}`);
    for (const [i, name] of names.entries()) await seedTinyModel(lab.lineage.db, name, rows, 1000 + i);

    log(`starting one worker process (${describeSettings(settings)})`);
    worker = await startWorkerChild(
      { TEMPORAL_ADDRESS: lab.temporal.server.address, TEMPORAL_NAMESPACE: 'default', DATABASE_URL: lab.database.url, FLYWHEEL_ARTIFACT_ROOT: pathToFileURL(lab.storeDir).toString() },
      settings,
    );
    const spawned = worker;
    lab.defer(() => spawned.stop());
    const cpuBefore = readStat(worker.pid);
    const sampler = sampleRss(worker.pid);

    log(`starting ${models} retrain DAGs at once`);
    const started = performance.now();
    const handles = await Promise.all(names.map((model) => startRetrain(lab.temporal.client, { model, referenceTime: HISTORY_END.toISOString(), idempotencyKey: 'scale' })));
    let done = 0;
    const settled = await Promise.allSettled(
      handles.map(async (handle) => {
        try {
          const result = await within(handle.result(), Math.max(1, deadlineMs - (performance.now() - started)), `retrain DAG ${handle.workflowId}`);
          const latency = performance.now() - started;
          if (++done % Math.max(1, Math.round(models / 10)) === 0 || done === models) log(`  ${done}/${models} done at ${(latency / 1000).toFixed(1)} s`);
          return { result, latency };
        } catch (error) {
          await handle.terminate('bench deadline').catch(() => {});
          throw error;
        }
      }),
    );
    const elapsedMs = performance.now() - started;
    const rss = { ...sampler.stop(), hwmMb: (statusKb(worker.pid, 'VmHWM') ?? NaN) / 1024 };
    const cpuAfter = readStat(worker.pid);
    const stats = await worker.stop();
    worker = undefined;

    const failures: ScaleRunResult['failures'] = [];
    const decisions: Record<string, number> = {};
    const latencies: number[] = [];
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') {
        decisions[s.value.result.decision] = (decisions[s.value.result.decision] ?? 0) + 1;
        latencies.push(s.value.latency);
      } else failures.push({ workflowId: handles[i].workflowId, cause: rootCause(s.reason) });
    });
    const runsByStatus = Object.fromEntries(
      (await lab.lineage.db.selectFrom('pipeline_runs').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute()).map((r) => [r.status, Number(r.n)]),
    );
    const versions = Number((await lab.lineage.db.selectFrom('model_versions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const completed = latencies.length;
    return {
      settings,
      pipelines: models,
      completed,
      failures,
      decisions,
      elapsedMs,
      perMin: completed / (elapsedMs / 60_000),
      latencyMedianMs: quantile(latencies, 0.5),
      latencyP95Ms: quantile(latencies, 0.95),
      rss,
      workerCpuSeconds: (cpuAfter?.cpuSeconds ?? 0) - (cpuBefore?.cpuSeconds ?? 0),
      trainerCpuSeconds: (cpuAfter?.childrenCpuSeconds ?? 0) - (cpuBefore?.childrenCpuSeconds ?? 0),
      stats,
      runsByStatus,
      versions,
    };
  } catch (error) {
    if (worker) throw new Error(`${(error as Error).message}; worker stderr: ${worker.stderrTail().trim().slice(-1500) || '(none)'}`);
    throw error;
  } finally {
    await worker?.stop().catch(() => undefined);
    await lab.close();
  }
}

function retriesOf(stats: WorkerStats | undefined): { retried: number; failedAttempts: number; detail: string } {
  if (!stats) return { retried: 0, failedAttempts: 0, detail: 'worker statistics missing' };
  let retried = 0;
  let failedAttempts = 0;
  const detail: string[] = [];
  for (const [type, s] of Object.entries(stats)) {
    retried += s.retried;
    failedAttempts += s.failedAttempts;
    if (s.failedAttempts) detail.push(`${type}: ${s.failedAttempts} failed attempt(s) (${s.errors.join(' | ')})`);
  }
  return { retried, failedAttempts, detail: detail.join('; ') };
}

export function logScaleRun(r: ScaleRunResult, log: (line: string) => void): void {
  const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '?');
  log(
    `${r.completed}/${r.pipelines} completed in ${f(r.elapsedMs / 1000, 1)} s → ${f(r.perMin, 1)} pipelines/min; latency median ${f(r.latencyMedianMs / 1000, 1)} s, p95 ${f(r.latencyP95Ms / 1000, 1)} s; ` +
      `failures ${r.failures.length}; decisions ${JSON.stringify(r.decisions)}; lineage runs ${JSON.stringify(r.runsByStatus)}, versions ${r.versions}`,
  );
  log(
    `worker RSS peak ${f(r.rss.workerPeakMb)} MB during the run (at start ${f(r.rss.workerStartMb)} MB, VmHWM ${f(r.rss.hwmMb)} MB); trainers peak ${f(r.rss.trainersPeakMb)} MB over ≤${r.rss.maxTrainers} processes; ` +
      `worker CPU ${f(r.workerCpuSeconds, 1)} s, trainer CPU ${f(r.trainerCpuSeconds, 1)} s`,
  );
  for (const [type, s] of Object.entries(r.stats ?? {})) {
    log(`  ${type.padEnd(26)} n=${s.executions} ${f(s.medianMs)}/${f(s.p95Ms)} ms (median/p95), queued ${f(s.medianQueuedMs)}/${f(s.p95QueuedMs)} ms${s.failedAttempts ? `, ${s.failedAttempts} failed attempts: ${s.errors.join(' | ')}` : ''}`);
  }
  for (const failure of r.failures.slice(0, 10)) log(`  FAILED ${failure.workflowId}: ${failure.cause}`);
}

/** Full runs repeat the whole 100-model burst (fresh dev server, database and worker each time). */
const FULL_REPEATS = 3;

export async function run(options: { quick: boolean; log: (line: string) => void }): Promise<Figure[]> {
  const models = options.quick ? 20 : 100;
  const repeats = options.quick ? 1 : FULL_REPEATS;
  const settings = settingsFromEnv();
  const results: ScaleRunResult[] = [];
  for (let i = 0; i < repeats; i++) {
    options.log(`scale run ${i + 1}/${repeats}`);
    const r = await scaleRun({ models, settings, log: options.log });
    logScaleRun(r, options.log);
    results.push(r);
  }
  // The notes describe the run whose throughput is the median, so their figures belong together.
  const byRate = [...results].sort((a, b) => a.perMin - b.perMin);
  const r = byRate[Math.floor((byRate.length - 1) / 2)];
  const retries = retriesOf(r.stats);
  const where = `one dev server (CLI, in-memory SQLite), one worker process serving both queues (${describeSettings(settings)}), PostgreSQL, file:// store, ${TINY_ROWS} rows per model; 2 cores shared by all of them; ${repeats} independent run(s), each on a fresh server, database and worker`;
  const allFailures = results.flatMap((x) => x.failures);
  const failureNote = allFailures.length
    ? `causes: ${[...new Set(allFailures.map((f) => f.cause))].slice(0, 3).join(' | ')}`
    : `none failed in any run; in the median run ${retries.failedAttempts} activity attempt(s) failed and were retried${retries.detail ? ` (${retries.detail})` : ''}`;
  const d = (x: number, n = 1) => Math.round(x * 10 ** n) / 10 ** n;
  return [
    summarize('concurrent_pipelines', 'pipelines', results.map((x) => x.pipelines), `retrain DAGs started at once, one per model; completed per run ${results.map((x) => x.completed).join(', ')} (median run's decisions ${JSON.stringify(r.decisions)}); ${where}`),
    summarize('concurrent_pipeline_failures', 'pipelines', results.map((x) => x.failures.length), `of ${r.pipelines} concurrent retrain DAGs, how many did not complete; ${failureNote}; median run's lineage pipeline_runs by status ${JSON.stringify(r.runsByStatus)}`),
    summarize(
      'pipelines_per_min',
      'pipelines/min',
      results.map((x) => x.perMin),
      `per run ${results.map((x) => d(x.perMin)).join(', ')} pipelines/min; median run: ${r.completed} pipelines completed ${d(r.elapsedMs / 1000)} s after the first start; per-pipeline latency median ${d(r.latencyMedianMs / 1000)} s, p95 ${d(r.latencyP95Ms / 1000)} s; ` +
        `train step median ${d(r.stats?.trainCandidate?.medianMs ?? NaN, 0)} ms, queued for a training slot median ${d((r.stats?.trainCandidate?.medianQueuedMs ?? NaN) / 1000)} s; worker CPU ${d(r.workerCpuSeconds)} s + trainer processes ${d(r.trainerCpuSeconds)} s; ${where}`,
    ),
    summarize(
      'worker_rss_mb',
      'MB',
      results.map((x) => d(x.rss.workerPeakMb)),
      `peak RSS of the worker process while the ${r.pipelines} pipelines ran (/proc every 100 ms), per run ${results.map((x) => d(x.rss.workerPeakMb)).join(', ')} MB; median run: ${d(r.rss.workerStartMb)} MB when the run started, ` +
        `VmHWM incl. start-up (workflow bundling) ${d(r.rss.hwmMb)} MB; trainer child processes add up to ${d(r.rss.trainersPeakMb)} MB (≤${r.rss.maxTrainers} at once), worker + trainers peak ${d(r.rss.totalPeakMb)} MB`,
    ),
  ];
}

const suite: BenchSuite = { ids, run };
export default suite;

/** The settings the README's tuning table compares: each changes one knob from SWEEP_BASE (two where the label joins two with +). */
export const SWEEP: Array<{ label: string; settings: ScaleWorkerSettings }> = [
  { label: 'project defaults (training 1)', settings: { trainingSlots: 1, activitySlots: 20, poolSize: 10 } },
  { label: 'training 2', settings: { ...SWEEP_BASE, trainingSlots: 2 } },
  { label: 'training 4', settings: { ...SWEEP_BASE, trainingSlots: 4 } },
  { label: 'training 8', settings: { ...SWEEP_BASE, trainingSlots: 8 } },
  { label: 'activity slots 5', settings: { ...SWEEP_BASE, activitySlots: 5 } },
  { label: 'activity slots 100', settings: { ...SWEEP_BASE, activitySlots: 100 } },
  { label: 'workflow-task slots 4', settings: { ...SWEEP_BASE, workflowTaskSlots: 4 } },
  { label: 'workflow-task slots 200', settings: { ...SWEEP_BASE, workflowTaskSlots: 200 } },
  { label: 'cached workflows 10', settings: { ...SWEEP_BASE, maxCachedWorkflows: 10 } },
  { label: 'PG pool 2', settings: { ...SWEEP_BASE, poolSize: 2 } },
  { label: 'PG pool 40', settings: { ...SWEEP_BASE, poolSize: 40 } },
  { label: 'training 4 + PG pool 40', settings: { ...SWEEP_BASE, trainingSlots: 4, poolSize: 40 } },
];

/** Runs the chosen settings in turn, `repeat` times over (A B C A B C: a busy spell hits each alike). */
async function sweep(models: number, only: string[] | undefined, repeat: number): Promise<void> {
  const log = (line: string) => console.error(line);
  const rows: string[] = [
    '| setting | pipelines/min | failures | latency median / p95 (s) | train step median (ms) | queued for training median (s) | worker RSS peak (MB) | worker CPU (s) | failed attempts | other processes’ CPU |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const chosen = only ? only.map((label) => SWEEP.find((s) => s.label === label) ?? { label: `${label} (unknown label)`, settings: undefined }) : SWEEP;
  const plan = Array.from({ length: repeat }, () => chosen).flat();
  for (const { label, settings } of plan) {
    if (!settings) {
      log(`unknown sweep label "${label}"; known: ${SWEEP.map((s) => s.label).join(', ')}`);
      continue;
    }
    log(`\n=== ${label}: ${describeSettings(settings)}`);
    const watch = watchCpu();
    try {
      const r = await scaleRun({ models, settings, log });
      const cpu = watch.stop();
      logScaleRun(r, log);
      log(`machine CPU over ${cpu.wallSeconds} s: bench ${cpu.benchPercent}%, PostgreSQL ${cpu.postgresPercent}%, other processes ${cpu.otherPercent}%`);
      const retries = retriesOf(r.stats);
      const train = r.stats?.trainCandidate;
      const row =
        `| ${label} | ${r.perMin.toFixed(1)} | ${r.failures.length} | ${(r.latencyMedianMs / 1000).toFixed(1)} / ${(r.latencyP95Ms / 1000).toFixed(1)} | ${(train?.medianMs ?? NaN).toFixed(0)} | ` +
        `${((train?.medianQueuedMs ?? NaN) / 1000).toFixed(1)} | ${r.rss.workerPeakMb.toFixed(0)} | ${r.workerCpuSeconds.toFixed(1)} | ${retries.failedAttempts} | ${cpu.otherPercent}% |`;
      rows.push(row);
      log(row);
    } catch (error) {
      watch.stop();
      rows.push(`| ${label} | error: ${rootCause(error)} | | | | | | | | |`);
      log(`  ERROR ${rootCause(error)}`);
    }
  }
  console.log(rows.join('\n'));
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const flag = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const main =
    argv[0] === '--worker'
      ? workerProcess(JSON.parse(argv[1]) as ScaleWorkerSettings)
      : argv.includes('--sweep')
        ? sweep(Number(flag('--models') ?? 100), flag('--labels')?.split(',').map((s) => s.trim()), Number(flag('--repeat') ?? 1))
        : run({ quick: argv.includes('--quick'), log: (line) => console.error(line) }).then((figures) => console.log(JSON.stringify(figures, null, 2)));
  main.catch((error) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  });
}
