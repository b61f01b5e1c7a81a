// `flywheel demo --json` on embedded defaults (PGlite, file:// artifacts, its own dev server) in a
// scratch data folder: the main job a newcomer runs, checked as a script would consume it.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';

describe('flywheel demo --json', () => {
  it('prints one JSON summary with model, version, metrics and workflow id', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'flywheel-demo-'));
    const env = { FLYWHEEL_DATA_DIR: dataDir, DATABASE_URL: '', TEMPORAL_ADDRESS: '', FLYWHEEL_ARTIFACT_ROOT: '' };
    const result = await runCli(['demo', '--json', '--port', '0', '--ui-port', '0'], env, 180_000);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0]);
    expect(summary).toMatchObject({ model: 'ctr', version: 'v1', versionId: 'ctr@v1', decision: 'promoted', champion: 'ctr@v1', stage: 1, trigger: 'manual' });
    expect(summary.workflowId).toMatch(/^retrain\/ctr\/demo-\d+$/);
    expect(summary.metrics.auc).toBeGreaterThan(0.8);
    expect(summary.lineageDatabase).toBe(`pglite:${path.join(dataDir, 'pglite')}`);
    expect(summary.temporalUi).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/retrain%2Fctr%2Fdemo-\d+\/[0-9a-f-]+\/history$/);
    expect(existsSync(fileURLToPath(summary.artifactUri))).toBe(true);

    // The two pages the demo ends by printing exist and are the pages a person expects.
    expect(summary.runReportUri).toMatch(/^file:\/\/.*\/run\.html$/);
    expect(summary.modelPageUri).toMatch(/^file:\/\/.*\/index\.html$/);
    const runPage = readFileSync(fileURLToPath(summary.runReportUri), 'utf8');
    expect(runPage).toMatch(/^<!doctype html>/);
    expect(runPage).toContain('<h2>Report card: <span class="pass">pass</span></h2>');
    expect(runPage).toContain('<h2>Data</h2>');
    // The first version has no champion to compare with: the drift section says so instead of a chart.
    expect(runPage).toContain('<h2>Drift</h2>');
    expect(runPage).toContain('no reference snapshot yet (no champion)');
    expect(runPage).toContain('<h2>Lineage</h2>');
    expect(runPage).toContain('aria-label="lineage graph"');
    expect(runPage).toMatch(/<svg [^>]*aria-label="candidate vs champion on the backtest window/);
    // The demo's own dev server serves the UI, so the report links the run there: the same link the demo prints.
    expect(runPage).toContain(`<a href="${summary.temporalUi}">Open in the Temporal UI</a>`);
    const modelPage = readFileSync(fileURLToPath(summary.modelPageUri), 'utf8');
    expect(modelPage).toContain('<h2>Metrics over versions</h2>');
    expect(modelPage).toMatch(/<svg [^>]*aria-label="ctr: auc by version"/);
    expect(modelPage).toContain('<title>auc v1: ');
  });
});
