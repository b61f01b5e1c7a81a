// `flywheel drift <reference> <current> [--json] [--features a,b] [--policy policy.json]`: the
// monitoring drift statistics on two CSV / Parquet / Arrow files, printed as the drift table (or
// JSON). Exits 0 with the report whether or not drift was found; a file or column problem is one
// line on stderr and exit 1. Also `flywheel monitor <model> [--window] [--policy policy.json]`: one
// monitoring window computed now against the lineage database and artifact store (the
// computeMonitoring activity, in process); window and policy default to the spec's monitoring section.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DEFAULT_MONITORING_WINDOW, monitoringActivities, type MonitoringSummary } from '../../activities/monitoring';
import { readTableFile } from '../../datasets/table-files';
import { loadConfig } from '../../infra/config';
import { openLineageDb } from '../../lineage/db';
import { openArtifactStore } from '../../storage/artifact-store';
import { renderDriftTable } from '../../monitoring/drift-report';
import { fileDriftReport } from '../../monitoring/file-drift';
import { driftPolicySchema, type DriftPolicy } from '../../monitoring/thresholds';

/** Reads and validates a policy file; every problem on one line, with its path in the policy. */
function readPolicy(file: string): DriftPolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the policy ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`the policy ${file} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = driftPolicySchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`invalid drift policy in ${file}: ${parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

function parseFeatures(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const names = value.split(',').map((n) => n.trim()).filter(Boolean);
  if (!names.length) throw new Error('--features needs column names, e.g. --features age,country');
  return names;
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error(`--projections must be a whole number from 1 to 1000, got ${value}`);
  return n;
}

function parseReferenceWindow(value: string | undefined): { start: string; end: string } | undefined {
  if (value === undefined) return undefined;
  const [start, end, extra] = value.split('/');
  if (!start || !end || extra !== undefined) throw new Error(`--reference-window ${value}: give <start>/<end> in ISO 8601, e.g. 2026-03-01T00:00:00Z/2026-03-08T00:00:00Z`);
  return { start, end };
}

const POLICY_SOURCE: Record<MonitoringSummary['policySource'], string> = { request: 'the --policy file', spec: "the spec's monitoring.drift", default: 'the defaults' };

function describeSummary(s: MonitoringSummary): string {
  const lines = [
    `${s.modelName}: window ${s.window.start} → ${s.window.end} (${s.window.rows} rows, ${s.window.labelledRows} labelled) vs ${s.reference.description}`,
    ...s.triggerSignals.map((t) => `  ${t.kind.padEnd(12)} ${t.fired ? 'FIRED' : 'quiet'}  ${t.detail}`),
    s.fired.length ? `  fired: ${s.fired.join('; ')}` : '  nothing fired',
    ...s.notes.map((n) => `  note: ${n}`),
    ...(s.policySource === 'default' ? [] : [`  drift policy: ${POLICY_SOURCE[s.policySource]}`]),
    `  ${s.signalsStored} signals stored in series ${s.series}${s.reportUri ? `; report ${s.reportUri}` : ''}`,
  ];
  return lines.join('\n');
}

export function registerDriftCommands(program: Command): void {
  program
    .command('monitor <model>')
    .description('compute one monitoring window now: drift of features, predictions and labels, performance on labelled rows, per slice; stored as a time series with an HTML report')
    .option('--window <window>', `the latest N served rows ("2000") or a duration ("1d", "6h"); default: the spec's monitoring.window, else ${DEFAULT_MONITORING_WINDOW}`)
    .option('--at <iso>', 'end of the window (default: now)')
    .option('--reference-window <start/end>', "compare with this healthy window of the log instead of the champion's training snapshot")
    .option('--policy <file>', "drift policy JSON (methods and thresholds per feature; see monitoring/thresholds.ts) instead of the spec's monitoring.drift")
    .option('--no-report', 'do not refresh reports/<model>/monitoring.html')
    .option('--json', 'print the summary as JSON')
    .action(async (model: string, o: { window?: string; at?: string; referenceWindow?: string; policy?: string; report: boolean; json?: boolean }) => {
      const referenceWindow = parseReferenceWindow(o.referenceWindow);
      const policy = o.policy ? readPolicy(o.policy) : undefined;
      const lineage = await openLineageDb();
      try {
        const monitoring = monitoringActivities({ db: lineage.db, store: openArtifactStore(loadConfig().artifactRoot) });
        const summary = await monitoring.computeMonitoring({
          modelName: model,
          nowIso: o.at ?? new Date().toISOString(),
          window: o.window,
          referenceKind: referenceWindow ? 'window' : 'training',
          referenceWindow,
          policy,
          report: o.report,
        });
        console.log(o.json ? JSON.stringify(summary) : describeSummary(summary));
      } finally {
        await lineage.close();
      }
    });

  program
    .command('drift <reference> <current>')
    .description('drift of <current> against <reference> (CSV, Parquet or Arrow files): per-column statistics, decisions and the share of drifted columns')
    .option('--features <names>', 'comma-separated columns to compare (default: every column both files have, except timestamp and entity columns)')
    .option('--policy <file>', 'drift policy JSON (methods and thresholds; see monitoring/thresholds.ts)')
    .option('--projections <n>', 'also test n random projections of the numeric columns', parseCount)
    .option('--json', 'print the report as JSON')
    .action(async (referenceFile: string, currentFile: string, o: { features?: string; policy?: string; projections?: number; json?: boolean }) => {
      const features = parseFeatures(o.features);
      const policy = o.policy ? readPolicy(o.policy) : undefined;
      const [reference, current] = await Promise.all([readTableFile(referenceFile), readTableFile(currentFile)]);
      const result = fileDriftReport(reference, current, { features, policy, projections: o.projections });
      if (o.json) {
        const { report } = result;
        console.log(
          JSON.stringify({
            reference: result.reference,
            current: result.current,
            fired: report.fired,
            shareDrifted: report.shareDrifted,
            projectionShareDrifted: report.projectionShareDrifted,
            firedFeatures: report.firedFeatures,
            summary: report.summary,
            signals: report.signals,
          }),
        );
        return;
      }
      console.log(`reference ${result.reference.file} (${result.reference.rows} rows) vs current ${result.current.file} (${result.current.rows} rows)\n`);
      console.log(renderDriftTable(result.report));
    });
}
