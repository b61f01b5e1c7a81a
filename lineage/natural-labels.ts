// Natural labels in one set-based SQL statement: joins logged predictions to outcome events under a
// label rule, decides each prediction's label (or that it is still pending), and upserts the labelled
// rows into labelled_examples keyed by (model, request_id) so recomputation never duplicates a row.
//
// Semantics (tested on both sides of every edge in test/integration/data-labels.test.ts):
// - The label window of a prediction made at t is [t, t + window): an event at exactly t counts, an
//   event at exactly t + window does not (it is late).
// - The run sees only events with occurred_at < referenceTime, so re-running with the same
//   reference time later gives the same labels even if more events have been logged since.
// - A prediction is PENDING while t + window > referenceTime: its outcome may still come. Pending rows
//   are never written, so they can never become false negatives. Positives are held back too even
//   when their event already arrived: labelling them early would over-represent positives among the
//   newest rows (the delayed-feedback bias).
// - A matching event (of the rule's type, after the prediction, before referenceTime) that falls in
//   no matching prediction's window is LATE: counted, never used for a label.
// - Only 'served' predictions are labelled: a shadow prediction is a second score of the same
//   request, and training on both would count the request twice.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { parseDurationMs, type LabelRule } from '../spec/data-spec';
import type { Database } from './schema';

export interface NaturalLabelRequest {
  modelName: string;
  rule: LabelRule;
  /** Events at or after this instant are invisible to the run; windows closing after it are pending. */
  referenceTime: Date | string;
  /** Predictions made at or after this instant (and before referenceTime) are (re)labelled. */
  from: Date | string;
}

export interface NaturalLabelCounts {
  /** Served predictions in [from, referenceTime). */
  predictions: number;
  /** Predictions the rule cannot join (unit_id join but the prediction has no unit). */
  unjoinable: number;
  /** Windows still open at the reference time: no label yet. */
  pending: number;
  /** Rows with a label (written or already up to date). */
  labelled: number;
  /** event_within: label 1. */
  positives: number;
  /** event_within: label 0 (window closed with no event). */
  negatives: number;
  /** event_value: window closed with no event, so no value and no row. */
  noEvent: number;
  /** Outcome events that arrived after every matching window had closed (ignored for labels). */
  late: number;
  /** Rows newly written / rows whose label changed (e.g. after a rule change). */
  inserted: number;
  updated: number;
}

export class LabelRuleError extends Error {
  override name = 'LabelRuleError';
}

/** The label_source written on each row: changing the rule changes it, which rewrites the rows. */
export function labelSourceOf(rule: LabelRule): string {
  const parts = ['natural', rule.kind, rule.eventType, rule.window, rule.joinOn];
  if (rule.kind === 'event_value') parts.push(rule.valueOf);
  return parts.join(':');
}

function toIso(value: Date | string, field: string): string {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw new LabelRuleError(`${field} ${JSON.stringify(value)} is not a valid time: pass an ISO 8601 timestamp`);
  return date.toISOString();
}

/** The labelling statement (exported so its plan can be inspected with EXPLAIN). */
export function naturalLabelStatement(request: NaturalLabelRequest): RawBuilder<NaturalLabelCounts> {
  const { rule, modelName } = request;
  const windowMs = parseDurationMs(rule.window);
  if (windowMs === null) throw new LabelRuleError(`labels.window ${JSON.stringify(rule.window)} is not a duration: use e.g. "30m", "2h" or "7d"`);
  const ref = toIso(request.referenceTime, 'referenceTime');
  const from = toIso(request.from, 'from');
  if (from > ref) throw new LabelRuleError(`labelling window starts at ${from}, after the reference time ${ref}: lower labels.lookbackDays or fix the reference time`);

  // Only fixed fragments are spliced in raw; every value is a bound parameter.
  const byUnit = rule.joinOn === 'unit_id';
  const joinable = byUnit ? sql.raw('unit_id is not null') : sql.raw('true');

  const joinOn = byUnit ? sql.raw('e.unit_id = p.unit_id') : sql.raw('e.request_id = p.request_id');
  const label =
    rule.kind === 'event_within'
      ? sql.raw('case when coalesce(h.n_in, 0) > 0 then 1.0::float8 else 0.0::float8 end')
      : sql.raw(rule.valueOf === 'first' ? 'h.first_value' : 'h.last_value');
  const binary = rule.kind === 'event_within';

  // The CTEs carry only keys and times; features are fetched from prediction_log once, by primary
  // key, when the labelled rows are written (a million jsonb values through every CTE spill to disk).
  return sql<NaturalLabelCounts>`
    with p as (
      select request_id, unit_id, predicted_at, ${joinable} as joinable,
             predicted_at + make_interval(secs => ${windowMs / 1000}::float8) as closes_at
      from prediction_log
      where model_name = ${modelName} and mode = 'served'
        and predicted_at >= ${from}::timestamptz and predicted_at < ${ref}::timestamptz
    ),
    pairs as (
      select p.request_id, e.id as event_id, e.value, e.occurred_at, e.occurred_at < p.closes_at as in_window
      from p join outcome_events e on ${joinOn}
       and e.model_name = ${modelName} and e.event_type = ${rule.eventType}
       and e.occurred_at >= p.predicted_at and e.occurred_at < ${ref}::timestamptz
      where p.joinable
    ),
    hits as (
      select request_id,
             count(*) filter (where in_window) as n_in,
             (array_agg(value order by occurred_at, event_id) filter (where in_window))[1] as first_value,
             (array_agg(value order by occurred_at desc, event_id desc) filter (where in_window))[1] as last_value
      from pairs group by request_id
    ),
    late as (
      select count(*) as n from (select event_id from pairs group by event_id having not bool_or(in_window)) x
    ),
    judged as (
      select p.request_id, p.unit_id, p.predicted_at, p.closes_at,
             case when p.closes_at > ${ref}::timestamptz then 'pending'
                  when coalesce(h.n_in, 0) > 0 then 'event' else 'no_event' end as status,
             ${label} as label
      from p left join hits h on h.request_id = p.request_id
      where p.joinable
    ),
    written as (
      insert into labelled_examples (model_name, entity_id, event_time, features, label, request_id, label_source, label_available_at)
      select ${modelName}, coalesce(j.unit_id, j.request_id), j.predicted_at, pl.features, j.label, j.request_id, ${labelSourceOf(rule)}, j.closes_at
      from judged j join prediction_log pl on pl.request_id = j.request_id
      where j.status <> 'pending' and j.label is not null
      on conflict (model_name, request_id) where request_id is not null
      do update set label = excluded.label, entity_id = excluded.entity_id, event_time = excluded.event_time, features = excluded.features,
                    label_source = excluded.label_source, label_available_at = excluded.label_available_at
      where labelled_examples.label is distinct from excluded.label
         or labelled_examples.label_source is distinct from excluded.label_source
         or labelled_examples.label_available_at is distinct from excluded.label_available_at
      returning (xmax = 0) as inserted
    )
    select
      (select count(*) from p)::int as predictions,
      (select count(*) from p where not joinable)::int as unjoinable,
      count(*) filter (where status = 'pending')::int as pending,
      count(*) filter (where status <> 'pending' and label is not null)::int as labelled,
      count(*) filter (where ${binary} and status <> 'pending' and label = 1)::int as positives,
      count(*) filter (where ${binary} and status <> 'pending' and label = 0)::int as negatives,
      count(*) filter (where not ${binary} and status = 'no_event')::int as "noEvent",
      (select n from late)::int as late,
      (select count(*) from written where inserted)::int as inserted,
      (select count(*) from written where not inserted)::int as updated
    from judged`;
}

export async function computeNaturalLabels(db: Kysely<Database>, request: NaturalLabelRequest): Promise<NaturalLabelCounts> {
  const statement = naturalLabelStatement(request);
  const result = await db.transaction().execute(async (trx) => {
    // Right after bulk appends the planner has no statistics, estimates one row per CTE and picks
    // nested loops, which turn this batch join quadratic (minutes for 100k predictions). Every join
    // here is an equi-join over a whole batch, where a hash join is always the right plan.
    await sql`set local enable_nestloop = off`.execute(trx);
    // Room for the batch's hash tables in memory; the default 4 MB spills a million-row batch to disk.
    await sql`set local work_mem = '64MB'`.execute(trx);
    return statement.execute(trx);
  });
  const row = result.rows[0];
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)])) as unknown as NaturalLabelCounts;
}
