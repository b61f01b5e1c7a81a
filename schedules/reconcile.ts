// Makes Temporal match a model's maturity stage: stage 1 nothing, stages 2-3 one Schedule per
// model, stage 4 one long-running continual workflow; at any stage, a monitoring Schedule when the
// spec sets monitoring.every (schedules/monitoring.ts). Applying the same spec twice changes nothing.
// Alongside, once per client: the deployment-wide `artifact-sweep` Schedule (schedules/sweep.ts).
import { createHash } from 'node:crypto';
import {
  type Client,
  type ScheduleDescription,
  type ScheduleHandle,
  ScheduleNotFoundError,
  type ScheduleOptions,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleUpdateOptions,
  type Workflow,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
} from '@temporalio/client';
import type { ModelSpec } from '../spec/model-spec';
import { parseDurationMs } from '../spec/data-spec';
import { MaturityStage, ModelName, TriggerReason } from '../workflows/search-attributes';
import { ORCHESTRATION_QUEUE } from '../workflows/task-queues';
import type { RetrainInput } from '../workflows/types';
import { desiredMonitoringSchedule, monitoringScheduleHash, monitoringScheduleIdFor } from './monitoring';
import { ensureSweepSchedule } from './sweep';

export type ReconcileOutcome = 'none' | 'created' | 'updated' | 'unchanged' | 'removed';

export interface ReconcileResult {
  schedule: ReconcileOutcome;
  continual: 'none' | 'started' | 'running' | 'stopped';
  /** The monitoring Schedule (spec monitoring.every), at any stage: schedules/monitoring.ts. */
  monitoring: ReconcileOutcome;
  scheduleId: string;
  continualWorkflowId: string;
  monitoringScheduleId: string;
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

/**
 * The spec hash a schedule was made from. It rides in the action's memo, which an in-place update
 * can change (the schedule's own memo cannot be updated); schedules created before that carry it
 * in the schedule memo.
 */
function hashOf(description: ScheduleDescription): string {
  const action = description.action.type === 'startWorkflow' ? description.action.memo?.[HASH_MEMO_KEY] : undefined;
  return String(action ?? description.memo?.[HASH_MEMO_KEY] ?? '');
}

/** A desired schedule as ScheduleHandle.update takes it, the hash in the action's memo. */
function scheduleUpdate(options: ScheduleOptions, hash: string): ScheduleUpdateOptions<ScheduleOptionsStartWorkflowAction<Workflow>> {
  const action = options.action as ScheduleOptionsStartWorkflowAction<Workflow>;
  return { spec: options.spec, action: { ...action, memo: { ...action.memo, [HASH_MEMO_KEY]: hash } }, policies: options.policies, state: { paused: options.state?.paused, note: options.state?.note } };
}

/** Describes a schedule; null when there is none. */
async function describeSchedule(handle: ScheduleHandle): Promise<ScheduleDescription | null> {
  try {
    return await handle.describe();
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return null;
    throw error;
  }
}

/**
 * The model's continual workflow: running, stopping (a cancel was requested, by an apply before
 * continual workflows were terminated, and it has not closed yet: it still describes as RUNNING), or none.
 */
async function continualStatus(client: Client, workflowId: string): Promise<'running' | 'stopping' | 'none'> {
  try {
    const description = await client.workflow.getHandle(workflowId).describe();
    if (description.status.name !== 'RUNNING') return 'none';
    return description.raw.workflowExtendedInfo?.cancelRequested ? 'stopping' : 'running';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return 'none';
    throw error;
  }
}

async function startContinual(client: Client, spec: ModelSpec): Promise<void> {
  try {
    await client.workflow.start('continualLearningWorkflow', {
      taskQueue: ORCHESTRATION_QUEUE,
      workflowId: continualWorkflowIdFor(spec.name),
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
}

/** Terminates the continual workflow (at once, unlike a cancel, so a quick 4 → x → 4 finds it closed). */
async function stopContinual(client: Client, model: string, reason: string): Promise<void> {
  try {
    await client.workflow.getHandle(continualWorkflowIdFor(model)).terminate(reason);
  } catch (error) {
    // It closed on its own meanwhile (its check saw the new stage): stopped all the same.
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
}

/**
 * Creates or updates one schedule in place to match `desired` (null: none wanted), pushing the
 * undo of what it changed. A removal is only reported: the caller deletes last, once nothing can fail.
 */
async function placeSchedule(
  client: Client,
  handle: ScheduleHandle,
  existing: ScheduleDescription | null,
  desired: ScheduleOptions | null,
  hash: string,
  undo: Array<() => Promise<unknown>>,
): Promise<ReconcileOutcome> {
  if (!desired) return existing ? 'removed' : 'none';
  if (existing && hashOf(existing) === hash) return 'unchanged';
  if (existing) {
    // In place: a refused update leaves the old schedule, and its run history stays.
    await handle.update(() => scheduleUpdate(desired, hash));
    undo.push(() => handle.update(() => existing as unknown as ScheduleUpdateOptions<ScheduleOptionsStartWorkflowAction<Workflow>>));
    return 'updated';
  }
  await client.schedule.create({ ...desired, action: scheduleUpdate(desired, hash).action, memo: { [HASH_MEMO_KEY]: hash } });
  undo.push(() => handle.delete());
  return 'created';
}

export interface ReconcileHooks {
  /**
   * Stores the spec. Called once the schedule is in place and before a continual workflow starts
   * (its first check reads the stored stage); whatever Temporal changes precede it are undone when
   * it throws.
   */
  commit?: () => Promise<void>;
  /** Undoes commit when a later step fails. */
  rollback?: () => Promise<void>;
}

/**
 * Makes Temporal match a model's spec, all or nothing: every change is undone (best effort, in
 * reverse) when a later one fails, and the error is rethrown. The order keeps undoing cheap and the
 * world consistent: reads first (an unreachable Temporal changes nothing), then a schedule created or
 * updated in place, then `commit`, then a continual workflow started, and removals last.
 */
export async function reconcileModel(client: Client, spec: ModelSpec, hooks: ReconcileHooks = {}): Promise<ReconcileResult> {
  const scheduleId = scheduleIdFor(spec.name);
  const continualWorkflowId = continualWorkflowIdFor(spec.name);
  const handle = client.schedule.getHandle(scheduleId);
  await ensureSweepSchedule(client);
  const existing = await describeSchedule(handle);
  const monitoringHandle = client.schedule.getHandle(monitoringScheduleIdFor(spec.name));
  const existingMonitoring = await describeSchedule(monitoringHandle);
  const continualNow = await continualStatus(client, continualWorkflowId);

  const undo: Array<() => Promise<unknown>> = [];
  try {
    const wanted = spec.stage === 2 || spec.stage === 3;
    const schedule = await placeSchedule(client, handle, existing, wanted ? desiredSchedule(spec) : null, scheduleHash(spec), undo);
    const monitoring = await placeSchedule(client, monitoringHandle, existingMonitoring, desiredMonitoringSchedule(spec), monitoringScheduleHash(spec), undo);

    if (hooks.commit) {
      await hooks.commit();
      if (hooks.rollback) undo.push(hooks.rollback);
    }

    let continual: ReconcileResult['continual'] = 'none';
    if (spec.stage === 4 && continualNow === 'running') continual = 'running';
    else if (spec.stage === 4) {
      // A stopping run would end soon after: replace it, so the model is never left without one.
      if (continualNow === 'stopping') await stopContinual(client, spec.name, `flywheel models apply: ${spec.name} is at stage 4 again; replacing the cancelled run`);
      await startContinual(client, spec);
      undo.push(() => stopContinual(client, spec.name, 'flywheel models apply failed: its continual workflow is undone'));
      continual = 'started';
    } else if (continualNow !== 'none') {
      await stopContinual(client, spec.name, `flywheel models apply: ${spec.name} moved to stage ${spec.stage}`);
      if (continualNow === 'running') undo.push(() => startContinual(client, spec));
      continual = 'stopped';
    }
    if (schedule === 'removed') await handle.delete();
    if (monitoring === 'removed') await monitoringHandle.delete();
    return { schedule, continual, monitoring, scheduleId, continualWorkflowId, monitoringScheduleId: monitoringHandle.scheduleId };
  } catch (error) {
    for (const step of undo.reverse()) {
      await step().catch(() => undefined);
    }
    throw error;
  }
}
