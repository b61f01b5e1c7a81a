// Data benchmarks: natural-label throughput (logged predictions joined to outcomes and upserted as
// labelled rows, per second) and the worker's RSS growth while pulling a 2-million-row window
// (measured in a fresh child process so nothing else in this process skews it).
// Run as a module (BenchSuite), or as `node -r tsx/cjs bench/suites/data.ts --pull-rss <db url> <rows>`
// for the child side of the RSS measurement.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql, type Kysely } from 'kysely';
import { pullActivities } from '../../activities/pull';
import { openLineageDb } from '../../lineage/db';
import { computeNaturalLabels } from '../../lineage/natural-labels';
import type { Database } from '../../lineage/schema';
import { openArtifactStore } from '../../storage/artifact-store';
import { createTestDatabase } from '../../test/support/postgres';
import { summarize, type BenchSuite, type Figure } from '../figure';

export const ids = ['label_rows_per_s', 'pull_rss_growth_mb'];

const LAYOUT = { numeric: ['f1', 'f2', 'f3', 'f4'], categorical: ['device'] };
const START = '2026-01-01T00:00:00Z';

/** Logged predictions spread over 10 days, ~12% clicked (5% of clicks late), generated in SQL (setup, not measured). */
export async function seedProductionLog(db: Kysely<Database>, predictions: number): Promise<void> {
  await sql`select setseed(0.42)`.execute(db);
  await sql`
    insert into prediction_log (request_id, model_name, version_id, mode, unit_id, features, prediction, predicted_at)
    select 'r' || g, 'bench', 'bench@v1', 'served', 'u' || (g % 50000),
           jsonb_build_object('f1', random(), 'f2', random(), 'f3', random(), 'f4', random(), 'device', (array['mobile','desktop','tablet'])[1 + g % 3]),
           0.1, ${START}::timestamptz + (g * (864000.0 / ${predictions})) * interval '1 second'
    from generate_series(1, ${predictions}) g`.execute(db);
  await sql`
    insert into outcome_events (request_id, unit_id, model_name, event_type, value, occurred_at)
    select request_id, unit_id, 'bench', 'click', 1,
           predicted_at + (case when random() < 0.05 then 60 + random() * 120 else random() * 10 end) * interval '1 minute'
    from prediction_log where random() < 0.12`.execute(db);
  await sql`analyze prediction_log`.execute(db);
  await sql`analyze outcome_events`.execute(db);
}

async function labelThroughput(quick: boolean, log: (line: string) => void): Promise<Figure> {
  const predictions = quick ? 100_000 : 1_000_000;
  const runs = quick ? 1 : 3;
  const database = await createTestDatabase('flywheel_bench');
  const lineage = await openLineageDb({ url: database.url });
  try {
    log(`label_rows_per_s: seeding ${predictions} predictions with outcomes`);
    await seedProductionLog(lineage.db, predictions);
    const samples: number[] = [];
    let last;
    for (let run = 0; run < runs; run++) {
      await sql`truncate labelled_examples`.execute(lineage.db);
      const started = performance.now();
      last = await computeNaturalLabels(lineage.db, {
        modelName: 'bench',
        rule: { kind: 'event_within', eventType: 'click', window: '30m', joinOn: 'request_id' },
        referenceTime: '2026-01-11T00:00:00Z',
        from: START,
      });
      const seconds = (performance.now() - started) / 1000;
      samples.push(last.predictions / seconds);
      log(`label_rows_per_s: run ${run + 1}: ${last.predictions} predictions in ${seconds.toFixed(2)} s (${last.labelled} labelled, ${last.pending} pending, ${last.late} late)`);
    }
    return summarize(
      'label_rows_per_s',
      'rows/s',
      samples,
      `${predictions} logged predictions joined to click events (30m window, by request_id) and upserted into labelled_examples in one SQL statement; ${last?.positives} positives, ${last?.late} late events; PostgreSQL on 127.0.0.1`,
    );
  } finally {
    await lineage.close();
    await database.drop();
  }
}

/** Labelled rows generated in SQL: 4 numeric features and a categorical one in jsonb, like a real source. */
export async function seedLabelledRows(db: Kysely<Database>, model: string, rows: number): Promise<void> {
  await sql`select setseed(0.7)`.execute(db);
  await sql`
    insert into labelled_examples (model_name, entity_id, event_time, features, label)
    select ${model}, 'user-' || (g % 100000), ${START}::timestamptz + (g * (2592000.0 / ${rows})) * interval '1 second',
           jsonb_build_object('f1', random(), 'f2', random() * 10, 'f3', random() - 0.5, 'f4', g % 7, 'device', (array['mobile','desktop','tablet'])[1 + g % 3]),
           (random() < 0.2)::int
    from generate_series(1, ${rows}) g`.execute(db);
  await sql`analyze labelled_examples`.execute(db);
}

export interface PullRssResult {
  rows: number;
  parts: number;
  baselineMb: number;
  peakMb: number;
  growthMb: number;
  seconds: number;
}

/** Runs one pull in a fresh Node process and reports its RSS growth over the baseline. */
export function measurePullRss(url: string, rows: number): Promise<PullRssResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '-r', require.resolve('tsx/cjs'), __filename, '--pull-rss', url, String(rows)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`pull RSS probe exited ${code}: ${stderr.trim() || stdout.trim()}`));
      else resolve(JSON.parse(line) as PullRssResult);
    });
  });
}

/** Child side: warm up (modules loaded, code compiled), take the baseline, pull, sample RSS every 20 ms. */
async function pullRssChild(url: string, expectedRows: number): Promise<void> {
  const lineage = await openLineageDb({ url, migrate: false, poolSize: 2 });
  const dir = mkdtempSync(path.join(tmpdir(), 'flywheel-pull-rss-'));
  const store = openArtifactStore(pathToFileURL(dir).toString());
  const { pullLabelledWindow } = pullActivities({ db: lineage.db, store });
  const request = (windowEnd: string) => ({ pipelineRunId: `rss-${windowEnd}`, modelName: 'pullbench', layout: LAYOUT, windowStart: START, windowEnd, minRows: 10 });
  try {
    await pullLabelledWindow(request('2026-01-01T01:00:00Z'));
    (globalThis as { gc?: () => void }).gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const started = performance.now();
    const pulled = await pullLabelledWindow(request('2026-02-01T00:00:00Z'));
    const seconds = (performance.now() - started) / 1000;
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    if (pulled.rows !== expectedRows) throw new Error(`pulled ${pulled.rows} rows, expected ${expectedRows}`);
    const mb = (bytes: number) => Math.round((bytes / 1_048_576) * 10) / 10;
    const result: PullRssResult = { rows: pulled.rows, parts: pulled.parts, baselineMb: mb(baseline), peakMb: mb(peak), growthMb: mb(peak - baseline), seconds: Math.round(seconds * 100) / 100 };
    console.log(JSON.stringify(result));
  } finally {
    await lineage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fresh-process pulls per full run. */
const PULL_RSS_REPEATS = 3;

async function pullRss(quick: boolean, log: (line: string) => void): Promise<Figure> {
  const rows = quick ? 200_000 : 2_000_000;
  const database = await createTestDatabase('flywheel_bench');
  const lineage = await openLineageDb({ url: database.url });
  try {
    log(`pull_rss_growth_mb: seeding ${rows} labelled rows`);
    await seedLabelledRows(lineage.db, 'pullbench', rows);
    // Each repeat is a fresh process, so one run's heap cannot flatter the next.
    const repeats = quick ? 1 : PULL_RSS_REPEATS;
    const results: PullRssResult[] = [];
    for (let i = 0; i < repeats; i++) {
      const result = await measurePullRss(database.url, rows);
      log(`pull_rss_growth_mb ${i + 1}/${repeats}: ${JSON.stringify(result)}`);
      results.push(result);
    }
    const result = [...results].sort((a, b) => a.growthMb - b.growthMb)[Math.floor((results.length - 1) / 2)];
    return summarize(
      'pull_rss_growth_mb',
      'MB',
      results.map((r) => r.growthMb),
      `peak RSS minus baseline of a fresh worker process pulling ${result.rows} rows (4 numeric + 1 categorical feature) through a pg cursor into ${result.parts} Arrow parts, ${repeats} process(es), per run ${results.map((r) => r.growthMb).join(', ')} MB; median run ${result.seconds} s (${Math.round(result.rows / result.seconds)} rows/s), baseline ${result.baselineMb} MB; limit 300 MB`,
    );
  } finally {
    await lineage.close();
    await database.drop();
  }
}

export async function run(options: { quick: boolean; log: (line: string) => void }): Promise<Figure[]> {
  return [await labelThroughput(options.quick, options.log), await pullRss(options.quick, options.log)];
}

const suite: BenchSuite = { ids, run };
export default suite;

if (require.main === module) {
  const [mode, url, rows] = process.argv.slice(2);
  const main =
    mode === '--pull-rss'
      ? pullRssChild(url, Number(rows))
      : run({ quick: process.argv.includes('--quick'), log: (line) => console.error(line) }).then((figures) => console.log(JSON.stringify(figures, null, 2)));
  main.catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
