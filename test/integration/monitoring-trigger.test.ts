// The stage-4 drift trigger through activities/triggers.ts evaluateTriggers on a real PostgreSQL:
// quiet on the champion's own distribution, fired with the drifted feature named once the latest
// windowRows served rows have shifted, measured on labelled history when the model logs no
// predictions, and a clear "did not fire" when there is no champion to compare with.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerActivities } from '../../activities/triggers';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { insertLabelledExamples } from '../../lineage/labelled-examples';
import { applyModelSpec } from '../../lineage/models';
import { generateDay } from '../../scenarios/simulator';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { dayEnd, installChampion, monitoredSpec, seedScenario, SIM_START } from '../support/monitoring';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

const ONSET = 8;
const stage4 = (rule: Record<string, unknown>) => ({ stage: 4, continual: { checkEvery: '5m', triggers: { drift: rule } } });

let database: TestDatabase;
let lineage: LineageDb;
let store: ArtifactStore;
let triggers: ReturnType<typeof triggerActivities>;

beforeAll(async () => {
  database = await createTestDatabase();
  lineage = await openLineageDb({ url: database.url });
  store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-drift-trigger-'))).toString());
  triggers = triggerActivities({ db: lineage.db, store });
});

afterAll(async () => {
  await lineage?.close();
  await database?.drop();
});

describe('drift trigger', () => {
  it('stays quiet before the shift and fires on the latest served rows after it, naming the feature', async () => {
    await seedScenario(lineage.db, store, {
      name: 'trig',
      days: ONSET + 1,
      referenceDays: 5,
      rowsPerDay: 2000,
      seed: 3,
      drift: [{ kind: 'covariate', feature: 'ad_relevance', shift: 0.6, profile: { shape: 'sudden', atDay: ONSET } }],
      // A window of a whole day's traffic: shorter ones see a different time of day (hour_sin) than the reference.
      specExtra: stage4({ shareDrifted: 0.2, windowRows: 2000 }),
    });
    const before = await triggers.evaluateTriggers({ modelName: 'trig', nowIso: dayEnd(ONSET - 1).toISOString() });
    const quiet = before.signals.find((s) => s.kind === 'drift')!;
    expect(quiet).toMatchObject({ kind: 'drift', fired: false, value: 0, threshold: 0.2 });
    expect(quiet.detail).toContain('the latest 2000 served rows of the prediction log vs trig@v1');

    const after = await triggers.evaluateTriggers({ modelName: 'trig', nowIso: dayEnd(ONSET).toISOString() });
    const drift = after.signals.find((s) => s.kind === 'drift')!;
    expect(drift).toMatchObject({ kind: 'drift', fired: true, value: 0.2, threshold: 0.2 });
    expect(drift.detail).toMatch(/^1 of 5 features drifted \(20\.0%, fires at >= 20\.0%\): ad_relevance \(wasserstein 0\.\d+ > 0\.1\)/);
  });

  it('falls back to the latest labelled rows when the model logs no predictions', async () => {
    const name = 'trig-labelled';
    await applyModelSpec(lineage.db, monitoredSpec(name, stage4({ shareDrifted: 0.4, windowRows: 800 })));
    const history = (days: number[], shift: number) =>
      days.flatMap((day) =>
        generateDay({ task: 'ctr', modelName: name, start: SIM_START, days: 1, rowsPerDay: 800, seed: 9 }, day).predictions.map((p, i) => ({
          entityId: `e-${day}-${i}`,
          eventTime: new Date(p.predictedAt),
          features: { ...(p.features as Record<string, number | string>), ad_relevance: (p.features.ad_relevance as number) + shift, user_ctr_7d: (p.features.user_ctr_7d as number) + shift },
          label: i % 9 === 0 ? 1 : 0,
        })),
      );
    await insertLabelledExamples(lineage.db, name, history([0, 1, 2, 3], 0));
    await installChampion(lineage.db, store, name, dayEnd(3));
    await insertLabelledExamples(lineage.db, name, history([4], 0.8));
    const check = await triggers.evaluateTriggers({ modelName: name, nowIso: dayEnd(4).toISOString() });
    const drift = check.signals.find((s) => s.kind === 'drift')!;
    expect(drift).toMatchObject({ fired: true, value: 0.4, threshold: 0.4 });
    expect(drift.detail).toContain('ad_relevance (ks');
    expect(drift.detail).toContain('user_ctr_7d (ks');
    expect(drift.detail).toContain('the latest 800 labelled rows (the model logs no predictions)');
  });

  it('does not fire, and says why, without a champion or with too few rows', async () => {
    await applyModelSpec(lineage.db, monitoredSpec('untrained', stage4({ shareDrifted: 0.25, windowRows: 200 })));
    const none = (await triggers.evaluateTriggers({ modelName: 'untrained', nowIso: dayEnd(1).toISOString() })).signals.find((s) => s.kind === 'drift')!;
    expect(none).toMatchObject({ fired: false, value: null, threshold: 0.25 });
    expect(none.detail).toContain('has no champion yet');

    const early = (await triggers.evaluateTriggers({ modelName: 'trig', nowIso: new Date(SIM_START.getTime() + 60_000).toISOString() })).signals.find((s) => s.kind === 'drift')!;
    expect(early).toMatchObject({ fired: false, value: null });
    expect(early.detail).toMatch(/^only \d+ served rows of the prediction log before .* \(a drift check needs 50\)$/);
  });
});
