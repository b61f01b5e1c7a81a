// `npm run demo`: the main job on embedded defaults. Starts the local stack, seeds a deterministic
// labelled history, applies the example spec, runs the retrain DAG and prints a summary with the
// Temporal UI link to the run.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEV_PORT, DEV_UI_PORT, devServerDbFile, startLocalStack, type LocalStackOptions } from '../infra/local-stack';
import { isPortFree } from '../infra/ports';
import { repoRoot } from '../infra/repo-root';
import { deleteLabelledExamples, insertLabelledExamples } from '../lineage/labelled-examples';
import { currentChampion } from '../lineage/models';
import { deleteTestSets } from '../lineage/test-sets';
import { generateCtrHistory } from '../scenarios/ctr-history';
import type { RetrainResult } from '../workflows/types';
import { applyModel } from './apply';
import { startRetrain } from './retrain';
import { followRun } from './progress';
import { temporalUiRunUrl } from './ui-links';

export interface DemoOptions {
  json: boolean;
  /** Keep the dev server and its UI up after the run until Ctrl-C. */
  keep: boolean;
  port?: number;
  uiPort?: number;
  rows: number;
}

export interface DemoSummary extends RetrainResult {
  version: string;
  champion: string | null;
  temporalUi: string | null;
  temporalAddress: string;
  lineageDatabase: string;
  artifactRoot: string;
}

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const say = options.json ? () => {} : (line: string) => console.log(`  ${line}`);
  if (!options.json) console.log('Flywheel demo: one retrain of the "ctr" model on the local stack');
  const stack = await startLocalStack({
    ...(await demoTemporalSettings(options)),
    log: say,
    sdkLogLevel: 'ERROR',
  });
  try {
    const spec = JSON.parse(readFileSync(path.join(repoRoot(), 'examples', 'ctr.model.json'), 'utf8'));
    const applied = await applyModel(stack.client, stack.lineage.db, spec);
    say(`model spec ${applied.model} ${applied.outcome} (hash ${applied.specHash.slice(0, 12)})`);

    // History ending at the current hour, so the 30-day window of a run started now is full.
    const end = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
    const history = generateCtrHistory({ seed: 7, rows: options.rows, end, days: 30 });
    // Reseeding replaces the history wholesale: the frozen test set's row ids go with it.
    await deleteLabelledExamples(stack.lineage.db, applied.model);
    await deleteTestSets(stack.lineage.db, applied.model);
    await insertLabelledExamples(stack.lineage.db, applied.model, history);
    say(`seeded ${history.length} labelled rows (30 days ending ${end.toISOString()})`);

    const handle = await startRetrain(stack.client, { model: applied.model, trigger: 'manual', referenceTime: end.toISOString(), idempotencyKey: `demo-${Date.now()}` });
    const { runId } = await handle.describe();
    const runUrl = stack.uiUrl ? temporalUiRunUrl(stack.uiUrl, stack.namespace, handle.workflowId, runId) : null;
    say(`started ${handle.workflowId}`);
    const result = await followRun(handle, say);
    const champion = await currentChampion(stack.lineage.db, applied.model);
    const summary: DemoSummary = {
      ...result,
      champion: champion?.id ?? null,
      temporalUi: runUrl,
      temporalAddress: stack.address,
      lineageDatabase: stack.lineage.location,
      artifactRoot: stack.store.rootUri,
    };
    if (options.json) {
      console.log(JSON.stringify(summary));
    } else {
      printSummary(summary);
    }
    if (options.keep && stack.uiUrl) {
      console.log(`\nThe Temporal UI stays up at ${stack.uiUrl} — press Ctrl-C to stop.`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
    return summary;
  } finally {
    await stack.stop();
  }
}

/**
 * TEMPORAL_ADDRESS set: use that server. Otherwise start a dev server; on the default ports it
 * keeps its history in the same file `flywheel dev` uses, so the printed link works again later.
 */
async function demoTemporalSettings(options: DemoOptions): Promise<Partial<LocalStackOptions>> {
  if (process.env.TEMPORAL_ADDRESS) return { temporalAddress: process.env.TEMPORAL_ADDRESS };
  const port = options.port ?? DEV_PORT;
  const uiPort = options.uiPort ?? DEV_UI_PORT;
  if ((await isPortFree(port)) && (await isPortFree(uiPort))) return { port, uiPort, dbFilename: devServerDbFile() };
  return { port: 0, uiPort: 0 };
}

function printSummary(s: DemoSummary): void {
  const metrics = Object.entries(s.metrics)
    .map(([k, v]) => `${k}=${v.toFixed(4)}`)
    .join('  ');
  console.log('');
  console.log(`Result: ${s.versionId} ${s.decision === 'promoted' ? 'promoted to champion' : 'rejected'} (${s.reasons.join('; ')})`);
  console.log(`  metrics     ${metrics}`);
  console.log(`  rows        ${s.rows.total} (train ${s.rows.train}, validation ${s.rows.validation}, strictly later)`);
  console.log(`  dataset     ${s.datasetId}`);
  console.log(`  model       ${s.artifactUri}`);
  console.log(`  champion    ${s.champion ?? 'none'}`);
  console.log(`  steps (ms)  ${Object.entries(s.stepMs).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}; wall ${s.wallMs} ms`);
  console.log(`  lineage     ${s.lineageDatabase}`);
  console.log(`  run report  ${s.runReportUri}`);
  console.log(`  model page  ${s.modelPageUri}`);
  console.log(`  report card ${s.reportHtmlUri}`);
  console.log(`  Temporal UI ${s.temporalUi ?? '(headless)'}`);
  console.log('  (the dev server stops with the demo: `npm run demo -- --keep` keeps it up; `npx flywheel dev` reopens this history)');
}
