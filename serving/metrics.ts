// The prediction server's Prometheus metrics, on a registry of its own (several servers can run
// in one process, as tests do): request counts and latency by model/version/mode/status, the
// prediction-log queue, shadow scoring, DB health and each model's routing revision.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServingMetrics {
  registry: Registry;
  requests: Counter<'route' | 'model' | 'version' | 'mode' | 'status'>;
  latency: Histogram<'route' | 'model' | 'version' | 'mode'>;
  rejected: Counter<'route' | 'reason'>;
  shadow: Counter<'model' | 'version' | 'status'>;
  logQueueDepth: Gauge<'log'>;
  logRowsWritten: Counter<'log'>;
  logFlushFailures: Counter<'log'>;
  logRowsPoisoned: Counter<'log'>;
  routingRevision: Gauge<'model'>;
  routingReloads: Counter<'trigger' | 'result'>;
  modelLoadFailures: Counter<'model'>;
  dbUp: Gauge;
  listenerUp: Gauge;
}

export function createServingMetrics(options: { defaultMetrics?: boolean } = {}): ServingMetrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'flywheel_serving_' });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({ name: 'flywheel_requests_total', help: 'Requests by route, model, served version, routing mode and HTTP status', labelNames: ['route', 'model', 'version', 'mode', 'status'], registers }),
    latency: new Histogram({
      name: 'flywheel_request_duration_seconds',
      help: 'Time from request parsed to response sent, by route, model, version and mode',
      labelNames: ['route', 'model', 'version', 'mode'],
      // Sub-millisecond buckets: CPU inference of a tabular model is well under a millisecond.
      buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    rejected: new Counter({ name: 'flywheel_requests_rejected_total', help: 'Requests refused before scoring, by reason (validation, unknown_model, log_full, ...)', labelNames: ['route', 'reason'], registers }),
    shadow: new Counter({ name: 'flywheel_shadow_predictions_total', help: 'Shadow scorings by model, version and outcome (ok, error, dropped)', labelNames: ['model', 'version', 'status'], registers }),
    logQueueDepth: new Gauge({ name: 'flywheel_log_queue_depth', help: 'Rows waiting to be written, per log (predictions, outcomes)', labelNames: ['log'], registers }),
    logRowsWritten: new Counter({ name: 'flywheel_log_rows_written_total', help: 'Rows written to Postgres, per log', labelNames: ['log'], registers }),
    logFlushFailures: new Counter({ name: 'flywheel_log_flush_failures_total', help: 'Failed batch writes (the batch is kept and retried), per log', labelNames: ['log'], registers }),
    logRowsPoisoned: new Counter({ name: 'flywheel_log_rows_poisoned_total', help: 'Rows the database rejected as invalid and that were dropped, per log', labelNames: ['log'], registers }),
    routingRevision: new Gauge({ name: 'flywheel_routing_revision', help: 'Routing revision each model is served at', labelNames: ['model'], registers }),
    routingReloads: new Counter({ name: 'flywheel_routing_reloads_total', help: 'Routing table re-reads by trigger (notify, periodic, listener, start) and result', labelNames: ['trigger', 'result'], registers }),
    modelLoadFailures: new Counter({ name: 'flywheel_model_load_failures_total', help: 'Versions that could not be loaded (the previous table keeps serving)', labelNames: ['model'], registers }),
    dbUp: new Gauge({ name: 'flywheel_db_up', help: '1 when the last database health probe succeeded', registers }),
    listenerUp: new Gauge({ name: 'flywheel_routing_listener_up', help: '1 while the LISTEN connection for routing changes is open', registers }),
  };
}
