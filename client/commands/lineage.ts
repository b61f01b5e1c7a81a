// `flywheel lineage <model>[@version] [--at <time>]`, `flywheel status [model]` and
// `flywheel models show <model>`: lineage and state read straight from Postgres.
import type { Command } from 'commander';
import { ancestry, championAt, modelHistory } from '../../lineage/ancestry';
import { openLineageDb } from '../../lineage/db';
import { currentChampion } from '../../lineage/models';
import { modelStatus } from '../status';

function print(json: boolean, value: unknown, human: string): void {
  console.log(json ? JSON.stringify(value) : human);
}

async function withLineage<T>(work: (db: Awaited<ReturnType<typeof openLineageDb>>['db']) => Promise<T>): Promise<T> {
  const lineage = await openLineageDb();
  try {
    return await work(lineage.db);
  } finally {
    await lineage.close();
  }
}

export function registerLineageCommands(program: Command, models: Command): void {
  program
    .command('lineage <target>')
    .description('ancestry of <model>[@version] (default: the champion) with datasets and evaluations; --at <time> for the champion then')
    .option('--at <iso>', 'show the version that was champion at this instant')
    .option('--json', 'JSON output')
    .action(async (target: string, o) =>
      withLineage(async (db) => {
        const [model, version] = target.split('@');
        let versionId: string | undefined = version ? `${model}@${version}` : undefined;
        if (o.at) {
          const at = new Date(o.at);
          if (Number.isNaN(at.getTime())) throw new Error(`--at ${o.at} is not an ISO 8601 time`);
          const then = await championAt(db, model, at);
          if (!then) throw new Error(`model "${model}" had no champion at ${at.toISOString()}`);
          versionId = then.id;
        }
        versionId ??= (await currentChampion(db, model))?.id ?? (await modelHistory(db, model)).at(-1)?.version.id;
        if (!versionId) throw new Error(`model "${model}" has no versions yet`);
        const chain = await ancestry(db, versionId);
        if (!chain.length) throw new Error(`no version ${versionId}`);
        const nodes = chain.map((n) => ({
          version: n.version.id,
          status: n.version.status,
          trainingMode: n.version.training_mode,
          iteration: n.version.iteration_kind,
          reason: n.version.training_reason,
          parent: n.version.parent_version_id,
          samplesSeen: n.version.samples_seen,
          createdAt: new Date(n.version.created_at).toISOString(),
          metrics: n.version.metrics,
          dataset: n.dataset ? { id: n.dataset.id, rows: n.dataset.row_count, window: [new Date(n.dataset.window_start).toISOString(), new Date(n.dataset.window_end).toISOString()], uri: n.dataset.uri } : null,
          evaluation: n.evaluation ? { decision: n.evaluation.decision, reasons: n.evaluation.reasons, report: n.evaluation.report_uri, approval: n.evaluation.approval } : null,
        }));
        const human = nodes
          .map((n, depth) => {
            const indent = '  '.repeat(depth);
            return `${indent}${depth ? '└─ ' : ''}${n.version} [${n.status}] ${n.trainingMode}${n.reason ? ` — ${n.reason}` : ''}\n${indent}   dataset ${n.dataset?.id ?? '-'} (${n.dataset?.rows ?? 0} rows, ${n.dataset?.window.join(' → ') ?? ''})\n${indent}   evaluation ${n.evaluation?.decision ?? '-'}${n.evaluation?.reasons?.length ? `: ${(n.evaluation.reasons as string[])[0]}` : ''}`;
          })
          .join('\n');
        print(!!o.json, { model, at: o.at ?? null, ancestry: nodes }, `${o.at ? `champion of ${model} at ${o.at}: ${versionId}\n` : ''}${human}`);
      }),
    );

  program
    .command('status [model]')
    .description('models with stage, champion and their latest runs')
    .option('--json', 'JSON output')
    .action(async (model: string | undefined, o) =>
      withLineage(async (db) => {
        const value = await modelStatus(db, model);
        const human = value
          .map((m) => `${m.model} (stage ${m.stage}) champion ${m.champion ?? '-'}\n${m.runs.map((r) => `  ${r.startedAt} ${r.id} ${r.status} at ${r.step}${r.candidate ? ` → ${r.candidate}` : ''}${r.error ? ` (${r.error})` : ''}`).join('\n')}`)
          .join('\n');
        print(!!o.json, value, human || '(no models)');
      }),
    );

  models
    .command('show <model>')
    .description('the stored spec, stage and champion of a model')
    .option('--json', 'JSON output')
    .action(async (model: string, o) =>
      withLineage(async (db) => {
        const row = await db.selectFrom('models').selectAll().where('name', '=', model).executeTakeFirst();
        if (!row) throw new Error(`unknown model "${model}": apply its spec first (flywheel models apply <spec.json>)`);
        const champion = (await currentChampion(db, model))?.id ?? null;
        const value = { model, stage: row.stage, specHash: row.spec_hash, champion, spec: row.spec };
        print(!!o.json, value, `${model}: stage ${row.stage}, champion ${champion ?? '-'}, spec ${row.spec_hash.slice(0, 12)}\n${JSON.stringify(row.spec, null, 2)}`);
      }),
    );
}
