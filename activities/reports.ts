// Last DAG step "report": writes the run's HTML page and refreshes the model's page in the artifact
// store, so a person can read what happened without Temporal or SQL.
import { ancestry, modelHistory } from '../lineage/ancestry';
import { renderModelPage, renderRunReport } from '../reports/pages';
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

export function reportActivities({ db, store }: ActivityDeps) {
  return {
    async writeRunReports(request: ReportRequest): Promise<RunReports> {
      const run = await db.selectFrom('pipeline_runs').selectAll().where('id', '=', request.pipelineRunId).executeTakeFirstOrThrow();
      const chain = request.versionId ? await ancestry(db, request.versionId, 20) : [];
      const modelPageUri = store.uriFor(`reports/${request.modelName}/index.html`);
      const runReportUri = await store.put(
        `reports/${request.modelName}/${runKey(request.pipelineRunId)}/run.html`,
        renderRunReport({ run, chain, reportCardUri: request.reportCardUri, modelPageUri }),
        { contentType: 'text/html' },
      );
      const history = await modelHistory(db, request.modelName);
      const newest = history.at(-1);
      await store.put(`reports/${request.modelName}/index.html`, renderModelPage(request.modelName, history, newest ? await ancestry(db, newest.version.id, 20) : []), { contentType: 'text/html' });
      return { runReportUri, modelPageUri };
    },
  };
}
