// Determinism guard: every recorded history in test/fixtures/histories (scripts/record-histories.ts)
// replays against the current workflow bundle — the one the workers run (worker/workers.ts
// workflowBundle()). A change to workflow code that would make a running execution take another
// path fails here with the nondeterminism error; guard it with patched() or, for a deliberate
// break with no executions in flight, re-record (`npm run record-histories`). Also: every workflow
// type the bundle exports has a fixture, and no fixture carries the recording's database password or
// its marker feature values (payloads are claim checks, not data).
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { beforeAll, describe, expect, it } from 'vitest';
import { installSdkLogging } from '../../infra/sdk-logging';
import { workflowBundle } from '../../worker/workers';
import { decodedHistoryText } from '../support/fault-histories';

const DIR = path.join(__dirname, '..', 'fixtures', 'histories');

interface Index {
  recordedAt: string;
  markers: { password: string; feature: number; entity: string };
  fixtures: Array<{ name: string; file: string; workflowId: string; workflowType: string; description: string; events: number }>;
}

const index = JSON.parse(readFileSync(path.join(DIR, 'index.json'), 'utf8')) as Index;
const load = (file: string) => JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as unknown;

describe('recorded workflow histories replay against the current workflow code', () => {
  let bundle: WorkflowBundleWithSourceMap;

  beforeAll(async () => {
    installSdkLogging('ERROR');
    bundle = await workflowBundle();
  });

  it.each(index.fixtures.map((f) => [f.name, f] as const))('replays %s deterministically', async (_name, fixture) => {
    const history = historyFromJSON(load(fixture.file));
    expect(history.events?.length).toBe(fixture.events);
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, fixture.workflowId);
  });

  it('has a fixture for every workflow type the bundle exports', () => {
    const exported = [...readFileSync(path.join(__dirname, '..', '..', 'workflows', 'index.ts'), 'utf8').matchAll(/export\s*\{\s*(\w+)\s*\}/g)].map((m) => m[1]);
    expect(exported.length).toBeGreaterThanOrEqual(3);
    const recorded = new Set(index.fixtures.map((f) => f.workflowType));
    expect(exported.filter((type) => !recorded.has(type))).toEqual([]);
  });

  it('the guard works: a workflow change that alters the command sequence fails the replay', { timeout: 120_000 }, async () => {
    // A copy of workflows/ (imports re-pointed one level up) whose retrainWorkflow sleeps before its first step.
    const repo = path.join(__dirname, '..', '..');
    const dir = path.join(repo, '.flywheel', `replay-mutant-${process.pid}`);
    try {
      cpSync(path.join(repo, 'workflows'), dir, { recursive: true });
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
        const text = readFileSync(path.join(dir, file), 'utf8').replace(/((?:from|import)\s*\(?\s*)'\.\.\//g, "$1'../../");
        writeFileSync(path.join(dir, file), text);
      }
      const retrain = path.join(dir, 'retrain.ts');
      const signature = 'export async function retrainWorkflow(input: RetrainInput): Promise<RetrainResult> {';
      const source = readFileSync(retrain, 'utf8');
      expect(source).toContain(signature);
      writeFileSync(retrain, `import { sleep as mutantSleep } from '@temporalio/workflow';\n${source.replace(signature, `${signature}\n  await mutantSleep(1);`)}`);
      installSdkLogging('ERROR');
      const quiet = { log: () => {}, trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
      const mutant = await bundleWorkflowCode({ workflowsPath: path.join(dir, 'index.ts'), logger: quiet });
      const fixture = index.fixtures.find((f) => f.name === 'retrain-promoted')!;
      await expect(Worker.runReplayHistory({ workflowBundle: mutant }, historyFromJSON(load(fixture.file)), fixture.workflowId)).rejects.toThrow(DeterminismViolationError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('no fixture carries the database password or raw feature values (decoded payloads scanned)', () => {
    const { password, feature, entity } = index.markers;
    for (const fixture of index.fixtures) {
      const text = decodedHistoryText(load(fixture.file));
      expect(text.includes(fixture.workflowId), `${fixture.name}: decoded payloads are searchable`).toBe(true);
      expect(text.includes(password), `${fixture.name} carries the DATABASE_URL password`).toBe(false);
      expect(text.includes(String(feature).slice(2)), `${fixture.name} carries a raw feature value`).toBe(false);
      expect(text.includes(entity), `${fixture.name} carries an entity id`).toBe(false);
    }
  });
});
