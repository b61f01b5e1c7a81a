// `flywheel data …` commands: import a labelled-history file (CSV, Parquet, Arrow) for a model,
// compute natural labels by hand, and ask lineage which versions were trained on a dataset.
// registerDataCommands(program) adds them to the CLI; every command takes --json.
import type { Command } from 'commander';
import { versionsTrainedOnDataset } from '../../lineage/dataset-lineage';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { importLabelledFile } from '../../lineage/labelled-import';
import { computeNaturalLabels } from '../../lineage/natural-labels';
import type { Database } from '../../lineage/schema';
import { TableFileError } from '../../datasets/table-files';
import { featureLayout } from '../../spec/feature-layout';
import { parseModelSpec, type ModelSpec } from '../../spec/model-spec';
import type { Kysely } from 'kysely';

function print(json: boolean, value: unknown, human: string): void {
  console.log(json ? JSON.stringify(value) : human);
}

function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got "${value}"`);
    return n;
  };
}

/** The stored spec of a model; an unknown model names the known ones and how to add it. */
export async function loadModelSpec(db: Kysely<Database>, modelName: string): Promise<ModelSpec> {
  const row = await db.selectFrom('models').select('spec').where('name', '=', modelName).executeTakeFirst();
  if (!row) {
    const known = (await db.selectFrom('models').select('name').orderBy('name').execute()).map((m) => m.name);
    throw new Error(`unknown model "${modelName}": apply its spec first (flywheel models apply <spec.json>)${known.length ? `; known models: ${known.join(', ')}` : ''}`);
  }
  return parseModelSpec(row.spec);
}

async function withLineage<T>(work: (lineage: LineageDb) => Promise<T>): Promise<T> {
  const lineage = await openLineageDb();
  try {
    return await work(lineage);
  } finally {
    await lineage.close();
  }
}

export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('training data: import labelled history, natural labels, dataset lineage');

  data
    .command('import <model> <file>')
    .description("load a CSV, Parquet or Arrow file as the model's labelled history; a file with any bad row is rejected whole, naming its lines")
    .option('--timestamp-column <name>', 'event time column (default: event_time, timestamp, time or ts)')
    .option('--label-column <name>', 'label column (default: label)')
    .option('--entity-column <name>', 'entity id column (default: entity_id or entity when present)')
    .option('--max-errors <n>', 'bad lines to list', positiveInt('--max-errors'), 20)
    .option('--json', 'print the result (or the problems) as one JSON object')
    .action(async (model: string, file: string, o) => {
      await withLineage(async ({ db }) => {
        const spec = await loadModelSpec(db, model);
        try {
          const result = await importLabelledFile(db, {
            modelName: model,
            file,
            layout: featureLayout(spec.features),
            task: spec.task,
            timestampColumn: o.timestampColumn,
            labelColumn: o.labelColumn,
            entityColumn: o.entityColumn,
            maxErrors: o.maxErrors,
          });
          print(
            !!o.json,
            result,
            result.outcome === 'already_imported'
              ? `${file} was already imported for model ${model} (${result.source}): nothing added`
              : `imported ${result.rows} rows into model ${model} from ${file} (${result.format}, ${result.firstEventTime} → ${result.lastEventTime})`,
          );
        } catch (error) {
          if (error instanceof TableFileError && o.json) {
            console.log(JSON.stringify({ error: 'rejected', file, total: error.total, problems: error.problems }));
          }
          throw error instanceof TableFileError ? new Error(`rejected ${error.message}; nothing was imported`) : error;
        }
      });
    });

  data
    .command('label <model>')
    .description("compute natural labels from the prediction log and outcome events under the model's labels rule")
    .option('--reference-time <iso>', 'label as of this time (default: now)')
    .option('--lookback-days <n>', 'relabel predictions from this many days back (default: labels.lookbackDays or data.windowDays)', Number)
    .option('--json', 'JSON output')
    .action(async (model: string, o) => {
      await withLineage(async ({ db }) => {
        const spec = await loadModelSpec(db, model);
        if (!spec.labels) throw new Error(`model "${model}" has no labels rule: add a "labels" section to its spec (e.g. { "kind": "event_within", "eventType": "click", "window": "30m" })`);
        const reference = o.referenceTime ? new Date(o.referenceTime) : new Date();
        if (Number.isNaN(reference.getTime())) throw new Error(`--reference-time "${o.referenceTime}" is not a valid ISO 8601 time`);
        const days = o.lookbackDays ?? spec.labels.lookbackDays ?? spec.data.windowDays;
        if (!(days > 0)) throw new Error(`--lookback-days must be a positive number, got "${o.lookbackDays}"`);
        const from = new Date(reference.getTime() - days * 86_400_000);
        const counts = await computeNaturalLabels(db, { modelName: model, rule: spec.labels, referenceTime: reference, from });
        print(
          !!o.json,
          { model, referenceTime: reference.toISOString(), from: from.toISOString(), ...counts },
          `model ${model}: ${counts.labelled} labelled (${counts.positives} positive, ${counts.negatives} negative), ${counts.pending} pending, ${counts.late} late outcome(s); ${counts.inserted} new, ${counts.updated} changed`,
        );
      });
    });

  data
    .command('used-by <datasetId>')
    .description("model versions trained on a dataset's rows (directly, or through stateful warm starts)")
    .option('--json', 'JSON output')
    .action(async (datasetId: string, o) => {
      await withLineage(async ({ db }) => {
        const exists = await db.selectFrom('datasets').select('id').where('id', '=', datasetId).executeTakeFirst();
        if (!exists) throw new Error(`unknown dataset "${datasetId}": list a model's datasets in lineage (datasets table) or check the id`);
        const versions = await versionsTrainedOnDataset(db, datasetId);
        print(
          !!o.json,
          versions,
          versions.map((v) => `${v.versionId.padEnd(24)} ${v.status.padEnd(12)} ${v.depth === 0 ? 'trained on it' : `warm-started from ${v.via[0]} (${v.depth} step${v.depth > 1 ? 's' : ''})`}`).join('\n') ||
            `no version was trained on ${datasetId}`,
        );
      });
    });
}
