// Shadow scoring off the request path: after the served response has gone out, the request is
// queued for each shadow version and scored in small batches (one ONNX run per batch), then logged
// as mode "shadow". The queue is bounded and shadow work is the first thing dropped under load, so
// a shadow can never slow down or fail a user's request; drops are counted.
import type { PredictionRecord } from '../lineage/production-log';
import type { BatchWriter } from './batch-writer';
import { predictionRow, shadowRequestId, type RoutingNote } from './log-records';
import type { ServingMetrics } from './metrics';
import type { FeatureRow, ServingModel } from './serving-model';

interface ShadowJob {
  model: string;
  version: ServingModel;
  servedRequestId: string;
  unitId: string | null;
  features: FeatureRow;
  at: Date;
  routing: RoutingNote;
}

export interface ShadowRunnerOptions {
  log: BatchWriter<PredictionRecord>;
  metrics: ServingMetrics;
  /** Jobs waiting across all versions before new ones are dropped; default 5,000. */
  maxPending?: number;
  /** Rows per ONNX run; default 64. */
  batchSize?: number;
}

export class ShadowRunner {
  private readonly queues = new Map<string, ShadowJob[]>();
  private readonly busy = new Set<string>();
  private pending = 0;
  private scheduled = false;
  private readonly maxPending: number;
  private readonly batchSize: number;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: ShadowRunnerOptions) {
    this.maxPending = options.maxPending ?? 5_000;
    this.batchSize = options.batchSize ?? 64;
  }

  /** Queues one request for a shadow version; `version` must be acquired by the caller (released here). */
  submit(job: ShadowJob): void {
    const versionId = job.version.versionId;
    if (this.pending >= this.maxPending) {
      job.version.release();
      this.options.metrics.shadow.inc({ model: job.model, version: versionId, status: 'dropped' });
      return;
    }
    const queue = this.queues.get(versionId) ?? [];
    queue.push(job);
    this.queues.set(versionId, queue);
    this.pending++;
    this.schedule();
  }

  get depth(): number {
    return this.pending;
  }

  /** Resolves once every queued shadow job has been scored (tests and shutdown). */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate: run after pending I/O callbacks, i.e. after the served responses are written.
    setImmediate(() => {
      this.scheduled = false;
      for (const versionId of this.queues.keys()) if (!this.busy.has(versionId)) void this.runBatch(versionId);
    });
  }

  private async runBatch(versionId: string): Promise<void> {
    const queue = this.queues.get(versionId);
    if (!queue || queue.length === 0) {
      this.queues.delete(versionId);
      return;
    }
    const jobs = queue.splice(0, this.batchSize);
    this.busy.add(versionId);
    const started = performance.now();
    let scores: number[][] | null = null;
    let failure: string | undefined;
    try {
      scores = (await jobs[0].version.score(jobs.map((j) => j.features))).rows;
    } catch (error) {
      failure = (error as Error).message;
    }
    try {
      const latencyMs = performance.now() - started;
      // Shadow rows yield to served rows: they are skipped when the log queue is nearly full.
      const room = this.options.log.depth < this.options.log.maxQueued * 0.9;
      jobs.forEach((job, i) => {
        const row = predictionRow({
          requestId: shadowRequestId(job.servedRequestId, versionId),
          model: job.model,
          versionId,
          mode: 'shadow',
          unitId: job.unitId,
          features: job.features,
          scores: scores ? scores[i] : null,
          at: job.at,
          // A failed shadow is logged too (prediction null), so its error rate is measurable.
          detail: { routing: job.routing, latencyMs, servedRequestId: job.servedRequestId, ...(failure ? { error: failure } : {}) },
        });
        const logged = room && this.options.log.offer(row);
        this.options.metrics.shadow.inc({ model: job.model, version: versionId, status: failure ? 'error' : logged ? 'ok' : 'dropped' });
      });
    } finally {
      for (const job of jobs) job.version.release();
      this.pending -= jobs.length;
      this.busy.delete(versionId);
      if (queue.length === 0) this.queues.delete(versionId);
      if (this.pending === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      } else this.schedule();
    }
  }
}
