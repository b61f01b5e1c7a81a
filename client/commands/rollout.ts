// CLI commands for staged rollouts and routing: start a rollout, watch and steer it (status,
// pause, resume, abort, approve), roll the champion back, and ask the routing history (history,
// who-served). Each takes --json; errors print one line naming the problem.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../infra/config';
import { connectClient } from '../../infra/temporal-connection';
import { openLineageDb } from '../../lineage/db';
import { routingHistory, whoServed } from '../../lineage/routing';
import type { Kysely } from 'kysely';
import type { Database } from '../../lineage/schema';
import { abortRollout, approveRollout, getRolloutState, pauseRollout, resumeRollout, rollbackChampion, rolloutHandle, startRollout } from '../../serving/rollout-control';
import type { RolloutState } from '../../workflows/rollout';

type TemporalClient = Awaited<ReturnType<typeof connectClient>>;

async function withClient<T>(work: (client: TemporalClient) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const client = await connectClient(config.temporalAddress, config.temporalNamespace);
  try {
    return await work(client);
  } finally {
    await client.connection.close();
  }
}

async function withDb<T>(work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const lineage = await openLineageDb();
  try {
    return await work(lineage.db);
  } finally {
    await lineage.close();
  }
}

function print(json: boolean, value: unknown, human: string): void {
  console.log(json ? JSON.stringify(value) : human);
}

function readSpec(file: string | undefined): unknown {
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    // Accept either a bare rollout section or a whole model spec that has one.
    return parsed && typeof parsed === 'object' && 'rollout' in parsed ? parsed.rollout : parsed;
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}

/** One line describing where a rollout stands. */
export function describeRollout(state: RolloutState): string {
  const where = state.position ? `${state.position.kind}${state.position.trafficPercent !== null ? ` ${state.position.trafficPercent}%` : ''} for ${Math.round(state.position.elapsedMs / 1000)} s` : 'starting';
  const last = state.lastCheck ? `; last look: ${state.lastCheck.status}: ${state.lastCheck.reason}` : '';
  return `${state.candidate} vs champion ${state.champion ?? '(none)'}: ${state.status}${state.paused ? ' (paused)' : ''}, ${where}${state.reason && !state.lastCheck ? ` — ${state.reason}` : ''}${last}`;
}

export function registerRolloutCommands(program: Command): void {
  const rollout = program.command('rollout').description('staged rollouts (shadow, canary, A/B, interleaving) and routing');

  rollout
    .command('start <model> <candidate>')
    .description('roll a registered candidate version out (the model spec\'s rollout section, or --spec)')
    .option('--spec <file>', 'a JSON rollout section (or a model spec with one) overriding the stored spec')
    .option('--wait', 'wait for the rollout to end and print its result')
    .option('--json', 'JSON output')
    .action(async (model: string, candidate: string, o) =>
      withClient(async (client) => {
        const handle = await startRollout(client, { model, candidateVersionId: candidate, rollout: readSpec(o.spec) });
        if (!o.wait) return print(!!o.json, { workflowId: handle.workflowId }, `started ${handle.workflowId}; follow it with: flywheel rollout status ${model} ${candidate}`);
        const result = await handle.result();
        print(!!o.json, result, `${result.candidate}: ${result.outcome} — ${result.reason}`);
      }),
    );

  rollout
    .command('status <model> <candidate>')
    .description('where the rollout stands: phase, traffic share, last guardrail look')
    .option('--json', 'JSON output')
    .action(async (model: string, candidate: string, o) =>
      withClient(async (client) => {
        const state = await getRolloutState(rolloutHandle(client, model, candidate));
        print(!!o.json, state, describeRollout(state));
      }),
    );

  const steer = (name: string, description: string, run: (handle: ReturnType<typeof rolloutHandle>, o: Record<string, string>) => Promise<RolloutState>) =>
    rollout
      .command(`${name} <model> <candidate>`)
      .description(description)
      .option('--reason <text>', 'why (recorded with the change)')
      .option('--json', 'JSON output')
      .action(async (model: string, candidate: string, o) =>
        withClient(async (client) => {
          const state = await run(rolloutHandle(client, model, candidate), o);
          print(!!o.json, state, `${name}: ${describeRollout(state)}`);
        }),
      );
  steer('pause', 'hold the rollout at its current step (guardrails keep running)', (h, o) => pauseRollout(h, o.reason));
  steer('resume', 'continue a paused rollout', (h) => resumeRollout(h));
  steer('approve', 'advance the current step now, or give the final go-ahead under manual approval', (h, o) => approveRollout(h, o.reason));
  steer('abort', 'end the rollout now: all traffic back on the champion (needs --reason)', (h, o) => {
    if (!o.reason) throw new Error('abort needs --reason "<why>": it is recorded with the rollback');
    return abortRollout(h, o.reason);
  });

  rollout
    .command('rollback <model>')
    .description('make the previous champion serve again, ending every other route of the model (needs --reason)')
    .option('--reason <text>', 'why (recorded in the deployment history)')
    .option('--json', 'JSON output')
    .action(async (model: string, o) => {
      if (!o.reason) throw new Error('rollback needs --reason "<why>": it is recorded in the deployment history');
      await withDb(async (db) => {
        const result = await rollbackChampion(db, model, o.reason);
        print(!!o.json, result, `${model}: ${result.from} → ${result.to} (routing revision ${result.revision})`);
      });
    });

  rollout
    .command('history <model>')
    .description('every route the model has had, when, and why each ended')
    .option('--json', 'JSON output')
    .action(async (model: string, o) =>
      withDb(async (db) => {
        const rows = await routingHistory(db, model);
        print(
          !!o.json,
          rows,
          rows
            .map((r) => `${r.startedAt} → ${r.endedAt ?? 'now'}  ${r.mode.padEnd(12)} ${String(r.trafficPercent).padStart(5)}%  ${r.versionId}${r.arm ? ` (${r.arm})` : ''}  ${r.reason}${r.endReason ? ` | ended: ${r.endReason}` : ''}`)
            .join('\n') || `${model} has never been deployed`,
        );
      }),
    );

  rollout
    .command('who-served <model> <unitId>')
    .description('which version served a unit at a time (default now), from the routing history and the prediction log')
    .option('--at <iso>', 'the time (ISO 8601)')
    .option('--json', 'JSON output')
    .action(async (model: string, unitId: string, o) => {
      const at = o.at ? new Date(o.at) : new Date();
      if (Number.isNaN(at.getTime())) throw new Error(`--at must be an ISO 8601 time, got ${JSON.stringify(o.at)}`);
      await withDb(async (db) => {
        const answer = await whoServed(db, model, unitId, at);
        const routed = answer.routed ? `${answer.routed.versionId} (${answer.routed.mode}${answer.routed.arm ? ` ${answer.routed.arm}` : ''})` : 'nothing deployed';
        const logged = answer.lastLogged ? `; last logged prediction ${answer.lastLogged.requestId} by ${answer.lastLogged.versionId} at ${answer.lastLogged.predictedAt}` : '; no logged prediction for the unit by then';
        print(!!o.json, answer, `${unitId} at ${answer.at}: ${routed}${logged}`);
      });
    });
}
