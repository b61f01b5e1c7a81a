// `flywheel backtest` (replay a labelled history through retraining strategies, in process, no
// Temporal) and `flywheel freshness <model>` (start the value-of-freshness experiment workflow and
// print its curve). registerBacktestCommands(program) adds both to the CLI.
import { writeFileSync } from 'node:fs';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { loadConfig } from '../../infra/config';
import { connectClient } from '../../infra/temporal-connection';
import { backtestHtml, loadBacktestSource, parseStrategies, renderBacktestTable, runBacktest, type BacktestResult } from '../../lifecycle/backtest';
import type { MetricName } from '../../ml/metrics';
// Types only: the workflow module imports @temporalio/workflow, which must not load in the client.
import type { freshnessExperimentWorkflow, FreshnessInput, FreshnessResult } from '../../workflows/freshness';
import { ModelName } from '../../workflows/search-attributes';
import { ORCHESTRATION_QUEUE } from '../../workflows/task-queues';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function integer(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new Error(`${flag} must be an integer, got "${value}"`);
    return n;
  };
}

function positiveNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!(n > 0) || !Number.isFinite(n)) throw new Error(`${flag} must be a positive number, got "${value}"`);
    return n;
  };
}

function nonNegativeNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!(n >= 0) || !Number.isFinite(n)) throw new Error(`${flag} must be a number >= 0, got "${value}"`);
    return n;
  };
}

/** The JSON form: everything the table shows plus daily points, recoveries and retrain events. */
function backtestJson(result: BacktestResult, description: string, chart: string | null): unknown {
  return { description, chart, ...result };
}

/** Meaningful, idempotent ids, like retrain/<model>/<key>. */
export function freshnessWorkflowId(model: string, key: string): string {
  return `freshness/${model}/${key}`;
}

async function startFreshness(client: Client, input: FreshnessInput, key: string) {
  const workflowId = freshnessWorkflowId(input.modelName, key);
  try {
    return await client.workflow.start<typeof freshnessExperimentWorkflow>('freshnessExperimentWorkflow', {
      taskQueue: ORCHESTRATION_QUEUE,
      workflowId,
      args: [input],
      // The same key attaches to the experiment already run or running instead of a second one.
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [{ key: ModelName, value: input.modelName }],
      staticSummary: `value of data freshness: ${input.modelName}`,
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle<typeof freshnessExperimentWorkflow>(workflowId);
    throw error;
  }
}

function renderFreshness(result: FreshnessResult): string {
  const r = result.recommendation;
  const lines = [
    `${result.experimentId}: ${result.metric} on the latest data [${result.test.start}, ${result.test.end}) (${result.test.rows} rows)`,
    `  ${'age (days)'.padEnd(11)}${result.metric.padStart(10)}  training rows`,
    ...result.points.map((p) => `  ${String(p.ageDays).padEnd(11)}${(p.value === null ? '-' : p.value.toFixed(4)).padStart(10)}  ${p.rows.train}${p.error ? `  (${p.error})` : ''}`),
    `recommendation: ${r.recommendedIntervalDays === null ? 'no interval within tolerance' : `retrain at least every ${r.recommendedIntervalDays} day(s)`} — ${r.reason}`,
    `curve ${result.artifactUri}`,
    `report ${result.reportUri}`,
  ];
  return lines.join('\n');
}

export function registerBacktestCommands(program: Command): void {
  program
    .command('backtest')
    .description('replay a labelled, time-ordered history through retraining strategies (test-then-train, in process): prequential metric, retrains, compute, time to recover')
    .option('--simulate <scenario>', 'a simulated CTR history: none, sudden, gradual, cyclic, temporary, covariate or label')
    .option('--file <path>', 'a labelled history (CSV, Parquet or Arrow)')
    .option('--timestamp-column <name>', 'event time column of --file (default: event_time, timestamp, time or ts)')
    .option('--label-column <name>', 'label column of --file (default: label)')
    .option('--entity-column <name>', 'entity column of --file (default: entity_id or entity when present)')
    .option('--spec <model.json>', 'model spec for --file: features, data window, curation, trainer (default: every column, default trainer)')
    .option('--strategy <strategy>', 'repeatable: stage1 | stage2:period=1d | stage3:period=1d,recalibrate=7 | stage4:volume=512,performance=auc<0.7,drift=0.25,cooldown=6h (see lifecycle/backtest/README.md)', collect, [])
    .option('--days <n>', 'days to simulate (default 60), or the first n days of --file', integer('--days'))
    .option('--rows-per-day <n>', 'simulated rows per day (default 1000)', integer('--rows-per-day'))
    .option('--seed <n>', 'simulation seed (default 1)', integer('--seed'))
    .option('--warmup <days>', 'days before scoring starts; the shared initial model trains on them', integer('--warmup'), 7)
    .option('--metric <name>', 'prequential metric (default accuracy; mae for regression)')
    .option('--onset <day>', 'repeatable, for --file: a drift onset as a day index or ISO date', collect, [])
    .option('--epsilon <x>', 'recovered = daily metric within this of the pre-drift level', nonNegativeNumber('--epsilon'), 0.02)
    .option('--gate', 'replay the offline gate: a candidate worse than the champion is not promoted')
    .option('--chart <out.html>', 'write an HTML page with the daily prequential chart')
    .option('--json', 'print the result as one JSON object')
    .action(async (o) => {
      const strategies = parseStrategies(o.strategy as string[]);
      const source = await loadBacktestSource({
        simulate: o.simulate,
        file: o.file,
        timestampColumn: o.timestampColumn,
        labelColumn: o.labelColumn,
        entityColumn: o.entityColumn,
        specFile: o.spec,
        days: o.days,
        rowsPerDay: o.rowsPerDay,
        seed: o.seed,
        onsets: o.onset,
      });
      const result = runBacktest({
        history: source.history,
        spec: source.spec,
        strategies,
        settings: { warmupDays: o.warmup, metric: o.metric as MetricName | undefined, onsets: source.onsets, recoveryEpsilon: o.epsilon, gate: !!o.gate },
        log: o.json ? undefined : (line) => console.error(`  ${line}`),
      });
      if (o.chart) writeFileSync(o.chart, backtestHtml(result, 'Retraining strategy backtest', source.description));
      if (o.json) console.log(JSON.stringify(backtestJson(result, source.description, o.chart ?? null)));
      else console.log(`${renderBacktestTable(result, source.description)}${o.chart ? `\nchart ${o.chart}` : ''}`);
    });

  program
    .command('freshness <model>')
    .description('run the value-of-freshness experiment: train on windows ending 0, 1, 3, 7, 14, 30 days before the latest data, test all on the latest data, recommend a retraining interval')
    .option('--ages <days>', 'comma-separated staleness ages in days', (v) => v.split(',').map((a) => Number(a.trim())))
    .option('--window-days <n>', 'training window length (default: the spec\'s data.windowDays)', positiveNumber('--window-days'))
    .option('--test-days <n>', 'test window length: the latest labelled data (default 1)', positiveNumber('--test-days'))
    .option('--reference-time <iso>', 'end of the test window (default: just after the latest labelled row)')
    .option('--metric <name>', 'metric (default: the spec\'s primary evaluation metric)')
    .option('--tolerance <x>', 'how far below the freshest model still counts as as-good (default 0.01)', nonNegativeNumber('--tolerance'))
    .option('--key <key>', 'idempotency key: the same key never runs a second experiment (default: the reference time or now)')
    .option('--no-wait', 'return once the workflow has started')
    .option('--json', 'JSON output')
    .action(async (model: string, o) => {
      if (o.ages && (o.ages as number[]).some((a) => !Number.isFinite(a))) throw new Error(`--ages must be comma-separated numbers of days, e.g. 0,1,3,7,14,30`);
      if (o.referenceTime && Number.isNaN(new Date(o.referenceTime).getTime())) throw new Error(`--reference-time ${o.referenceTime} is not an ISO 8601 time`);
      const input: FreshnessInput = {
        modelName: model,
        ...(o.referenceTime ? { referenceTime: new Date(o.referenceTime).toISOString() } : {}),
        ...(o.ages ? { agesDays: o.ages } : {}),
        ...(o.windowDays ? { trainWindowDays: o.windowDays } : {}),
        ...(o.testDays ? { testDays: o.testDays } : {}),
        ...(o.metric ? { metric: o.metric } : {}),
        ...(o.tolerance !== undefined ? { tolerance: o.tolerance } : {}),
      };
      const config = loadConfig();
      const client = await connectClient(config.temporalAddress, config.temporalNamespace);
      try {
        const key = (o.key as string | undefined) ?? input.referenceTime ?? new Date().toISOString();
        const handle = await startFreshness(client, input, key);
        if (!o.wait) {
          console.log(o.json ? JSON.stringify({ workflowId: handle.workflowId }) : `started ${handle.workflowId}`);
          return;
        }
        const result = await handle.result();
        console.log(o.json ? JSON.stringify(result) : renderFreshness(result));
      } finally {
        await client.connection.close();
      }
    });
}
