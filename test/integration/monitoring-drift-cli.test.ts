// `flywheel drift <reference> <current>` through the real CLI process on files written at test
// time: CSV against CSV (the drift table), Parquet against Arrow (JSON, chosen columns), a policy
// file, and one-line errors with exit 1 for a missing column, an unreadable file and a bad policy.
// Also `flywheel monitor <model>` against a seeded PostgreSQL database, with and without --policy.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLineageDb } from '../../lineage/db';
import { createRng } from '../../ml/random';
import { openArtifactStore } from '../../storage/artifact-store';
import { runCli, userLines } from '../support/cli';
import { dayEnd, seedScenario } from '../support/monitoring';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

interface Columns {
  age: number[];
  income: number[];
  country: string[];
}

function sample(seed: number, rows: number, ageShift: number, countries: string[]): Columns {
  const rng = createRng(seed);
  const out: Columns = { age: [], income: [], country: [] };
  for (let i = 0; i < rows; i++) {
    out.age.push(40 + ageShift + 10 * rng.normal());
    out.income.push(50 + 5 * rng.normal());
    out.country.push(countries[rng.nextInt(countries.length)]);
  }
  return out;
}

function csv(columns: Columns): string {
  const lines = ['event_time,age,income,country'];
  columns.age.forEach((age, i) => lines.push(`2026-01-0${1 + (i % 9)}T00:00:00Z,${age.toFixed(4)},${columns.income[i].toFixed(4)},${columns.country[i]}`));
  return `${lines.join('\n')}\n`;
}

let dir: string;
const file = (name: string) => path.join(dir, name);

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'flywheel-drift-cli-'));
  const reference = sample(1, 3000, 0, ['de', 'fr', 'us']);
  const current = sample(2, 2500, 6, ['de', 'fr', 'us', 'us']);
  writeFileSync(file('reference.csv'), csv(reference));
  writeFileSync(file('current.csv'), csv(current));
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  writeFileSync(
    file('reference.parquet'),
    Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 'age', data: reference.age, type: 'DOUBLE' },
          { name: 'income', data: reference.income, type: 'DOUBLE' },
          { name: 'country', data: reference.country, type: 'STRING' },
        ],
      }),
    ),
  );
  writeFileSync(file('current.arrow'), tableToIPC(tableFromArrays({ age: Float64Array.from(current.age), income: Float64Array.from(current.income), country: current.country }), 'file'));
  writeFileSync(file('loose.json'), JSON.stringify({ defaults: { thresholds: { wasserstein: 0.9, js: 0.5 } } }));
  writeFileSync(file('bad-policy.json'), JSON.stringify({ defaults: { thresholds: { ks: 2 } }, features: { age: { threshold: 0.2 } } }));
});

describe('flywheel drift', () => {
  it('CSV vs CSV: prints the drift table and its summary, exit 0', async () => {
    const result = await runCli(['drift', file('reference.csv'), file('current.csv')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = userLines(result.stdout);
    expect(lines[0]).toBe(`reference ${file('reference.csv')} (3000 rows) vs current ${file('current.csv')} (2500 rows)`);
    expect(lines[1]).toMatch(/^feature\s+kind\s+source\s+method\s+value\s+fires if\s+fired/);
    expect(lines.find((l) => l.startsWith('age '))).toMatch(/numeric\s+feature\s+wasserstein\s+0\.\d+\s+> 0\.1\s+YES\s+3000\s+2500/);
    expect(lines.find((l) => l.startsWith('income '))).toMatch(/\sno\s/);
    expect(lines.find((l) => l.startsWith('country '))).toMatch(/categorical\s+feature\s+js\s+0\.\d+\s+> 0\.1\s+YES/);
    // The timestamp column is not a feature.
    expect(lines.some((l) => l.startsWith('event_time'))).toBe(false);
    expect(lines.at(-1)).toMatch(/^DRIFT: 2 of 3 features drifted \(66\.7%\): age \(wasserstein .*\), country \(js .*\)$/);
  });

  it('Parquet vs Arrow: JSON with the chosen columns; a policy file changes the decision', async () => {
    const [chosen, loose] = await Promise.all([
      runCli(['drift', file('reference.parquet'), file('current.arrow'), '--json', '--features', 'age,income']),
      runCli(['drift', file('reference.parquet'), file('current.arrow'), '--json', '--policy', file('loose.json')]),
    ]);
    expect(chosen.code).toBe(0);
    const report = JSON.parse(chosen.stdout);
    expect(report.reference).toMatchObject({ rows: 3000 });
    expect(report.current).toMatchObject({ rows: 2500 });
    expect(report.signals.map((s: { feature: string }) => s.feature)).toEqual(['age', 'income']);
    expect(report).toMatchObject({ fired: true, firedFeatures: ['age'], shareDrifted: 0.5 });
    expect(report.signals[0]).toMatchObject({ method: 'wasserstein', threshold: 0.1, firesWhen: 'above', fired: true, n_ref: 3000, n_cur: 2500 });

    expect(loose.code).toBe(0);
    expect(JSON.parse(loose.stdout)).toMatchObject({ fired: false, firedFeatures: [], shareDrifted: 0 });
  });

  it('a missing column, an unreadable file or a bad policy: one line on stderr, exit 1', async () => {
    const [missing, unreadable, policy] = await Promise.all([
      runCli(['drift', file('reference.csv'), file('current.arrow'), '--features', 'age,tenure']),
      runCli(['drift', file('reference.csv'), file('nope.parquet')]),
      runCli(['drift', file('reference.csv'), file('current.csv'), '--policy', file('bad-policy.json')]),
    ]);
    for (const result of [missing, unreadable, policy]) {
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(userLines(result.stderr)).toHaveLength(1);
    }
    expect(missing.stderr.trim()).toBe(`flywheel: column 'tenure' is not in ${file('reference.csv')} (columns: event_time, age, income, country)`);
    expect(unreadable.stderr.trim()).toBe(`flywheel: ${file('nope.parquet')}: 1 problem: no such file`);
    expect(policy.stderr.trim()).toMatch(/^flywheel: invalid drift policy in .*bad-policy\.json: defaults\.thresholds\.ks: threshold for ks is a significance level.*; features\.age\.threshold: a threshold needs a method/);
  });
});

describe('flywheel monitor', () => {
  let database: TestDatabase;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    const artifacts = pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-monitor-cli-'))).toString();
    const lineage = await openLineageDb({ url: database.url });
    try {
      await seedScenario(lineage.db, openArtifactStore(artifacts), {
        name: 'cli',
        days: 4,
        referenceDays: 3,
        // Above 1000 rows per window the distance decides (the policy's default switch).
        rowsPerDay: 1200,
        seed: 5,
        drift: [{ kind: 'covariate', feature: 'ad_relevance', shift: 0.7, profile: { shape: 'sudden', atDay: 3 } }],
      });
    } finally {
      await lineage.close();
    }
    env = { DATABASE_URL: database.url, FLYWHEEL_ARTIFACT_ROOT: artifacts };
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('computes one window, prints what fired and stores the series; unknown models fail in one line', async () => {
    const at = dayEnd(3).toISOString();
    const [human, json, unknown] = await Promise.all([
      runCli(['monitor', 'cli', '--window', '1d', '--at', at], env),
      runCli(['monitor', 'cli', '--window', '1200', '--at', at, '--json', '--no-report'], env),
      runCli(['monitor', 'nope', '--at', at], env),
    ]);
    expect(human.stderr).toBe('');
    expect(human.code).toBe(0);
    const lines = userLines(human.stdout);
    expect(lines[0]).toBe(`cli: window ${dayEnd(2).toISOString()} → ${at} (1200 rows, ${lines[0].match(/(\d+) labelled/)![1]} labelled) vs cli@v1's training snapshot ds-cli-reference (${lines[0].match(/ds-cli-reference \((\d+) rows/)![1]} rows, performance on its ${lines[0].match(/on its (\d+) validation/)![1]} validation rows)`);
    expect(lines[1]).toMatch(/^  drift\s+quiet  1 of 5 features drifted \(20\.0%, fires at >= 25\.0%\): ad_relevance \(wasserstein/);
    expect(lines.find((l) => l.startsWith('  fired: '))).toContain('feature drift ad_relevance (wasserstein');
    expect(lines.at(-1)).toMatch(/^  \d+ signals stored in series ref=training;window=duration:1d; report file:\/\/.*\/reports\/cli\/monitoring\.html$/);

    expect(json.code).toBe(0);
    const summary = JSON.parse(json.stdout);
    expect(summary).toMatchObject({ modelName: 'cli', series: 'ref=training;window=rows:1200', driftedFeatures: ['ad_relevance'], reportUri: null });

    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe('flywheel: unknown model "nope": apply its spec first (flywheel models apply <spec.json>)');
  });

  it('--policy replaces the drift policy for the window; a policy that does not fit the model fails in one line', async () => {
    const at = dayEnd(3).toISOString();
    writeFileSync(file('unknown-feature.json'), JSON.stringify({ features: { age: { thresholds: { wasserstein: 0.5 } } } }));
    const [loose, unknownFeature, bad] = await Promise.all([
      runCli(['monitor', 'cli', '--window', '1200', '--at', at, '--json', '--no-report', '--policy', file('loose.json')], env),
      runCli(['monitor', 'cli', '--at', at, '--policy', file('unknown-feature.json')], env),
      runCli(['monitor', 'cli', '--at', at, '--policy', file('bad-policy.json')], env),
    ]);
    expect(loose.stderr).toBe('');
    expect(loose.code).toBe(0);
    // wasserstein 0.9 instead of 0.1: the 0.7 sd shift of ad_relevance no longer counts as drift.
    expect(JSON.parse(loose.stdout)).toMatchObject({ modelName: 'cli', policySource: 'request', driftedFeatures: [] });
    expect(unknownFeature.code).toBe(1);
    expect(unknownFeature.stderr.trim()).toMatch(/^flywheel: monitoring "cli": invalid drift policy: features\.age: no feature "age" in the model \(features: /);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toMatch(/^flywheel: invalid drift policy in .*bad-policy\.json: defaults\.thresholds\.ks: /);
  });
});
