// Makes Temporal match a model's maturity stage: stage 1 nothing, stages 2-3 one Schedule per
// model, stage 4 one long-running continual workflow. Applying the same spec twice changes nothing.
// Alongside, once per client: the deployment-wide `artifact-sweep` Schedule (schedules/sweep.ts).
import { createHash } from 'node:crypto';
import { type Client, ScheduleNotFoundError, type ScheduleOptions, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { ModelSpec } from '../spec/model-spec';
import { parseDurationMs } from '../spec/data-spec';
import { MaturityStage, ModelName, TriggerReason } from '../workflows/search-attributes';
import { ORCHESTRATION_QUEUE } from '../workflows/task-queues';
import type { RetrainInput } from '../workflows/types';
import { ensureSweepSchedule } from './sweep';

export type ReconcileOutcome = 'none' | 'created' | 'updated' | 'unchanged' | 'removed';

export interface ReconcileResult {
  schedule: ReconcileOutcome;
  continual: 'none' | 'started' | 'running' | 'stopped';
  scheduleId: string;
  continualWorkflowId: string;
}

export function scheduleIdFor(model: string): string {
  return `retrain-schedule/${model}`;
}

export function continualWorkflowIdFor(model: string): string {
  return `continual/${model}`;
}

const OVERLAP = { skip: 'SKIP', buffer_one: 'BUFFER_ONE', cancel_other: 'CANCEL_OTHER', allow_all: 'ALLOW_ALL' } as const;
const HASH_MEMO_KEY = 'flywheelScheduleHash';

function ms(duration: string | undefined): number | undefined {
  return duration === undefined ? undefined : (parseDurationMs(duration) ?? undefined);
}

/** The Schedule a stage-2/3 model should have. */
export function desiredSchedule(spec: ModelSpec): ScheduleOptions {
  const schedule = spec.schedule;
  if (!schedule) throw new Error(`model ${spec.name} has no schedule section`);
  const input: RetrainInput = { modelName: spec.name, trigger: 'schedule' };
  return {
    scheduleId: scheduleIdFor(spec.name),
    spec: {
      ...(schedule.every ? { intervals: [{ every: ms(schedule.every)!, offset: ms(schedule.offset) }] } : { cronExpressions: [schedule.cron!] }),
      jitter: ms(schedule.jitter),
    },
    action: {
      type: 'startWorkflow',
      workflowType: 'retrainWorkflow',
      taskQueue: ORCHESTRATION_QUEUE,
      // Temporal appends the scheduled time, so each run gets its own meaningful id.
      workflowId: `retrain/${spec.name}/scheduled`,
      args: [input],
      typedSearchAttributes: [
        { key: ModelName, value: spec.name },
        { key: TriggerReason, value: 'schedule' },
        { key: MaturityStage, value: spec.stage },
      ],
      staticSummary: `scheduled retrain of ${spec.name} (stage ${spec.stage})`,
    },
    policies: { overlap: OVERLAP[schedule.overlap], catchupWindow: ms(schedule.catchupWindow), pauseOnFailure: false },
    state: { paused: schedule.paused, note: `stage ${spec.stage} schedule for ${spec.name}` },
  };
}

function scheduleHash(spec: ModelSpec): string {
  return createHash('sha256').update(JSON.stringify({ schedule: spec.schedule, stage: spec.stage })).digest('hex');
}

async function reconcileSchedule(client: Client, spec: ModelSpec): Promise<ReconcileOutcome> {
  const handle = client.schedule.getHandle(scheduleIdFor(spec.name));
  let existingHash: string | undefined | null = null;
  try {
    const description = await handle.describe();
    existingHash = String(description.memo?.[HASH_MEMO_KEY] ?? '');
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
  }
  const wanted = spec.stage === 2 || spec.stage === 3;
  if (!wanted) {
    if (existingHash === null) return 'none';
    await handle.delete();
    return 'removed';
  }
  const hash = scheduleHash(spec);
  if (existingHash === hash) return 'unchanged';
  const options = desiredSchedule(spec);
  if (existingHash === null) {
    await client.schedule.create({ ...options, memo: { [HASH_MEMO_KEY]: hash } });
    return 'created';
  }
  // The memo cannot be updated in place, so a changed schedule is replaced.
  await handle.delete();
  await client.schedule.create({ ...options, memo: { [HASH_MEMO_KEY]: hash } });
  return 'updated';
}

async function reconcileContinual(client: Client, spec: ModelSpec): Promise<ReconcileResult['continual']> {
  const workflowId = continualWorkflowIdFor(spec.name);
  const handle = client.workflow.getHandle(workflowId);
  let running = false;
  try {
    running = (await handle.describe()).status.name === 'RUNNING';
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
  if (spec.stage !== 4) {
    if (!running) return 'none';
    await handle.cancel();
    return 'stopped';
  }
  if (running) return 'running';
  try {
    await client.workflow.start('continualLearningWorkflow', {
      taskQueue: ORCHESTRATION_QUEUE,
      workflowId,
      args: [{ modelName: spec.name }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: ModelName, value: spec.name },
        { key: MaturityStage, value: 4 },
      ],
      staticSummary: `continual learning for ${spec.name}: evaluates triggers and starts retrains`,
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
  return 'started';
}

export async function reconcileModel(client: Client, spec: ModelSpec): Promise<ReconcileResult> {
  const schedule = await reconcileSchedule(client, spec);
  const continual = await reconcileContinual(client, spec);
  await ensureSweepSchedule(client);
  return { schedule, continual, scheduleId: scheduleIdFor(spec.name), continualWorkflowId: continualWorkflowIdFor(spec.name) };
}
