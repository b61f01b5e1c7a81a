// Online metrics for rollout decisions, read from the production log: natural labels are outcome
// events joined to logged predictions by request id within a label window (a positive when the
// event arrived in the window, a negative once the window closed without one; predictions whose
// window is still open are not labelled yet). Aggregation happens in SQL: only sums come back.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { LOG_LOSS_EPSILON, type OnlineMetric } from '../experiments/online-metrics';
import { summaryFromSums, type SampleSummary } from '../experiments/two-sample';
import type { Database } from '../lineage/schema';

export interface LabelRule {
  /** outcome_events.event_type that makes the label 1. */
  eventType: string;
  /** The label window after each prediction, in ms. */
  windowMs: number;
}

/** The per-request metric value (experiments/online-metrics.ts metricValue) as SQL over p (score) and y (label). */
function metricSql(metric: OnlineMetric, p: RawBuilder<unknown>, y: RawBuilder<unknown>): RawBuilder<number> {
  const eps = sql.lit(LOG_LOSS_EPSILON);
  switch (metric) {
    case 'log_loss': {
      const q = sql`greatest(least(${p}, 1 - ${eps}), ${eps})`;
      return sql<number>`-(${y} * ln(${q}) + (1 - ${y}) * ln(1 - ${q}))`;
    }
    case 'brier':
      return sql<number>`(${p} - ${y}) ^ 2`;
    case 'accuracy':
      return sql<number>`case when (${p} >= 0.5) = (${y} = 1) then 1 else 0 end`;
    case 'outcome_rate':
      return sql<number>`${y}::float8`;
  }
}

function windowInterval(label: LabelRule): RawBuilder<unknown> {
  return sql`(${label.windowMs} * interval '1 millisecond')`;
}

/** 1 when the label event for this (served) request arrived inside the window after `at`. */
function positive(requestId: RawBuilder<unknown>, at: RawBuilder<unknown>, label: LabelRule): RawBuilder<number> {
  return sql<number>`(case when exists (
      select 1 from outcome_events o
      where o.request_id = ${requestId} and o.event_type = ${label.eventType}
        and o.occurred_at >= ${at} and o.occurred_at < ${at} + ${windowInterval(label)}
    ) then 1 else 0 end)`;
}

export interface ArmQuery {
  model: string;
  versionId: string;
  /** served rows or shadow rows. */
  mode: 'served' | 'shadow';
  /** Only rows routed this way (prediction_detail.routing.mode), e.g. canary or ab; omit for any. */
  routingMode?: string;
  since: Date;
  until?: Date;
  label: LabelRule;
  metric: OnlineMetric;
  /** The label cut-off: windows that close after it are not labelled yet. */
  asOf: Date;
  /** How many recent predictions to return for distribution checks; default 2,000. */
  sampleSize?: number;
  /** Only the latest this many predictions (baselines read "the champion's recent traffic", not all of it). */
  limit?: number;
}

export interface ArmMetrics {
  versionId: string;
  requests: number;
  errors: number;
  /** Labelled predictions and their metric values. */
  metric: SampleSummary;
  positives: number;
  latencyP99Ms: number | null;
  predictions: number[];
}

/** Requests, errors, latency p99, the labelled metric summary and a prediction sample for one version. */
export async function readArmMetrics(db: Kysely<Database>, q: ArmQuery): Promise<ArmMetrics> {
  const routingFilter = q.routingMode ? sql`and p.prediction_detail->'routing'->>'mode' = ${q.routingMode}` : sql``;
  const untilFilter = q.until ? sql`and p.predicted_at < ${q.until}` : sql``;
  // Shadow rows are labelled by the outcomes of the request that was served.
  const servedId = sql`coalesce(p.prediction_detail->>'servedRequestId', p.request_id)`;
  const rows = sql`
    select p.request_id, p.prediction, p.predicted_at, (p.prediction_detail->>'latencyMs')::float8 as latency_ms,
           (p.prediction is null) as failed, ${positive(servedId, sql`p.predicted_at`, q.label)} as y
    from prediction_log p
    where p.model_name = ${q.model} and p.version_id = ${q.versionId} and p.mode = ${q.mode}
      and p.predicted_at >= ${q.since} ${untilFilter} ${routingFilter}
      and p.prediction_detail->'rank' is null
    ${q.limit ? sql`order by p.predicted_at desc limit ${q.limit}` : sql``}`;
  const value = metricSql(q.metric, sql`r.prediction`, sql`r.y`);
  // Labelled once the window has closed, clicked or not. Counting a click as soon as it arrives
  // would label the open window's positives but not its negatives: the newest rows would read as
  // more positive than they are, and a canary step (all recent rows) would be judged against a
  // champion baseline (mostly closed rows) on a different footing.
  const labelled = sql`(not r.failed and r.predicted_at + ${windowInterval(q.label)} <= ${q.asOf})`;
  const result = await sql<{ requests: number; errors: number; n: number; s: number | null; ss: number | null; positives: number | null; p99: number | null }>`
    with r as (${rows})
    select count(*)::int as requests,
           count(*) filter (where r.failed)::int as errors,
           count(*) filter (where ${labelled})::int as n,
           sum(${value}) filter (where ${labelled}) as s,
           sum((${value}) ^ 2) filter (where ${labelled}) as ss,
           sum(r.y) filter (where ${labelled})::int as positives,
           percentile_cont(0.99) within group (order by r.latency_ms) filter (where not r.failed) as p99
    from r`.execute(db);
  const agg = result.rows[0];
  const sample = await db
    .selectFrom('prediction_log as p')
    .select('p.prediction')
    .where('p.model_name', '=', q.model)
    .where('p.version_id', '=', q.versionId)
    .where('p.mode', '=', q.mode)
    .where('p.predicted_at', '>=', q.since)
    .where('p.prediction', 'is not', null)
    .where(sql`p.prediction_detail->'rank'`, 'is', null)
    .$if(q.routingMode !== undefined, (b) => b.where(sql`p.prediction_detail->'routing'->>'mode'`, '=', q.routingMode!))
    .$if(q.until !== undefined, (b) => b.where('p.predicted_at', '<', q.until!))
    .orderBy('p.predicted_at', 'desc')
    .limit(q.sampleSize ?? 2_000)
    .execute();
  return {
    versionId: q.versionId,
    requests: Number(agg.requests),
    errors: Number(agg.errors),
    metric: summaryFromSums(Number(agg.n), Number(agg.s ?? 0), Number(agg.ss ?? 0)),
    positives: Number(agg.positives ?? 0),
    latencyP99Ms: agg.p99 === null || Number(agg.requests) < 1 ? null : Number(agg.p99),
    predictions: sample.map((r) => Number(r.prediction)),
  };
}

export interface PairedQuery {
  model: string;
  /** The shadow version. */
  candidate: string;
  /** The version that served the same requests. */
  champion: string;
  since: Date;
  label: LabelRule;
  metric: OnlineMetric;
  asOf: Date;
}

export interface PairedMetrics {
  /** Shadow rows logged, and those that failed. */
  shadowRequests: number;
  shadowErrors: number;
  /** Labelled requests both versions scored. */
  pairs: number;
  candidate: SampleSummary;
  champion: SampleSummary;
  /** candidate − champion per request. */
  difference: SampleSummary;
  candidatePredictions: number[];
  championPredictions: number[];
}

/** Shadow vs champion on the same requests: per-request metric values and their paired differences. */
export async function readPairedMetrics(db: Kysely<Database>, q: PairedQuery): Promise<PairedMetrics> {
  const pairs = sql`
    select s.prediction as ps, c.prediction as pc, s.predicted_at, ${positive(sql`c.request_id`, sql`c.predicted_at`, q.label)} as y, c.predicted_at as served_at
    from prediction_log s
    join prediction_log c on c.request_id = s.prediction_detail->>'servedRequestId'
    where s.model_name = ${q.model} and s.version_id = ${q.candidate} and s.mode = 'shadow' and s.predicted_at >= ${q.since}
      and c.version_id = ${q.champion} and s.prediction is not null and c.prediction is not null`;
  const vs = metricSql(q.metric, sql`r.ps`, sql`r.y`);
  const vc = metricSql(q.metric, sql`r.pc`, sql`r.y`);
  const labelled = sql`(r.served_at + ${windowInterval(q.label)} <= ${q.asOf})`; // closed windows only, as readArmMetrics
  const agg = (
    await sql<{ n: number; s_s: number | null; s_ss: number | null; c_s: number | null; c_ss: number | null; d_s: number | null; d_ss: number | null }>`
      with r as (${pairs})
      select count(*) filter (where ${labelled})::int as n,
             sum(${vs}) filter (where ${labelled}) as s_s, sum((${vs}) ^ 2) filter (where ${labelled}) as s_ss,
             sum(${vc}) filter (where ${labelled}) as c_s, sum((${vc}) ^ 2) filter (where ${labelled}) as c_ss,
             sum((${vs}) - (${vc})) filter (where ${labelled}) as d_s, sum(((${vs}) - (${vc})) ^ 2) filter (where ${labelled}) as d_ss
      from r`.execute(db)
  ).rows[0];
  const counts = (
    await sql<{ requests: number; errors: number }>`
      select count(*)::int as requests, count(*) filter (where prediction is null)::int as errors
      from prediction_log where model_name = ${q.model} and version_id = ${q.candidate} and mode = 'shadow' and predicted_at >= ${q.since}`.execute(db)
  ).rows[0];
  const sample = (
    await sql<{ ps: number; pc: number }>`select r.ps, r.pc from (${pairs}) r order by r.predicted_at desc limit 2000`.execute(db)
  ).rows;
  const n = Number(agg.n);
  return {
    shadowRequests: Number(counts.requests),
    shadowErrors: Number(counts.errors),
    pairs: n,
    candidate: summaryFromSums(n, Number(agg.s_s ?? 0), Number(agg.s_ss ?? 0)),
    champion: summaryFromSums(n, Number(agg.c_s ?? 0), Number(agg.c_ss ?? 0)),
    difference: summaryFromSums(n, Number(agg.d_s ?? 0), Number(agg.d_ss ?? 0)),
    candidatePredictions: sample.map((r) => Number(r.ps)),
    championPredictions: sample.map((r) => Number(r.pc)),
  };
}

export interface InterleavingQuery {
  model: string;
  /** Versions of arms A (champion) and B (candidate). */
  a: string;
  b: string;
  since: Date;
  label: LabelRule;
  asOf: Date;
}

export interface InterleavingCounts {
  /** Impressions judged: with a click, or whose label window has closed. */
  impressions: number;
  withClicks: number;
  winsA: number;
  winsB: number;
  ties: number;
}

/** Per interleaved impression, clicks credited to the team that placed each item, then wins/ties. */
export async function readInterleavingCounts(db: Kysely<Database>, q: InterleavingQuery): Promise<InterleavingCounts> {
  const r = (
    await sql<{ impressions: number; with_clicks: number; wins_a: number; wins_b: number; ties: number }>`
      with items as (
        select p.prediction_detail->'rank'->>'requestId' as rank_id, p.prediction_detail->'rank'->>'team' as team, p.predicted_at,
               ${positive(sql`p.request_id`, sql`p.predicted_at`, q.label)} as clicked
        from prediction_log p
        where p.model_name = ${q.model} and p.mode = 'served' and p.predicted_at >= ${q.since}
          and p.version_id in (${q.a}, ${q.b}) and p.prediction_detail->'routing'->>'mode' = 'interleaving'
      ), impressions as (
        select rank_id, sum(clicked) filter (where team = 'A') as a, sum(clicked) filter (where team = 'B') as b, max(predicted_at) as at
        from items group by rank_id
      ), judged as (
        select coalesce(a, 0) as a, coalesce(b, 0) as b from impressions
        where coalesce(a, 0) + coalesce(b, 0) > 0 or at + ${windowInterval(q.label)} <= ${q.asOf}
      )
      select count(*)::int as impressions, count(*) filter (where a + b > 0)::int as with_clicks,
             count(*) filter (where a > b)::int as wins_a, count(*) filter (where b > a)::int as wins_b, count(*) filter (where a = b)::int as ties
      from judged`.execute(db)
  ).rows[0];
  return { impressions: Number(r.impressions), withClicks: Number(r.with_clicks), winsA: Number(r.wins_a), winsB: Number(r.wins_b), ties: Number(r.ties) };
}
