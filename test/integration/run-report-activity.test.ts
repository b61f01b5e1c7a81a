// The "report" step's activity on real stored data (embedded PGlite, file:// artifacts): the drift
// section shows the monitoring signals lineage holds for the latest production window before the
// run (a real covariate shift found by the monitoring step), never a window after it; the page
// links the run in the Temporal UI when the worker knows the UI; a missing or skipped validation
// report leaves a note instead of the profile comparison.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitoringActivities } from '../../activities/monitoring';
import { reportActivities } from '../../activities/reports';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { dayEnd, seedScenario } from '../support/monitoring';

const MODEL = 'reported';
let lineage: LineageDb;
let store: ArtifactStore;

beforeAll(async () => {
  lineage = await openLineageDb({ url: '', pgliteDir: mkdtempSync(path.join(tmpdir(), 'flywheel-run-report-')) });
  store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-run-report-store-'))).toString());
  // Days 0-1 are the champion's training data; on day 3 "position" shifts by one slot.
  await seedScenario(lineage.db, store, {
    name: MODEL,
    days: 4,
    referenceDays: 2,
    rowsPerDay: 1500,
    seed: 3,
    drift: [{ kind: 'covariate', feature: 'position', shift: 1, profile: { shape: 'sudden', atDay: 3 } }],
  });
  const monitoring = monitoringActivities({ db: lineage.db, store });
  await monitoring.computeMonitoring({ modelName: MODEL, nowIso: dayEnd(2).toISOString(), window: { rows: 1500 }, report: false });
  await monitoring.computeMonitoring({ modelName: MODEL, nowIso: dayEnd(3).toISOString(), window: { rows: 1500 }, report: false });
});

afterAll(async () => {
  await lineage?.close();
});

async function recordRun(id: string, startedAt: Date): Promise<void> {
  await lineage.db
    .insertInto('pipeline_runs')
    .values({ id, run_id: '01a2b3c4-run', model_name: MODEL, trigger: 'drift', stage: 4, status: 'succeeded', current_step: 'done', started_at: startedAt, timings: JSON.stringify({ pull: 10 }) })
    .execute();
}

const champion = `${MODEL}@v1`;

describe('writeRunReports', () => {
  it('shows the latest production window before the run, with its fired drift signals, and links the Temporal UI run', async () => {
    const id = `retrain/${MODEL}/after-drift`;
    await recordRun(id, new Date(dayEnd(3).getTime() + 60_000));
    const reports = reportActivities({ db: lineage.db, store, temporalUi: { baseUrl: 'http://ui.example:8233/', namespace: 'prod' } });
    const written = await reports.writeRunReports({ pipelineRunId: id, modelName: MODEL, versionId: champion, reportCardUri: null });
    const html = readFileSync(fileURLToPath(written.runReportUri), 'utf8');

    const stored = await lineage.db.selectFrom('monitoring_signals').selectAll().where('model_name', '=', MODEL).where('window_end', '=', dayEnd(3)).where('slice', '=', '').where('kind', '=', 'feature_drift').where('feature', '=', 'position').execute();
    expect(stored.some((s) => s.fired)).toBe(true);
    expect(html).toContain(`<h3>Production window ${new Date(stored[0].window_start).toISOString()} → ${dayEnd(3).toISOString()}</h3>`);
    // Each stored position statistic appears with its stored value and verdict.
    for (const s of stored) {
      const value = s.value === null ? '<span class="muted">–</span>' : Number(s.value).toFixed(4);
      expect(html).toContain(`<td>feature_drift</td><td>position</td><td>${s.statistic}</td><td>${value}</td>`);
    }
    expect(html).toMatch(/<td>drift_share<\/td><td>\(all\)<\/td><td>share<\/td>/);
    expect(html).toContain('aria-label="feature drift statistics (red: fired)"');
    expect(html).toMatch(/<rect [^>]*fill="#b3261e"><title>position /);
    expect(html).toContain('<a href="http://ui.example:8233/namespaces/prod/workflows/retrain%2Freported%2Fafter-drift/01a2b3c4-run/history">Open in the Temporal UI</a>');
    expect(html).toContain('this run stored no data validation report');
    expect(html).toContain('aria-label="lineage graph"');
    const modelPage = readFileSync(fileURLToPath(written.modelPageUri), 'utf8');
    expect(modelPage).toContain(`<h1>Model <code>${MODEL}</code></h1>`);
  });

  it('never shows a window that ended after the run started, and leaves the link out when the UI is unknown', async () => {
    const id = `retrain/${MODEL}/before-drift`;
    await recordRun(id, new Date(dayEnd(2).getTime() + 60_000));
    await store.put(`validation/${MODEL}/retrain_${MODEL}_before-drift/report.json`, JSON.stringify({ modelName: MODEL, skipped: 'data.validation.enabled is false' }));
    const written = await reportActivities({ db: lineage.db, store }).writeRunReports({ pipelineRunId: id, modelName: MODEL, versionId: null, reportCardUri: null });
    const html = readFileSync(fileURLToPath(written.runReportUri), 'utf8');
    expect(html).toContain(`→ ${dayEnd(2).toISOString()}</h3>`);
    expect(html).not.toContain(dayEnd(3).toISOString());
    expect(html).not.toContain('Open in the Temporal UI');
    expect(html).toContain('data validation was skipped (data.validation.enabled is false), so no profiles were stored');
  });
});
