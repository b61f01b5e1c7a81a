// The rows the server writes to prediction_log, and the shape of their prediction_detail, in one
// place: online-metric queries (serving/online-metrics.ts) read exactly these keys.
import type { PredictionRecord } from '../lineage/production-log';
import type { ServedMode } from './routing-table';
import type { FeatureRow } from './serving-model';

/** How a request was routed; stored as prediction_detail.routing. */
export interface RoutingNote {
  mode: ServedMode;
  arm: string | null;
  revision: number;
}

/** prediction_detail of every row the server logs. */
export interface PredictionDetail {
  routing: RoutingNote;
  /** Served rows: request handling time up to the response; shadow rows: the batch's scoring time. */
  latencyMs: number;
  /** Multiclass scores (prediction is then the top class's probability). */
  scores?: number[];
  /** The model failed on this request; prediction is null. */
  error?: string;
  /** Shadow rows: the request that was served (outcomes name that id). */
  servedRequestId?: string;
  /** Ranking rows (one per shown item). */
  rank?: { requestId: string; itemId: string; position: number; team: 'A' | 'B' | null };
}

/** A shadow row's own id: the served request id plus the version (prediction_log.request_id is unique). */
export function shadowRequestId(servedRequestId: string, versionId: string): string {
  return `${servedRequestId}~shadow~${versionId}`;
}

/** A ranking impression row's id: one per shown position, which clicks on that item are joined to. */
export function rankItemRequestId(rankRequestId: string, position: number): string {
  return `${rankRequestId}/${position}`;
}

export interface RowInput {
  requestId: string;
  model: string;
  versionId: string;
  mode: 'served' | 'shadow';
  unitId: string | null;
  features: FeatureRow;
  scores: number[] | null;
  at: Date;
  detail: PredictionDetail;
}

/** A prediction_log row; a single score is the prediction, several are kept in the detail. */
export function predictionRow(input: RowInput): PredictionRecord {
  const scores = input.scores;
  const prediction = scores === null ? null : scores.length === 1 ? scores[0] : Math.max(...scores);
  const detail: PredictionDetail = scores && scores.length > 1 ? { ...input.detail, scores } : input.detail;
  return {
    requestId: input.requestId,
    modelName: input.model,
    versionId: input.versionId,
    mode: input.mode,
    unitId: input.unitId,
    features: input.features,
    prediction,
    predictionDetail: detail,
    predictedAt: input.at,
  };
}
