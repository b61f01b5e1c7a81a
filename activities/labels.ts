// DAG step "labels": turns logged predictions and outcome events into natural labels under the
// spec's label rule, in one set-based SQL statement (lineage/natural-labels.ts), before the pull
// reads labelled_examples. Idempotent: rows are upserted by (model, request_id).
import { Context } from '@temporalio/activity';
import { computeNaturalLabels as labelInSql, LabelRuleError, labelSourceOf } from '../lineage/natural-labels';
import { FailureType } from '../workflows/failure-types';
import type { LabelRequest, LabelSummary } from './data-contracts';
import { elapsedSince, type ActivityDeps } from './deps';
import { badInput } from './failures';
import { markStep } from './pipeline-run';

const DAY_MS = 86_400_000;

/**
 * Heartbeats every 10 s while one long statement runs: the activity is alive even though it has no
 * progress to report until the database answers.
 */
async function withHeartbeat<T>(work: () => Promise<T>): Promise<T> {
  let context: Context | undefined;
  try {
    context = Context.current();
  } catch {
    return work(); // not in an activity (scripts, tests, the bench)
  }
  const timer = setInterval(() => context!.heartbeat({ running: true }), 10_000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

export function labelActivities(deps: ActivityDeps) {
  const { db } = deps;
  return {
    async computeNaturalLabels(request: LabelRequest): Promise<LabelSummary> {
      const started = performance.now();
      await markStep(deps, request.pipelineRunId, 'labels');
      const rule = request.spec.labels;
      const zero = { predictions: 0, unjoinable: 0, labelled: 0, positives: 0, negatives: 0, pending: 0, late: 0, noEvent: 0, inserted: 0, updated: 0 };
      if (!rule) return { skipped: true, rule: null, from: null, referenceTime: request.referenceTime, ...zero, elapsedMs: elapsedSince(started) };
      const lookbackDays = rule.lookbackDays ?? request.spec.data.windowDays;
      const from = new Date(new Date(request.referenceTime).getTime() - lookbackDays * DAY_MS).toISOString();
      try {
        const counts = await withHeartbeat(() => labelInSql(db, { modelName: request.modelName, rule, referenceTime: request.referenceTime, from }));
        return { skipped: false, rule: labelSourceOf(rule), from, referenceTime: request.referenceTime, ...counts, elapsedMs: elapsedSince(started) };
      } catch (error) {
        if (error instanceof LabelRuleError) throw badInput(FailureType.InvalidSpec, `model "${request.modelName}": ${error.message}`);
        throw error;
      }
    },
  };
}
