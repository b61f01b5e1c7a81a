// The `flywheel` command line (commander). Every command takes --json for scripts; errors print
// one line naming the problem and exit non-zero.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { loadConfig } from '../infra/config';
import { DEV_PORT, DEV_UI_PORT, devServerDbFile, startLocalStack } from '../infra/local-stack';
import { connectClient } from '../infra/temporal-connection';
import { openLineageDb } from '../lineage/db';
import { currentChampion } from '../lineage/models';
import { parseModelSpec } from '../spec/model-spec';
import { applyModel } from './apply';
import { approveModelCandidate } from './approvals';
import { registerLifecycleCommands } from './commands/lifecycle';
import { registerLineageCommands } from './commands/lineage';
import { registerDataCommands } from './commands/data-import';
import { registerRolloutCommands } from './commands/rollout';
import { registerServeCommand } from './commands/serve';
import { registerDriftCommands } from './commands/drift';
import { registerBacktestCommands } from './commands/backtest';
import { registerBenchCommand } from './commands/bench';
import { registerSweepCommand } from './commands/sweep';
import { parseRoles } from '../worker/roles';
import { runWorkerProcess } from '../worker/run';
import { runDemo } from './demo';
import { describeError } from './errors';
import { followRun } from './progress';
import { startRetrain } from './retrain';

function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}

function output(json: boolean, value: unknown, human: string): void {
  console.log(json ? JSON.stringify(value) : human);
}

export function buildCli(): Command {
  const program = new Command('flywheel').description('Continual learning for ML models on Temporal');

  program
    .command('demo')
    .description('start the local stack, seed data, run one retrain and print a summary')
    .option('--json', 'print the summary as one JSON object')
    .option('--keep', 'keep the Temporal UI up after the run until Ctrl-C')
    .option('--port <port>', `Temporal dev server gRPC port (default ${DEV_PORT}, any free port if taken)`, (v) => Number(v))
    .option('--ui-port <port>', `Temporal Web UI port (default ${DEV_UI_PORT}, any free port if taken)`, (v) => Number(v))
    .option('--rows <n>', 'labelled rows to seed', (v) => Number(v), 2000)
    .action(async (o) => {
      await runDemo({ json: !!o.json, keep: !!o.keep, port: o.port, uiPort: o.uiPort, rows: o.rows });
    });

  program
    .command('dev')
    .description('start the local stack (Temporal dev server with UI, lineage DB, worker) until Ctrl-C')
    .option('--port <port>', 'Temporal gRPC port', (v) => Number(v), DEV_PORT)
    .option('--ui-port <port>', 'Temporal Web UI port', (v) => Number(v), DEV_UI_PORT)
    .option('--json', 'print the addresses as JSON')
    .action(async (o) => {
      const stack = await startLocalStack({
        port: o.port,
        uiPort: o.uiPort,
        dbFilename: devServerDbFile(),
        log: o.json ? undefined : (line) => console.log(`  ${line}`),
      });
      output(
        !!o.json,
        { temporalAddress: stack.address, temporalUi: stack.uiUrl, lineage: stack.lineage.location, artifacts: stack.store.rootUri },
        `Flywheel dev stack up:\n  TEMPORAL_ADDRESS=${stack.address}\n  Temporal UI ${stack.uiUrl}\n  lineage ${stack.lineage.location}\n  artifacts ${stack.store.rootUri}\nCtrl-C stops it.`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await stack.stop();
    });

  const models = program.command('models').description('model specs');
  models
    .command('apply <spec>')
    .description('validate a model spec (JSON file), store it and reconcile Temporal with its stage; the same spec twice changes nothing')
    .option('--json', 'JSON output')
    .action(async (file: string, o) => {
      // Validate before connecting anywhere: a bad spec is reported as such, whatever else is down.
      const spec = parseModelSpec(readJsonFile(file));
      const config = loadConfig();
      const lineage = await openLineageDb();
      try {
        const client = await connectClient(config.temporalAddress, config.temporalNamespace);
        try {
          const result = await applyModel(client, lineage.db, spec);
          output(
            !!o.json,
            { model: result.model, outcome: result.outcome, specHash: result.specHash, stage: result.spec.stage, schedule: result.temporal.schedule, continual: result.temporal.continual, monitoring: result.temporal.monitoring },
            `model ${result.model}: ${result.outcome} (spec ${result.specHash.slice(0, 12)}, stage ${result.spec.stage}); schedule ${result.temporal.schedule}; continual ${result.temporal.continual}` +
              (result.temporal.monitoring === 'none' ? '' : `; monitoring schedule ${result.temporal.monitoring}`),
          );
        } finally {
          await client.connection.close();
        }
      } finally {
        await lineage.close();
      }
    });
  models
    .command('list')
    .description('list models with their stage and champion')
    .option('--json', 'JSON output')
    .action(async (o) => {
      const lineage = await openLineageDb();
      try {
        const rows = await lineage.db.selectFrom('models').select(['name', 'stage', 'spec_hash', 'updated_at']).orderBy('name').execute();
        const listed = await Promise.all(rows.map(async (r) => ({ model: r.name, stage: r.stage, specHash: r.spec_hash, champion: (await currentChampion(lineage.db, r.name))?.id ?? null })));
        output(!!o.json, listed, listed.map((m) => `${m.model.padEnd(24)} stage ${m.stage}  champion ${m.champion ?? '-'}`).join('\n') || '(no models)');
      } finally {
        await lineage.close();
      }
    });

  program
    .command('retrain <model>')
    .description('start the retrain DAG for a model (idempotent per --key) and follow it')
    .option('--trigger <reason>', 'trigger reason recorded on the run', 'manual')
    .option('--reference-time <iso>', 'end of the data window (default: now)')
    .option('--key <key>', 'idempotency key: the same key never starts a second run')
    .option('--full', 'train from scratch even where the stage would warm-start')
    .addOption(new Option('--mode <mode>', 'stateless (full retrain) or stateful (warm-start from the champion, even below stage 3); default: the stage decides').choices(['stateless', 'stateful']))
    .addOption(new Option('--no-wait', 'return once the run has started'))
    .option('--json', 'JSON output')
    .action(async (model: string, o) => {
      const config = loadConfig();
      const client = await connectClient(config.temporalAddress, config.temporalNamespace);
      try {
        const handle = await startRetrain(client, { model, trigger: o.trigger, referenceTime: o.referenceTime, idempotencyKey: o.key, forceStateless: !!o.full, ...(o.mode ? { mode: o.mode as 'stateless' | 'stateful' } : {}) });
        if (!o.wait) {
          output(!!o.json, { workflowId: handle.workflowId }, `started ${handle.workflowId}`);
          return;
        }
        const result = await followRun(handle, o.json ? () => {} : (line) => console.error(`  ${line}`));
        output(!!o.json, result, `${result.versionId} ${result.decision} — ${result.reasons.join('; ')}`);
      } finally {
        await client.connection.close();
      }
    });

  program
    .command('approve <model>')
    .description('sign off the candidate the offline gate sent for approval (or --reject it)')
    .option('--reject', 'reject instead of approving')
    .option('--by <who>', 'who signs off', process.env.USER ?? 'operator')
    .option('--comment <text>', 'a note kept in lineage')
    .option('--run <workflowId>', 'which run, when several wait')
    .option('--json', 'JSON output')
    .action(async (model: string, o) => {
      const config = loadConfig();
      const client = await connectClient(config.temporalAddress, config.temporalNamespace);
      try {
        const answer = await approveModelCandidate(client, model, { approve: !o.reject, by: o.by, comment: o.comment }, o.run);
        output(!!o.json, answer, `${answer.workflowId}: ${answer.outcome}`);
      } finally {
        await client.connection.close();
      }
    });

  registerLifecycleCommands(program);
  registerLineageCommands(program, models);
  registerRolloutCommands(program);
  registerServeCommand(program);
  registerDataCommands(program);
  registerDriftCommands(program);
  registerBacktestCommands(program);
  registerBenchCommand(program);
  registerSweepCommand(program);

  program
    .command('worker')
    .description('run a worker against TEMPORAL_ADDRESS until SIGINT/SIGTERM')
    .option('--roles <roles>', 'orchestration, training, or both (comma-separated)', 'orchestration,training')
    .option('--training-slots <n>', 'concurrent training activities (default: the GPU count from nvidia-smi, 1 without GPUs; 4 measured best for CPU trainers on 2 cores, bench/README.md)', (v) => Number(v))
    .option('--activity-slots <n>', 'concurrent light activities on the orchestration queue', (v) => Number(v), 20)
    .option('--workflow-task-slots <n>', 'concurrent workflow tasks (default: the SDK\'s)', (v) => Number(v))
    .option('--max-cached-workflows <n>', 'workflows kept in memory between tasks (default: the SDK\'s)', (v) => Number(v))
    .option('--pg-pool <n>', 'lineage connection pool size (at least activity + training slots)', (v) => Number(v), 24)
    .action(async (o) => {
      await runWorkerProcess({
        roles: parseRoles(o.roles),
        trainingSlots: o.trainingSlots,
        activitySlots: o.activitySlots,
        workflowTaskSlots: o.workflowTaskSlots,
        maxCachedWorkflows: o.maxCachedWorkflows,
        poolSize: o.pgPool,
      });
    });

  oneLineUsageErrors(program);
  return program;
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Usage errors (missing argument, unknown option) print one line pointing at --help, and exit 1. */
function oneLineUsageErrors(command: Command): void {
  const where = commandPath(command);
  command.configureOutput({
    outputError: (message, write) => write(`${message.trim().replace(/\s*\n\s*/g, ' ')} (see ${where} --help)\n`),
  });
  for (const sub of command.commands) oneLineUsageErrors(sub);
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv, { from: 'user' });
  } catch (error) {
    console.error(`flywheel: ${describeError(error)}`);
    process.exitCode = 1;
  }
}

/** main() for a process entry point: exits once the command is done. */
export function runCliProcess(argv: string[]): void {
  void main(argv).then(() => {
    // Native handles (gRPC, PGlite) can linger after a failed command; the answer is already out.
    setTimeout(() => process.exit(process.exitCode ?? 0), 100).unref();
  });
}

if (require.main === module) runCliProcess(process.argv.slice(2));
