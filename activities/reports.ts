// Last DAG step "report": writes the run's HTML page and refreshes the model's page in the artifact
// store, so a person can read what happened without Temporal or SQL. Everything on the pages comes
// from what earlier steps stored: lineage rows, the report card JSON, the data validation report
// (its two feature profiles give the drift section) and the monitoring signals of the model.
import { temporalUiRunUrl } from '../client/ui-links';
import type { DataProfile } from '../datasets/profile';
import { ancestry, modelHistory } from '../lineage/ancestry';
import { seriesRowOf } from '../lineage/monitoring';
import { compareProfiles, type MonitoringWindow, type RunDrift } from '../reports/drift';
import { renderModelPage, renderRunReport, type MetricComparison } from '../reports/pages';
import { runKey, type ActivityDeps } from './deps';

export interface ReportRequest {
  pipelineRunId: string;
  modelName: string;
  versionId: string | null;
  reportCardUri: string | null;
}

export interface RunReports {
  runReportUri: string;
  modelPageUri: string;
}

/** The slice of a stored report card JSON (activities/evaluate.ts) the run page charts. */
interface StoredCards {
  cards?: Array<{
    evaluationSet?: { name: string; kind: string; rows: number };
    metrics?: Array<{ name: string; candidate: IntervalJson | null; champion: IntervalJson | null }>;
  }>;
}
type IntervalJson = { estimate: number | null; lower: number | null; upper: number | null };

/** The slice of the data validation report (activities/validate.ts) the drift section reads. */
interface StoredValidation {
  referenceUri?: string | null;
  referenceNote?: string | null;
  skipped?: string;
  current?: DataProfile;
  reference?: DataProfile | null;
}

const DRIFT_KINDS = ['feature_drift', 'drift_share', 'prediction_drift', 'label_drift'] as const;

export function reportActivities({ db, store, temporalUi }: ActivityDeps) {
  async function readJson<T>(uri: string): Promise<T | null> {
    // A missing or unreadable side artifact leaves its section out; it must not fail the run's last step.
    try {
      if (!(await store.exists(uri))) return null;
      return JSON.parse((await store.get(uri)).toString('utf8')) as T;
    } catch {
      return null;
    }
  }

  async function comparisonsOf(reportJsonUri: string | null | undefined): Promise<MetricComparison[] | undefined> {
    if (!reportJsonUri) return undefined;
    const stored = await readJson<StoredCards>(reportJsonUri);
    return stored?.cards?.map((card) => ({
      set: card.evaluationSet ? `${card.evaluationSet.kind === 'static' ? `static test set ${card.evaluationSet.name}` : 'the backtest window'} (${card.evaluationSet.rows} rows)` : 'evaluation set',
      rows: (card.metrics ?? []).map((m) => ({ label: m.name, candidate: m.candidate, champion: m.champion })),
    }));
  }

  async function driftOf(pipelineRunId: string, modelName: string, before: Date): Promise<RunDrift> {
    // The validation step writes its report under this key (activities/validate.ts).
    const validationReportUri = store.uriFor(`validation/${modelName}/${runKey(pipelineRunId)}/report.json`);
    const validation = await readJson<StoredValidation>(validationReportUri);
    const note = !validation
      ? 'this run stored no data validation report'
      : validation.skipped
        ? `data validation was skipped (${validation.skipped}), so no profiles were stored`
        : !validation.reference
          ? (validation.referenceNote ?? 'no reference snapshot yet (no champion): this is the model\'s first training window')
          : null;
    const profiles = validation?.current && validation.reference ? compareProfiles(validation.reference, validation.current) : null;
    return { validationReportUri: validation ? validationReportUri : null, referenceUri: validation?.referenceUri ?? null, note, profiles, monitoring: await latestMonitoringWindow(modelName, before) };
  }

  /** The newest production window that ended before the run started: what the model saw when it was retrained. */
  async function latestMonitoringWindow(modelName: string, before: Date): Promise<MonitoringWindow | null> {
    const latest = await db
      .selectFrom('monitoring_signals')
      .select(['series', 'window_end'])
      .where('model_name', '=', modelName)
      .where('window_end', '<=', before)
      .where('kind', 'in', DRIFT_KINDS)
      .orderBy('window_end', 'desc')
      .orderBy('computed_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!latest) return null;
    const rows = await db
      .selectFrom('monitoring_signals')
      .selectAll()
      .where('model_name', '=', modelName)
      .where('series', '=', latest.series)
      .where('window_end', '=', latest.window_end)
      // The whole window only: per-slice rows belong in the monitoring report.
      .where('slice', '=', '')
      .where('kind', 'in', DRIFT_KINDS)
      .orderBy('kind')
      .orderBy('feature')
      .orderBy('statistic')
      .execute();
    if (!rows.length) return null;
    return {
      series: latest.series,
      windowStart: new Date(rows[0].window_start).toISOString(),
      windowEnd: new Date(rows[0].window_end).toISOString(),
      signals: rows.map(seriesRowOf),
    };
  }

  return {
    async writeRunReports(request: ReportRequest): Promise<RunReports> {
      const run = await db.selectFrom('pipeline_runs').selectAll().where('id', '=', request.pipelineRunId).executeTakeFirstOrThrow();
      const chain = request.versionId ? await ancestry(db, request.versionId, 20) : [];
      const modelPageUri = store.uriFor(`reports/${request.modelName}/index.html`);
      // The pipeline run's id is the retrain's workflow id, and its row records the run id.
      const temporalUiUrl = temporalUi ? temporalUiRunUrl(temporalUi.baseUrl, temporalUi.namespace, run.id, run.run_id) : null;
      const html = renderRunReport({
        run,
        chain,
        reportCardUri: request.reportCardUri,
        modelPageUri,
        temporalUiUrl,
        comparisons: await comparisonsOf(chain[0]?.evaluation?.report_json_uri),
        drift: await driftOf(request.pipelineRunId, request.modelName, new Date(run.started_at)),
      });
      const runReportUri = await store.put(`reports/${request.modelName}/${runKey(request.pipelineRunId)}/run.html`, html, { contentType: 'text/html' });
      const history = await modelHistory(db, request.modelName);
      const newest = history.at(-1);
      await store.put(`reports/${request.modelName}/index.html`, renderModelPage(request.modelName, history, newest ? await ancestry(db, newest.version.id, 20) : []), { contentType: 'text/html' });
      return { runReportUri, modelPageUri };
    },
  };
}
