// CLI commands for the maturity stages: schedules (pause, resume, trigger, backfill) and the
// stage-4 continual workflow (pause, resume, check now, retrain now, state).
import type { Command } from 'commander';
import { loadConfig } from '../../infra/config';
import { connectClient } from '../../infra/temporal-connection';
import { continualWorkflowIdFor, scheduleIdFor } from '../../schedules/reconcile';
import type { ContinualState } from '../../workflows/continual-state';

async function withClient<T>(work: (client: Awaited<ReturnType<typeof connectClient>>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const client = await connectClient(config.temporalAddress, config.temporalNamespace);
  try {
    return await work(client);
  } finally {
    await client.connection.close();
  }
}

function print(json: boolean, value: unknown, human: string): void {
  console.log(json ? JSON.stringify(value) : human);
}

export function registerLifecycleCommands(program: Command): void {
  const schedule = program.command('schedule').description('stage 2-3 schedules (one per model)');
  const scheduleAction = (name: string, description: string, run: (handle: ReturnType<Awaited<ReturnType<typeof connectClient>>['schedule']['getHandle']>, o: Record<string, string>) => Promise<string>) =>
    schedule
      .command(`${name} <model>`)
      .description(description)
      .option('--json', 'JSON output')
      .option('--from <iso>', 'backfill: start of the range')
      .option('--to <iso>', 'backfill: end of the range')
      .action(async (model: string, o) =>
        withClient(async (client) => {
          const message = await run(client.schedule.getHandle(scheduleIdFor(model)), o);
          print(!!o.json, { model, scheduleId: scheduleIdFor(model), action: name, message }, message);
        }),
      );
  scheduleAction('pause', 'pause the model\'s schedule', async (h) => (await h.pause('paused from the flywheel CLI'), 'paused'));
  scheduleAction('resume', 'resume the model\'s schedule', async (h) => (await h.unpause('resumed from the flywheel CLI'), 'resumed'));
  scheduleAction('trigger', 'start one scheduled run now', async (h) => (await h.trigger(), 'triggered one run now'));
  scheduleAction('backfill', 'run the schedule over a past range (--from, --to)', async (h, o) => {
    if (!o.from || !o.to) throw new Error('backfill needs --from and --to (ISO 8601 times)');
    const start = new Date(o.from);
    const end = new Date(o.to);
    if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end <= start) throw new Error('backfill: --from and --to must be ISO 8601 times with --from before --to');
    await h.backfill({ start, end, overlap: 'BUFFER_ALL' });
    return `backfilling ${start.toISOString()} → ${end.toISOString()}`;
  });
  schedule
    .command('show <model>')
    .description('the schedule, its next runs and recent actions')
    .option('--json', 'JSON output')
    .action(async (model: string, o) =>
      withClient(async (client) => {
        const d = await client.schedule.getHandle(scheduleIdFor(model)).describe();
        const value = { model, paused: d.state.paused, nextActionTimes: d.info.nextActionTimes.map((t) => t.toISOString()), recentActions: d.info.recentActions.map((a) => ({ scheduledAt: a.scheduledAt.toISOString(), workflowId: a.action.workflow.workflowId })) };
        print(!!o.json, value, `${model}: ${value.paused ? 'paused' : 'active'}; next ${value.nextActionTimes.slice(0, 3).join(', ') || '-'}; recent ${value.recentActions.map((a) => a.workflowId).join(', ') || '-'}`);
      }),
    );

  const continual = program.command('continual').description('the stage-4 continual-learning workflow of a model');
  const signalCommand = (name: string, signal: string, description: string) =>
    continual
      .command(`${name} <model>`)
      .description(description)
      .option('--json', 'JSON output')
      .action(async (model: string, o) =>
        withClient(async (client) => {
          await client.workflow.getHandle(continualWorkflowIdFor(model)).signal(signal, ...(signal === 'retrainNow' ? ['flywheel CLI'] : []));
          print(!!o.json, { model, signal }, `${model}: ${signal} sent`);
        }),
      );
  signalCommand('pause', 'pause', 'stop evaluating triggers until resumed');
  signalCommand('resume', 'resume', 'resume evaluating triggers (and check at once)');
  signalCommand('check', 'checkNow', 'evaluate the triggers now');
  signalCommand('retrain', 'retrainNow', 'start a retrain now (reason "manual"), one at a time');
  continual
    .command('state <model>')
    .description('the continual workflow\'s state: paused, checks, last signals and retrains')
    .option('--json', 'JSON output')
    .action(async (model: string, o) =>
      withClient(async (client) => {
        const state = await client.workflow.getHandle(continualWorkflowIdFor(model)).query<ContinualState>('continualState');
        const last = state.lastChecks[0];
        print(
          !!o.json,
          state,
          `${model}: ${state.paused ? 'paused' : 'active'}, ${state.checks} checks, ${state.retrainsStarted} retrains started` +
            (last ? `\n  last check ${last.at}: ${last.outcome}\n${last.signals.map((s) => `    ${s.kind.padEnd(11)} ${s.fired ? 'FIRED' : 'quiet'}  ${s.detail}`).join('\n')}` : ''),
        );
      }),
    );
}
