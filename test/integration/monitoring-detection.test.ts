// Drift detection on the simulator, end to end on a real PostgreSQL: the prediction log and natural
// labels of a served CTR model, monitored window by window (one day = 2000 rows) against the
// champion's training snapshot. Covariate shift is caught by feature drift, label shift by label
// drift, concept drift (P(y|x) flips, P(x) and P(y) unchanged) only by the performance drop — each
// in the first window after onset and not before; a stationary stream over 50 windows fires at
// most twice: at most 2 of the 50 windows have any fired signal, whole-window or slice, of any
// kind. Also: a re-run of a window replaces its rows, the report is written, and a fixed healthy
// window of the log works as the reference.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitoringActivities, type MonitoringRequest, type MonitoringSummary } from '../../activities/monitoring';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import type { SignalKind } from '../../monitoring/signal-row';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { dayEnd, seedScenario, SIM_START, type Scenario } from '../support/monitoring';

const ROWS_PER_DAY = 2000;
const REFERENCE_DAYS = 10;
const ONSET = 13;

let database: TestDatabase;
let lineage: LineageDb;
let store: ArtifactStore;
let monitoring: ReturnType<typeof monitoringActivities>;

beforeAll(async () => {
  database = await createTestDatabase();
  lineage = await openLineageDb({ url: database.url });
  store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-monitoring-'))).toString());
  monitoring = monitoringActivities({ db: lineage.db, store });
});

afterAll(async () => {
  await lineage?.close();
  await database?.drop();
});

/** Monitors each day from the first after the reference to the last; returns the summaries by day. */
async function monitorDays(name: string, fromDay: number, toDay: number, extra: Partial<MonitoringRequest> = {}): Promise<Map<number, MonitoringSummary>> {
  const out = new Map<number, MonitoringSummary>();
  for (let day = fromDay; day <= toDay; day++) {
    out.set(day, await monitoring.computeMonitoring({ modelName: name, nowIso: dayEnd(day).toISOString(), window: { rows: ROWS_PER_DAY }, report: day === toDay, ...extra }));
  }
  return out;
}

/** Before the onset nothing fires, whole-window or in a slice. */
function expectQuietBefore(days: Map<number, MonitoringSummary>): void {
  for (let day = REFERENCE_DAYS; day < ONSET; day++) {
    expect(days.get(day)!.firedKinds, `day ${day}`).toEqual([]);
    expect(days.get(day)!.firedInSlices, `day ${day} slices`).toEqual([]);
  }
}

/** A sudden drift keeps its signal firing in every window after the onset. */
function expectFiringFrom(days: Map<number, MonitoringSummary>, kind: SignalKind): void {
  for (let day = ONSET; day <= ONSET + 3; day++) expect(days.get(day)!.firedKinds, `day ${day}`).toContain(kind);
}

function firstFiring(summaries: Map<number, MonitoringSummary>, kind: SignalKind, feature?: string): number | null {
  for (const [day, s] of [...summaries].sort((a, b) => a[0] - b[0])) {
    if (!s.firedKinds.includes(kind)) continue;
    if (feature && kind === 'feature_drift' && !s.driftedFeatures.includes(feature)) continue;
    return day;
  }
  return null;
}

const results: string[] = [];

function scenario(name: string, drift: Scenario['drift']): Scenario {
  return { name, days: ONSET + 4, referenceDays: REFERENCE_DAYS, rowsPerDay: ROWS_PER_DAY, seed: 11, drift };
}

describe('drift detection on the simulator', () => {
  it('covariate shift (user_ctr_7d + 0.5 sd) is caught by feature drift in the first window after onset', async () => {
    await seedScenario(lineage.db, store, scenario('covariate', [{ kind: 'covariate', feature: 'user_ctr_7d', shift: 0.5, profile: { shape: 'sudden', atDay: ONSET } }]));
    const days = await monitorDays('covariate', REFERENCE_DAYS, ONSET + 3);
    const first = firstFiring(days, 'feature_drift', 'user_ctr_7d');
    results.push(`covariate: feature_drift(user_ctr_7d) first fired at window ${first} (onset ${ONSET}); after onset also: ${days.get(ONSET)!.firedKinds.join(', ')}`);
    expect(first).toBe(ONSET);
    expectFiringFrom(days, 'feature_drift');
    const after = days.get(ONSET)!;
    expect(after.driftedFeatures).toEqual(['user_ctr_7d']);
    // Every device slice sees the shift too.
    expect(after.firedInSlices).toContain('feature_drift');
    expect(after.triggerSignals.find((s) => s.kind === 'drift')).toMatchObject({ fired: false, value: 0.2 });
    expectQuietBefore(days);
  });

  it('label shift (odds of a click x3) is caught by label drift in the first window after onset', async () => {
    await seedScenario(lineage.db, store, scenario('labelshift', [{ kind: 'label', factor: 3, profile: { shape: 'sudden', atDay: ONSET } }]));
    const days = await monitorDays('labelshift', REFERENCE_DAYS, ONSET + 3);
    const first = firstFiring(days, 'label_drift');
    results.push(`label shift: label_drift first fired at window ${first} (onset ${ONSET}); prediction_drift at ${firstFiring(days, 'prediction_drift')}; after onset: ${days.get(ONSET)!.firedKinds.join(', ')}`);
    expect(first).toBe(ONSET);
    expectFiringFrom(days, 'label_drift');
    expectQuietBefore(days);
  });

  it('concept drift (ad_relevance effect flips sign) is caught only by the performance drop on labelled windows', async () => {
    await seedScenario(lineage.db, store, scenario('concept', [{ kind: 'concept', feature: 'ad_relevance', weight: -1.2, profile: { shape: 'sudden', atDay: ONSET } }]));
    const days = await monitorDays('concept', REFERENCE_DAYS, ONSET + 3);
    const first = firstFiring(days, 'performance');
    const after = days.get(ONSET)!;
    results.push(`concept drift: performance first fired at window ${first} (onset ${ONSET}); auc ${after.performance?.auc?.toFixed(3)} (before: ${days.get(ONSET - 1)!.performance?.auc?.toFixed(3)}); after onset: ${after.firedKinds.join(', ')}`);
    expect(first).toBe(ONSET);
    expectFiringFrom(days, 'performance');
    // P(x) and P(y) did not move: input, output and label drift stay quiet.
    expect(after.firedKinds).toEqual(['performance']);
    expect(after.triggerSignals.find((s) => s.kind === 'performance')).toMatchObject({ fired: true });
    expectQuietBefore(days);
  });

  it('gradual covariate shift (ad_relevance ramps by 1 sd over 4 days) is caught within one window of onset', async () => {
    await seedScenario(lineage.db, store, scenario('gradual', [{ kind: 'covariate', feature: 'ad_relevance', shift: 1, profile: { shape: 'gradual', fromDay: ONSET, toDay: ONSET + 4 } }]));
    const days = await monitorDays('gradual', REFERENCE_DAYS, ONSET + 3);
    const first = firstFiring(days, 'feature_drift', 'ad_relevance');
    results.push(`gradual covariate: feature_drift(ad_relevance) first fired at window ${first} (ramp starts at ${ONSET}); value then ${days.get(first ?? ONSET)!.fired[0] ?? '-'}`);
    expect(first).not.toBeNull();
    expect(first!).toBeLessThanOrEqual(ONSET + 1);
    expectQuietBefore(days);
  });

  it('a stationary stream over 50 windows fires at most twice (windows with any fired signal, whole-window or slice)', async () => {
    const windows = 50;
    await seedScenario(lineage.db, store, { name: 'stationary', days: REFERENCE_DAYS + windows, referenceDays: REFERENCE_DAYS, rowsPerDay: ROWS_PER_DAY, seed: 23 });
    const started = Date.now();
    const days = await monitorDays('stationary', REFERENCE_DAYS, REFERENCE_DAYS + windows - 1, { report: false });
    const perKind = new Map<string, number>();
    const perKindInSlices = new Map<string, number>();
    for (const s of days.values()) {
      for (const kind of s.firedKinds) perKind.set(kind, (perKind.get(kind) ?? 0) + 1);
      for (const kind of s.firedInSlices) perKindInSlices.set(kind, (perKindInSlices.get(kind) ?? 0) + 1);
    }
    results.push(
      `stationary: ${windows} windows in ${((Date.now() - started) / 1000).toFixed(1)} s; windows with a fired signal per kind: ${JSON.stringify(Object.fromEntries(perKind))}; in slices: ${JSON.stringify(Object.fromEntries(perKindInSlices))}`,
    );
    // The issue's bound is on windows, not on signal kinds: at most 2 of the 50 windows may have
    // any fired signal at all, whole-window or in a slice, of any kind.
    const firing = [...days].filter(([, s]) => s.firedKinds.length > 0 || s.firedInSlices.length > 0);
    results.push(`stationary: windows with any fired signal: ${firing.length} of ${windows}${firing.length ? ` (${firing.map(([day, s]) => `day ${day}: ${s.fired.join('; ')}`).join(' | ')})` : ''}`);
    expect(days.size).toBe(windows);
    expect(firing.length, firing.map(([day, s]) => `day ${day}: ${s.fired.join('; ')}`).join('\n')).toBeLessThanOrEqual(2);
  });
});

describe('monitoring time series and report', () => {
  it('a re-run of the same window replaces its rows; every signal has value, threshold and fired', async () => {
    const request: MonitoringRequest = { modelName: 'covariate', nowIso: dayEnd(ONSET).toISOString(), window: { rows: ROWS_PER_DAY } };
    const before = await lineage.db.selectFrom('monitoring_signals').selectAll().where('model_name', '=', 'covariate').execute();
    const again = await monitoring.computeMonitoring(request);
    const after = await lineage.db.selectFrom('monitoring_signals').selectAll().where('model_name', '=', 'covariate').execute();
    expect(after.length).toBe(before.length);
    expect(again.signalsStored).toBe(after.filter((r) => r.window_end.getTime() === dayEnd(ONSET).getTime()).length);
    const kinds = new Set(after.map((r) => r.kind));
    expect([...kinds].sort()).toEqual(['drift_share', 'feature_drift', 'label_drift', 'performance', 'prediction_drift', 'projection_drift']);
    const slices = new Set(after.map((r) => r.slice));
    expect(slices).toEqual(new Set(['', 'device=desktop', 'device=mobile', 'device=tablet']));
    const drift = after.find((r) => r.kind === 'feature_drift' && r.feature === 'user_ctr_7d' && r.slice === '' && r.window_end.getTime() === dayEnd(ONSET).getTime())!;
    expect(drift).toMatchObject({ statistic: 'wasserstein', threshold: 0.1, fires_when: 'above', fired: true, n_cur: ROWS_PER_DAY });
    expect(drift.value!).toBeGreaterThan(0.4);

    const html = readFileSync(fileURLToPath(again.reportUri!), 'utf8');
    expect(again.reportUri).toMatch(/reports\/covariate\/monitoring\.html$/);
    expect(html).toContain('<svg');
    expect(html).toContain('user_ctr_7d');
    expect(html).toContain('Stage-4 trigger signals');
  });

  it('a fixed healthy window of the log works as the reference', async () => {
    const summary = await monitoring.computeMonitoring({
      modelName: 'covariate',
      nowIso: dayEnd(ONSET).toISOString(),
      window: { duration: '1d' },
      referenceKind: 'window',
      referenceWindow: { start: SIM_START.toISOString(), end: dayEnd(REFERENCE_DAYS - 1).toISOString() },
      report: false,
    });
    expect(summary.series).toBe(`ref=${SIM_START.toISOString()}/${dayEnd(REFERENCE_DAYS - 1).toISOString()};window=duration:1d`);
    expect(summary.reference.rows).toBe(REFERENCE_DAYS * ROWS_PER_DAY);
    expect(summary.window.rows).toBe(ROWS_PER_DAY);
    expect(summary.driftedFeatures).toEqual(['user_ctr_7d']);
  });

  it('bad requests fail with errors that name the fix', async () => {
    await expect(monitoring.computeMonitoring({ modelName: 'nope', nowIso: dayEnd(ONSET).toISOString(), window: { rows: 10 } })).rejects.toThrow(/unknown model "nope"/);
    await expect(monitoring.computeMonitoring({ modelName: 'covariate', nowIso: dayEnd(ONSET).toISOString(), window: { rows: 0 } })).rejects.toThrow(/window.rows must be a positive whole number/);
    await expect(monitoring.computeMonitoring({ modelName: 'covariate', nowIso: SIM_START.toISOString(), window: { rows: 100 } })).rejects.toThrow(/no served predictions of model "covariate"/);
    await expect(monitoring.computeMonitoring({ modelName: 'covariate', nowIso: dayEnd(ONSET).toISOString(), window: { rows: 100 }, referenceKind: 'window' })).rejects.toThrow(/needs referenceWindow/);
  });

  afterAll(() => {
    console.log(`\nmonitoring detection results:\n  ${results.join('\n  ')}`);
  });
});
