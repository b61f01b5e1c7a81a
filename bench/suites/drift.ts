// Benchmarks: drift computation throughput.
// drift_values_per_s: the statistics alone on in-memory arrays. One numeric and one categorical
// feature, 1,000,000 current rows against 100,000 reference rows (quick mode: 100,000 vs 10,000),
// every statistic computed under the default policy; the figure counts values read (reference +
// current, both features) per second of evaluateFeatureDrift.
// drift_rows_per_s: the monitoring step end to end over 1,000,000 logged predictions (quick:
// 100,000) in a fresh PostgreSQL database: computeMonitoring (activities/monitoring.ts) streams the
// window out of prediction_log joined to its natural labels (lineage/monitoring.ts, server-side
// cursor), ingests it with bounded memory (monitoring/windows.ts), computes every signal of the
// window and its slices and stores them in monitoring_signals. The figure is window rows per second
// of the whole call (reading the reference window counts against it too).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { sql, type Kysely } from 'kysely';
import { monitoringActivities } from '../../activities/monitoring';
import { openLineageDb } from '../../lineage/db';
import { applyModelSpec } from '../../lineage/models';
import type { Database } from '../../lineage/schema';
import { createRng } from '../../ml/random';
import { evaluateFeatureDrift, resolveDriftPolicy } from '../../monitoring/thresholds';
import { openArtifactStore } from '../../storage/artifact-store';
import { createTestDatabase } from '../../test/support/postgres';
import { summarize, type BenchSuite, type Figure } from '../figure';

export const ids = ['drift_values_per_s', 'drift_rows_per_s'];

const PLANS = ['free', 'basic', 'pro', 'team', 'enterprise', 'edu', 'trial', 'legacy'];

function numericWindow(seed: number, rows: number, shift: number): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: rows }, () => 50 + 10 * (rng.normal() + shift));
}

function categoricalWindow(seed: number, rows: number, skew: number): string[] {
  const rng = createRng(seed);
  return Array.from({ length: rows }, () => PLANS[Math.min(PLANS.length - 1, Math.floor(rng.next() ** (1 + skew) * PLANS.length))]);
}

async function valuesThroughput(options: { quick: boolean; log: (line: string) => void }): Promise<Figure> {
  const currentRows = options.quick ? 100_000 : 1_000_000;
  const referenceRows = currentRows / 10;
  const runs = options.quick ? 3 : 5;
  const policy = resolveDriftPolicy();
  const refNumeric = numericWindow(1, referenceRows, 0);
  const curNumeric = numericWindow(2, currentRows, 0.05);
  const refCategorical = categoricalWindow(3, referenceRows, 0);
  const curCategorical = categoricalWindow(4, currentRows, 0.05);
  const values = 2 * (referenceRows + currentRows);
  options.log(`drift: ${currentRows} current vs ${referenceRows} reference rows, 1 numeric + 1 categorical feature, ${runs} runs`);

  // One untimed pass so JIT warm-up does not count against the first run.
  evaluateFeatureDrift('numeric', refNumeric, curNumeric, policy, 'amount');
  evaluateFeatureDrift('categorical', refCategorical, curCategorical, policy, 'plan');

  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    const numeric = evaluateFeatureDrift('numeric', refNumeric, curNumeric, policy, 'amount');
    const categorical = evaluateFeatureDrift('categorical', refCategorical, curCategorical, policy, 'plan');
    const seconds = (performance.now() - start) / 1000;
    samples.push(values / seconds);
    options.log(
      `  run ${r + 1}: ${(seconds * 1000).toFixed(0)} ms (W1/std ${numeric.value.toFixed(4)}, KS p ${numeric.statistics.ks.pValue.toExponential(2)}, JS ${categorical.value.toFixed(4)})`,
    );
  }
  return summarize(
    'drift_values_per_s',
    'values/s',
    samples,
    `evaluateFeatureDrift (KS + asymptotic p, W1, PSI; JS, L-inf, chi2, PSI) on ${currentRows} current vs ${referenceRows} reference rows, numeric + categorical`,
  );
}

const MODEL = 'drift_bench';
const LOG_START = '2026-01-01T00:00:00Z';
const LOG_DAYS = 10;
/** The reference: the log's first day, a fixed healthy window. */
const REFERENCE_END = '2026-01-02T00:00:00Z';
const LOG_END = '2026-01-11T00:00:00Z';

const SPEC = {
  name: MODEL,
  task: 'binary_classification',
  features: [
    { name: 'f1', type: 'numeric' },
    { name: 'f2', type: 'numeric' },
    { name: 'f3', type: 'numeric' },
    { name: 'f4', type: 'numeric' },
    { name: 'device', type: 'categorical' },
  ],
  labels: { kind: 'event_within', eventType: 'click', window: '30m', joinOn: 'request_id' },
  evaluation: { slices: { features: ['device'] } },
};

/**
 * `window` served predictions over the log's last 9 days plus `reference` on its first day, with a
 * natural label for every one (known 30 minutes later), generated set-based in SQL (setup, not
 * measured). f2 drifts by a quarter of a standard deviation after day 1, so the window has signals to fire.
 */
async function seedLoggedPredictions(db: Kysely<Database>, reference: number, window: number): Promise<void> {
  await sql`select setseed(0.17)`.execute(db);
  const day = 86_400;
  const insert = (from: number, count: number, startIso: string, seconds: number, f2Shift: number) => sql`
    insert into prediction_log (request_id, model_name, version_id, mode, unit_id, features, prediction, predicted_at)
    select 'r' || g, ${MODEL}, ${`${MODEL}@v1`}, 'served', 'u' || (g % 50000), x.features,
           1 / (1 + exp(-(2 * (x.features->>'f1')::float8 - 1 + 0.5 * (x.features->>'f2')::float8))),
           ${startIso}::timestamptz + ((g - ${from}::int) * (${seconds}::float8 / ${count}::int)) * interval '1 second'
    from generate_series(${from}::int, ${from + count - 1}::int) g,
         lateral (select jsonb_build_object('f1', random() + g * 0, 'f2', ${f2Shift}::float8 + sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()),
                                            'f3', random() * 100, 'f4', floor(random() * 20), 'device', (array['mobile','desktop','tablet'])[1 + g % 3]) as features) x`;
  await insert(1, reference, LOG_START, day, 0).execute(db);
  await insert(reference + 1, window, REFERENCE_END, (LOG_DAYS - 1) * day, 0.25).execute(db);
  await sql`
    insert into labelled_examples (model_name, entity_id, event_time, features, label, request_id, label_source, label_available_at)
    select model_name, unit_id, predicted_at, features, case when random() < prediction then 1 else 0 end, request_id, 'natural:bench', predicted_at + interval '30 minutes'
    from prediction_log where model_name = ${MODEL}`.execute(db);
  await sql`analyze prediction_log`.execute(db);
  await sql`analyze labelled_examples`.execute(db);
}

async function rowsThroughput(options: { quick: boolean; log: (line: string) => void }): Promise<Figure> {
  const windowRows = options.quick ? 100_000 : 1_000_000;
  const referenceRows = windowRows / 10;
  const runs = 3;
  const database = await createTestDatabase('flywheel_bench');
  const lineage = await openLineageDb({ url: database.url });
  const storeDir = mkdtempSync(path.join(tmpdir(), 'flywheel-bench-drift-'));
  try {
    await applyModelSpec(lineage.db, SPEC);
    const seeding = performance.now();
    await seedLoggedPredictions(lineage.db, referenceRows, windowRows);
    options.log(`drift_rows_per_s: seeded ${windowRows} + ${referenceRows} logged predictions with natural labels in ${((performance.now() - seeding) / 1000).toFixed(1)} s`);
    const monitoring = monitoringActivities({ db: lineage.db, store: openArtifactStore(pathToFileURL(storeDir).toString()) });
    const request = {
      modelName: MODEL,
      nowIso: LOG_END,
      window: { rows: windowRows },
      referenceKind: 'window' as const,
      referenceWindow: { start: LOG_START, end: REFERENCE_END },
      report: false,
    };
    const samples: number[] = [];
    let last;
    for (let r = 0; r < runs; r++) {
      const started = performance.now();
      last = await monitoring.computeMonitoring(request);
      const seconds = (performance.now() - started) / 1000;
      if (last.window.rows !== windowRows) throw new Error(`drift_rows_per_s: the window has ${last.window.rows} rows, expected ${windowRows}`);
      samples.push(windowRows / seconds);
      options.log(
        `drift_rows_per_s: run ${r + 1}: ${windowRows} window rows (${last.window.labelledRows} labelled) vs ${last.reference.rows} reference rows in ${seconds.toFixed(2)} s; ${last.signalsStored} signals stored; fired: ${last.firedKinds.join(', ') || 'none'}`,
      );
    }
    return summarize(
      'drift_rows_per_s',
      'rows/s',
      samples,
      `computeMonitoring over ${windowRows} logged predictions (latest-N window streamed from prediction_log with natural labels, 4 numeric + 1 categorical feature, 3 device slices, 4 projections, every signal stored) vs a ${referenceRows}-row reference window of the log (read in each run, counted in the time); ${last?.signalsStored} signals per window; PostgreSQL on 127.0.0.1`,
    );
  } finally {
    await lineage.close();
    await database.drop();
    rmSync(storeDir, { recursive: true, force: true });
  }
}

export async function run(options: { quick: boolean; log: (line: string) => void }): Promise<Figure[]> {
  return [await valuesThroughput(options), await rowsThroughput(options)];
}

export const suite: BenchSuite = { ids, run };
