// Monitoring on embedded PGlite (the demo's database), which cannot stream: windows larger than one
// page are read by keyset pages instead of a cursor, with the same result; the drift trigger and
// the stored series work there too.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitoringActivities } from '../../activities/monitoring';
import { triggerActivities } from '../../activities/triggers';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { dayEnd, seedScenario } from '../support/monitoring';

let lineage: LineageDb;
let store: ArtifactStore;

beforeAll(async () => {
  lineage = await openLineageDb({ url: '', pgliteDir: mkdtempSync(path.join(tmpdir(), 'flywheel-monitoring-pglite-')) });
  store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-monitoring-pglite-store-'))).toString());
});

afterAll(async () => {
  await lineage?.close();
});

describe('monitoring on PGlite', () => {
  it('pages through a 6000-row window, finds the shift, stores the series and fires the drift trigger', async () => {
    expect(lineage.kind).toBe('pglite');
    await seedScenario(lineage.db, store, {
      name: 'embedded',
      days: 4,
      referenceDays: 2,
      rowsPerDay: 6000,
      seed: 1,
      drift: [{ kind: 'covariate', feature: 'position', shift: 1, profile: { shape: 'sudden', atDay: 3 } }],
      specExtra: { stage: 4, continual: { triggers: { drift: { shareDrifted: 0.2, windowRows: 6000 } } } },
    });
    const monitoring = monitoringActivities({ db: lineage.db, store });
    const quiet = await monitoring.computeMonitoring({ modelName: 'embedded', nowIso: dayEnd(2).toISOString(), window: { rows: 6000 }, report: false });
    expect(quiet.window.rows).toBe(6000);
    expect(quiet.firedKinds).toEqual([]);
    const drifted = await monitoring.computeMonitoring({ modelName: 'embedded', nowIso: dayEnd(3).toISOString(), window: { rows: 6000 } });
    expect(drifted.driftedFeatures).toEqual(['position']);
    expect(drifted.window.labelledRows).toBeGreaterThan(5000);
    const stored = await lineage.db.selectFrom('monitoring_signals').select('window_end').distinct().where('model_name', '=', 'embedded').execute();
    expect(stored).toHaveLength(2);

    const check = await triggerActivities({ db: lineage.db, store }).evaluateTriggers({ modelName: 'embedded', nowIso: dayEnd(3).toISOString() });
    expect(check.signals.find((s) => s.kind === 'drift')).toMatchObject({ fired: true, value: 0.2, threshold: 0.2 });
  });
});
