// The Temporal Web UI as a person uses it: a real dev server WITH its UI, PostgreSQL lineage,
// workers, one retrain; then Debian's Chromium (driven by playwright-core, no downloaded browser)
// filters the workflow list by ModelName, opens the run and reads its search attributes.
// Screenshots go to FLYWHEEL_SCREENSHOT_DIR or a fresh temp folder (its path is printed).
// Needs /usr/bin/chromium (scripts/setup.mjs installs it when run as root); skipped without it.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRetrain } from '../../client/retrain';
import { freePort } from '../../infra/ports';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { openArtifactStore } from '../../storage/artifact-store';
import { HISTORY_END, seedModel } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, startTestWorkers, type RunningWorkers, type TestTemporal } from '../support/temporal';

const CHROMIUM = '/usr/bin/chromium';
const HAS_CHROMIUM = existsSync(CHROMIUM);
if (!HAS_CHROMIUM) console.warn(`ui-browser.test.ts skipped: no ${CHROMIUM}; install it with \`apt-get install -y chromium\` (or run \`node scripts/setup.mjs\` as root)`);

const MODEL = 'uictr';
const VISIBLE_MS = 60_000;

/** Polls `check` until it returns true or `timeoutMs` passes; the last failure explains why. */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = VISIBLE_MS, everyMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`${what}: not true after ${timeoutMs} ms${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}

describe.skipIf(!HAS_CHROMIUM)('Temporal Web UI shows Flywheel runs (headless Chromium)', () => {
  let database: TestDatabase;
  let artifactDir: string;
  let lineage: LineageDb;
  let temporal: TestTemporal;
  let workers: RunningWorkers;
  let browser: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let shots: string;
  let uiUrl: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    artifactDir = mkdtempSync(path.join(tmpdir(), 'flywheel-ui-artifacts-'));
    const store = openArtifactStore(pathToFileURL(artifactDir).toString());
    temporal = await startTestTemporal({ uiPort: await freePort() });
    uiUrl = temporal.server.uiUrl!;
    workers = await startTestWorkers(temporal.server.address, { db: lineage.db, store });
    await seedModel(lineage.db, MODEL, 1500);

    shots = process.env.FLYWHEEL_SCREENSHOT_DIR ?? mkdtempSync(path.join(tmpdir(), 'flywheel-ui-screenshots-'));
    mkdirSync(shots, { recursive: true });
    userDataDir = mkdtempSync(path.join(tmpdir(), 'flywheel-chromium-profile-'));
    // Debian's Chromium, never a downloaded one. Without the background-networking flags Chromium
    // keeps dialling Google services, which this closed network refuses.
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1600, height: 1000 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(30_000);
  });

  afterAll(async () => {
    await browser?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await workers?.stop();
    await temporal?.stop();
    await lineage?.close();
    await database?.drop();
    if (artifactDir) rmSync(artifactDir, { recursive: true, force: true });
  });

  it('filters the workflow list by ModelName and shows the run with its search attributes', async () => {
    const handle = await startRetrain(temporal.client, { model: MODEL, referenceTime: HISTORY_END.toISOString(), idempotencyKey: 'ui-browser' });
    const result = await handle.result();
    expect(result).toMatchObject({ decision: 'promoted', versionId: `${MODEL}@v1` });
    const { workflowId, runId } = result;

    // A run of another model, so the filtered list must leave something out: an unknown model
    // fails at once (UnknownModel), which is all this control needs.
    const other = await startRetrain(temporal.client, { model: 'ghost', idempotencyKey: 'ui-browser' });
    await expect(other.result()).rejects.toThrow();

    // Visibility is eventually consistent: wait until the server lists both runs, closed.
    await eventually('both runs in visibility', async () => {
      const closed: string[] = [];
      for await (const wf of temporal.client.workflow.list({ query: `WorkflowType = "retrainWorkflow" AND ExecutionStatus != "Running"` })) closed.push(wf.workflowId);
      return closed.includes(workflowId) && closed.includes(other.workflowId);
    });

    // 1. The workflow list, filtered with the UI's own query parameter.
    const listUrl = `${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`ModelName = "${MODEL}"`)}`;
    const runLink = page.getByRole('link', { name: workflowId, exact: true });
    await page.goto(listUrl);
    await eventually('the run listed in the UI', async () => {
      if (await runLink.isVisible()) return true;
      await page.reload();
      await runLink.waitFor({ state: 'visible', timeout: 5_000 });
      return true;
    });
    const listText = await page.locator('main').innerText();
    expect(listText).toContain(`ModelName = "${MODEL}"`); // the filter the UI applied
    expect(listText).toContain(runId);
    expect(listText).toContain('retrainWorkflow');
    expect(listText).not.toContain(other.workflowId); // the other model's run is filtered out
    await page.screenshot({ path: path.join(shots, 'workflow-list.png') });

    // 2. The run's page, reached by clicking its id as a person would.
    await runLink.click();
    await page.waitForURL((url) => url.pathname.startsWith(`/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${runId}`));
    await eventually('the run page', async () => {
      const text = await page.locator('main').innerText();
      return text.includes(workflowId) && text.includes(runId) && text.includes('retrainWorkflow') && text.includes('COMPLETED');
    });
    await page.screenshot({ path: path.join(shots, 'run-history.png') });

    // 3. Its search attributes tab: the values Flywheel set as the DAG advanced.
    await page.getByText('Search Attributes', { exact: true }).first().click();
    await page.waitForURL((url) => url.pathname.endsWith('/search-attributes'));
    const expected = [
      ['ModelName', `"${MODEL}"`],
      ['PipelineStep', '"done"'],
      ['TriggerReason', '"manual"'],
      ['CandidateVersion', `"${MODEL}@v1"`],
      ['MaturityStage', '1'],
    ];
    let attributesText = '';
    await eventually('the search attributes shown', async () => {
      attributesText = await page.locator('main').innerText();
      return expected.every(([key, value]) => new RegExp(`"${key}":\\s*${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`).test(attributesText));
    }).catch((error) => {
      throw new Error(`${(error as Error).message}\npage text:\n${attributesText}`);
    });
    const shot = path.join(shots, 'run-search-attributes.png');
    await page.screenshot({ path: shot });
    expect(existsSync(shot)).toBe(true);
    console.log(`ui-browser: screenshots in ${shots}`);
  });
});
