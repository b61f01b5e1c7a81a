// The value-of-freshness experiment's activities (workflows/freshness.ts): plan the windows from the
// model's spec and its latest labelled data, train and test one window per age, then store the
// curve (JSON artifact, HTML report, a freshness_experiments lineage row) with a recommended
// retraining interval. Each is idempotent: the same experiment id and input give the same windows,
// the same models (seeded trainers), the same files and one lineage row.
import { sql } from 'kysely';
import { resolvePrimaryMetric } from '../evaluation/spec';
import { isMetricForTask, METRIC_DIRECTIONS, type MetricName, type Task } from '../ml/metrics';
import {
  DEFAULT_FRESHNESS_AGES,
  evaluateFreshnessPoint,
  FreshnessError,
  freshnessWindows,
  recommendInterval,
  type FreshnessLayout,
  type FreshnessPoint,
  type FreshnessRecommendation,
} from '../lifecycle/backtest/freshness';
import { freshnessReportHtml } from '../lifecycle/backtest/freshness-report';
import { historyFromLineage, SourceRowError } from '../lifecycle/backtest/lineage-history';
import { builtinTrainer } from '../lifecycle/backtest/train-window';
import { SourceError } from '../lineage/window-source';
import { parseModelSpec, type ModelSpec } from '../spec/model-spec';
import { FailureType } from '../workflows/failure-types';
import { runKey, type ActivityDeps } from './deps';
import { badInput } from './failures';
import { heartbeat } from './heartbeat';

/** What a caller asks for; every field but the model is optional. */
export interface FreshnessExperimentRequest {
  modelName: string;
  /** End of the test window (ISO 8601); default: just after the model's latest labelled row. */
  referenceTime?: string;
  /** Staleness of each training window in days; default 0, 1, 3, 7, 14, 30. */
  agesDays?: number[];
  /** Length of every training window; default the spec's data.windowDays. */
  trainWindowDays?: number;
  /** Length of the test window (the "latest labelled data"); default 1 day. */
  testDays?: number;
  /** Default: the spec's primary evaluation metric (auc for binary classification). */
  metric?: string;
  /** How far from the freshest model's metric still counts as "as good"; default 0.01. */
  tolerance?: number;
}

export interface FreshnessPlan {
  experimentId: string;
  modelName: string;
  spec: ModelSpec;
  referenceTime: string;
  trainWindowDays: number;
  testDays: number;
  metric: MetricName;
  tolerance: number;
  layout: FreshnessLayout;
  testRows: number;
}

export interface FreshnessOutcome {
  experimentId: string;
  modelName: string;
  referenceTime: string;
  metric: MetricName;
  test: { start: string; end: string; rows: number };
  /** The curve, one point per age (metrics and row counts; no data). */
  points: FreshnessPoint[];
  recommendation: FreshnessRecommendation;
  artifactUri: string;
  reportUri: string;
}

function artifactPrefix(experimentId: string): string {
  return `experiments/${runKey(experimentId)}`;
}

export function freshnessActivities(deps: ActivityDeps) {
  const { db, store } = deps;

  async function loadSpec(modelName: string): Promise<ModelSpec> {
    const row = await db.selectFrom('models').select('spec').where('name', '=', modelName).executeTakeFirst();
    if (!row) throw badInput(FailureType.UnknownModel, `unknown model "${modelName}": apply its spec first (flywheel models apply <spec.json>)`);
    const spec = parseModelSpec(row.spec);
    try {
      builtinTrainer(spec);
    } catch (error) {
      throw badInput(FailureType.InvalidSpec, (error as Error).message);
    }
    return spec;
  }

  async function load(spec: ModelSpec, range: { start: string; end: string }) {
    try {
      return await historyFromLineage(db, spec, range);
    } catch (error) {
      if (error instanceof SourceError) throw badInput(FailureType.InvalidSpec, `model "${spec.name}": ${error.message}`);
      if (error instanceof SourceRowError) throw badInput(FailureType.SchemaViolation, `model "${spec.name}": ${error.message}: fix the source rows or the spec's feature list`);
      throw error;
    }
  }

  return {
    async planFreshnessExperiment(request: { experimentId: string } & FreshnessExperimentRequest): Promise<FreshnessPlan> {
      const spec = await loadSpec(request.modelName);
      const task = spec.task as Task;
      const metric = (request.metric ?? resolvePrimaryMetric(spec.evaluation, task).name) as MetricName;
      if (!isMetricForTask(metric, task)) throw badInput(FailureType.InvalidSpec, `metric "${metric}" does not apply to ${spec.task}`);
      let referenceTime = request.referenceTime;
      if (referenceTime === undefined) {
        if ((spec.data.source ?? 'labelled_examples') !== 'labelled_examples') {
          throw badInput(FailureType.InvalidSpec, `model "${spec.name}" reads a table source: give referenceTime (the end of the latest labelled data)`);
        }
        const latest = await db
          .selectFrom('labelled_examples')
          .select(sql<number | null>`floor(extract(epoch from max(event_time)) * 1000)::float8`.as('ms'))
          .where('model_name', '=', spec.name)
          .executeTakeFirst();
        if (latest?.ms === null || latest?.ms === undefined) throw badInput(FailureType.EmptyDataWindow, `model "${spec.name}" has no labelled rows: load data first (flywheel data import)`);
        // Just after the latest row, so the test window [reference − testDays, reference) holds it.
        referenceTime = new Date(Number(latest.ms) + 1).toISOString();
      }
      const trainWindowDays = request.trainWindowDays ?? spec.data.windowDays;
      const testDays = request.testDays ?? 1;
      const tolerance = request.tolerance ?? 0.01;
      if (!(tolerance >= 0)) throw badInput(FailureType.InvalidSpec, `tolerance must be >= 0, got ${tolerance}`);
      let layout: FreshnessLayout;
      try {
        layout = freshnessWindows(new Date(referenceTime).getTime(), request.agesDays ?? DEFAULT_FRESHNESS_AGES, trainWindowDays, testDays);
      } catch (error) {
        if (error instanceof FreshnessError) throw badInput(FailureType.InvalidSpec, error.message);
        throw error;
      }
      const test = await load(spec, layout.test);
      if (!test.history) throw badInput(FailureType.EmptyDataWindow, `no labelled rows for model "${spec.name}" in the test window [${layout.test.start}, ${layout.test.end}): pick a referenceTime with data before it`);
      return { experimentId: request.experimentId, modelName: spec.name, spec, referenceTime, trainWindowDays, testDays, metric, tolerance, layout, testRows: test.history.eventTimeMs.length };
    },

    async trainFreshnessPoint(request: { plan: FreshnessPlan; ageDays: number }): Promise<FreshnessPoint> {
      const { plan } = request;
      const window = plan.layout.windows.find((w) => w.ageDays === request.ageDays);
      if (!window) throw badInput(FailureType.InvalidSpec, `age ${request.ageDays} is not in the plan's ages (${plan.layout.windows.map((w) => w.ageDays).join(', ')})`);
      heartbeat({ ageDays: window.ageDays, step: 'pull' });
      const [train, test] = [await load(plan.spec, window), await load(plan.spec, plan.layout.test)];
      if (!test.history) throw badInput(FailureType.EmptyDataWindow, `the test window [${plan.layout.test.start}, ${plan.layout.test.end}) has no rows any more`);
      heartbeat({ ageDays: window.ageDays, step: 'train', rows: train.rows });
      return evaluateFreshnessPoint(train.history, test.history, plan.spec, window, plan.metric);
    },

    async recordFreshnessExperiment(request: { plan: FreshnessPlan; points: FreshnessPoint[] }): Promise<FreshnessOutcome> {
      const { plan } = request;
      const points = [...request.points].sort((a, b) => a.ageDays - b.ageDays);
      const recommendation = recommendInterval(points, plan.metric, plan.tolerance);
      const prefix = artifactPrefix(plan.experimentId);
      const curve = {
        format: 'flywheel-freshness/1',
        experimentId: plan.experimentId,
        modelName: plan.modelName,
        referenceTime: plan.referenceTime,
        metric: plan.metric,
        direction: METRIC_DIRECTIONS[plan.metric],
        trainWindowDays: plan.trainWindowDays,
        test: { ...plan.layout.test, rows: plan.testRows },
        points,
        recommendation,
      };
      // Deterministic contents, so a retried write puts the same bytes at the same key.
      const artifactUri = await store.put(`${prefix}/freshness.json`, JSON.stringify(curve, null, 2), { contentType: 'application/json' });
      const reportUri = await store.put(
        `${prefix}/freshness.html`,
        freshnessReportHtml({ experimentId: plan.experimentId, modelName: plan.modelName, test: plan.layout.test, trainWindowDays: plan.trainWindowDays, points, recommendation }),
        { contentType: 'text/html; charset=utf-8' },
      );
      const row = {
        model_name: plan.modelName,
        reference_time: plan.referenceTime,
        metric: plan.metric,
        tolerance: plan.tolerance,
        train_window_days: plan.trainWindowDays,
        test_days: plan.testDays,
        curve: JSON.stringify(points.map((p) => ({ ageDays: p.ageDays, start: p.start, end: p.end, value: p.value, rows: p.rows, samplesSeen: p.samplesSeen, ...(p.error ? { error: p.error } : {}) }))),
        max_staleness_days: recommendation.maxStalenessDays,
        recommended_interval_days: recommendation.recommendedIntervalDays,
        recommendation: recommendation.reason,
        artifact_uri: artifactUri,
        report_uri: reportUri,
      };
      await db
        .insertInto('freshness_experiments')
        .values({ id: plan.experimentId, ...row })
        .onConflict((oc) => oc.column('id').doUpdateSet(row))
        .execute();
      return {
        experimentId: plan.experimentId,
        modelName: plan.modelName,
        referenceTime: plan.referenceTime,
        metric: plan.metric,
        test: { ...plan.layout.test, rows: plan.testRows },
        points,
        recommendation,
        artifactUri,
        reportUri,
      };
    },
  };
}
