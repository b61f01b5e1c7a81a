// DAG step "test set": the model's static, trusted test set. On the first run with enough data a
// seeded sample of the window is frozen — an immutable, content-hashed Arrow file plus the row ids
// in lineage — and every later pull excludes those rows, so no candidate ever trains on them.
import { sql } from 'kysely';
import { encodeDataset, sha256Hex, type DatasetColumns } from '../datasets/snapshot';
import type { FeatureLayout } from '../spec/feature-layout';
import { FailureType } from '../workflows/failure-types';
import type { ActivityDeps } from './deps';
import { badInput } from './failures';
import { markStep } from './pipeline-run';

export interface TestSetRequest {
  pipelineRunId: string;
  modelName: string;
  layout: FeatureLayout;
  windowStart: string;
  windowEnd: string;
  settings: { enabled: boolean; fraction: number; minRows: number; seed: number };
}

export interface StaticTestSet {
  testSetId: string;
  uri: string;
  rows: number;
  /** True when this run froze it. */
  created: boolean;
}

export function testSetActivities(deps: ActivityDeps) {
  const { db, store } = deps;
  return {
    async ensureStaticTestSet(request: TestSetRequest): Promise<StaticTestSet | null> {
      if (!request.settings.enabled) return null;
      await markStep(deps, request.pipelineRunId, 'testset');
      const existing = await db.selectFrom('test_sets').selectAll().where('model_name', '=', request.modelName).orderBy('version', 'desc').executeTakeFirst();
      if (existing) return { testSetId: existing.id, uri: existing.uri, rows: existing.row_count, created: false };

      let inWindow = db
        .selectFrom('labelled_examples')
        .where('model_name', '=', request.modelName)
        .where('event_time', '>=', new Date(request.windowStart))
        .where('event_time', '<', new Date(request.windowEnd));
      // Only rows with every numeric feature present as a number are eligible: rows with missing or
      // mistyped values are the pull's and the validation gate's to count and judge against their
      // thresholds (naming the feature), not a reason to fail the run here.
      for (const name of request.layout.numeric) inWindow = inWindow.where(sql<boolean>`jsonb_typeof(features -> ${name}) = 'number'`);
      const { n } = await inWindow.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
      const take = Math.floor(Number(n) * request.settings.fraction);
      if (take < request.settings.minRows) return null;
      // A seeded hash order is a reproducible uniform sample that needs no random state.
      const rows = await inWindow
        .select(['id', 'entity_id', 'event_time', 'features', 'label'])
        .orderBy(sql`md5(id::text || ${String(request.settings.seed)})`)
        .limit(take)
        .execute();
      rows.sort((a, b) => new Date(a.event_time).getTime() - new Date(b.event_time).getTime() || Number(a.id) - Number(b.id));

      const columns: DatasetColumns = {
        eventTimeMs: Float64Array.from(rows, (r) => new Date(r.event_time).getTime()),
        entityIds: rows.map((r) => r.entity_id),
        labels: Float64Array.from(rows, (r) => r.label),
        features: {},
        categorical: {},
      };
      for (const name of request.layout.numeric) {
        columns.features[name] = Float64Array.from(rows, (r) => {
          const value = (r.features as Record<string, unknown>)[name];
          if (typeof value !== 'number' || !Number.isFinite(value)) throw badInput(FailureType.SchemaViolation, `static test set: labelled_examples row ${r.id} has ${JSON.stringify(value)} for numeric feature "${name}"`);
          return value;
        });
      }
      for (const name of request.layout.categorical) {
        columns.categorical[name] = rows.map((r) => String((r.features as Record<string, unknown>)[name] ?? ''));
      }
      const bytes = encodeDataset(columns, request.layout);
      const contentHash = sha256Hex(bytes);
      const testSetId = `ts-${request.modelName}-v1`;
      const uri = await store.put(`test-sets/${request.modelName}/v1/${contentHash}.arrow`, bytes, { ifAbsent: true, contentType: 'application/vnd.apache.arrow.file' });
      await db.transaction().execute(async (trx) => {
        const inserted = await trx
          .insertInto('test_sets')
          .values({
            id: testSetId,
            model_name: request.modelName,
            version: 1,
            uri,
            content_hash: contentHash,
            row_count: rows.length,
            window_start: request.windowStart,
            window_end: request.windowEnd,
            frozen_by_run: request.pipelineRunId,
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .returning('id')
          .executeTakeFirst();
        if (!inserted) return; // a retry, or a concurrent run, froze it first
        for (let i = 0; i < rows.length; i += 1000) {
          await trx
            .insertInto('test_set_rows')
            .values(rows.slice(i, i + 1000).map((r) => ({ test_set_id: testSetId, model_name: request.modelName, example_id: r.id })))
            .execute();
        }
      });
      const stored = await db.selectFrom('test_sets').selectAll().where('id', '=', testSetId).executeTakeFirstOrThrow();
      return { testSetId, uri: stored.uri, rows: stored.row_count, created: stored.frozen_by_run === request.pipelineRunId };
    },
  };
}
