// The Temporal dev server module: registers Flywheel's search attributes, serves the Web UI on the
// chosen port, keeps workflows across a restart when given a SQLite file, and stops cleanly.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Connection, Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { startDevServer } from '../../infra/dev-server';
import { freePort, isPortFree } from '../../infra/ports';
import { SEARCH_ATTRIBUTE_CLI_TYPES } from '../../workflows/search-attributes';

describe('Temporal dev server', () => {
  it('starts on chosen ports with search attributes and the UI, persists to SQLite, stops cleanly', async () => {
    const port = await freePort();
    const uiPort = await freePort();
    const dbFilename = path.join(mkdtempSync(path.join(tmpdir(), 'flywheel-dev-')), 'temporal.db');

    const first = await startDevServer({ port, uiPort, dbFilename });
    expect(first.address).toBe(`127.0.0.1:${port}`);
    expect(first.uiUrl).toBe(`http://127.0.0.1:${uiPort}`);
    const page = await fetch(first.uiUrl!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');

    let connection = await Connection.connect({ address: first.address });
    const registered = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_CLI_TYPES)) {
      // The API reports types as enum numbers: KEYWORD = 2, INT = 3.
      expect(registered.customAttributes[name], name).toBe(type === 'Int' ? 3 : 2);
    }
    // A workflow started now (no worker needed) must still exist after a restart.
    await new Client({ connection }).workflow.start('retrainWorkflow', { taskQueue: 'nobody-polls', workflowId: 'persist-check', args: [{ modelName: 'x' }] });
    await connection.close();
    await first.stop();
    expect(await isPortFree(port)).toBe(true);

    const second = await startDevServer({ port, uiPort: false, dbFilename });
    connection = await Connection.connect({ address: second.address });
    const description = await new Client({ connection }).workflow.getHandle('persist-check').describe();
    expect(description.status.name).toBe('RUNNING');
    await connection.close();
    await second.stop();
  });
});
