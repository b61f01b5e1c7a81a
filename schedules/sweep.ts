// The artifact sweep's Temporal Schedule (`artifact-sweep`): starts artifactSweepWorkflow
// (workflows/sweep.ts) once a day, so the scratch every run leaves (staged windows, intermediate
// checkpoints, the model file of a run that registered no version) is removed once the run is over.
// Reconciled alongside the models' schedules (schedules/reconcile.ts reconcileModel calls it on
// every `flywheel models apply`, once per client); idempotent: the same settings change nothing.
//
// Settings (environment of the process that applies specs):
//   FLYWHEEL_ARTIFACT_SWEEP        unset: daily at 03:17 UTC; a cron expression ("0 */6 * * *");
//                                  "off": no schedule (an existing one is removed)
//   FLYWHEEL_ARTIFACT_SWEEP_GRACE  scratch of runs finished less than this ago stays; default 1h
//                                  (s, m, h or d, e.g. "6h")
import { createHash } from 'node:crypto';
import { type Client, ScheduleAlreadyRunning, ScheduleNotFoundError, type ScheduleOptions } from '@temporalio/client';
import { DEFAULT_SWEEP_GRACE_MS } from '../activities/sweeper';
import { parseDurationMs } from '../spec/data-spec';
import { ORCHESTRATION_QUEUE } from '../workflows/task-queues';
import type { ArtifactSweepInput } from '../workflows/sweep';

export const ARTIFACT_SWEEP_SCHEDULE_ID = 'artifact-sweep';
export const DEFAULT_ARTIFACT_SWEEP_CRON = '17 3 * * *';
const HASH_MEMO_KEY = 'flywheelScheduleHash';

export interface SweepScheduleSettings {
  /** false: no schedule. */
  cron: string | false;
  graceMs: number;
}

export type SweepScheduleOutcome = 'created' | 'updated' | 'unchanged' | 'removed' | 'none';

/** Reads FLYWHEEL_ARTIFACT_SWEEP and FLYWHEEL_ARTIFACT_SWEEP_GRACE; a bad value is an error naming the variable. */
export function sweepScheduleSettings(env: NodeJS.ProcessEnv = process.env): SweepScheduleSettings {
  const raw = env.FLYWHEEL_ARTIFACT_SWEEP?.trim();
  const cron = !raw ? DEFAULT_ARTIFACT_SWEEP_CRON : /^(off|none|false|0)$/i.test(raw) ? false : raw;
  if (cron !== false && cron.split(/\s+/).length < 5) throw new Error(`FLYWHEEL_ARTIFACT_SWEEP="${raw}": use a cron expression (e.g. "${DEFAULT_ARTIFACT_SWEEP_CRON}") or off`);
  const graceText = env.FLYWHEEL_ARTIFACT_SWEEP_GRACE?.trim();
  const graceMs = graceText ? parseDurationMs(graceText) : DEFAULT_SWEEP_GRACE_MS;
  if (graceMs === null) throw new Error(`FLYWHEEL_ARTIFACT_SWEEP_GRACE="${graceText}": use a positive number and a unit s, m, h or d, e.g. "1h"`);
  return { cron, graceMs };
}

/** The Schedule the sweep should have. */
export function desiredSweepSchedule(settings: SweepScheduleSettings & { cron: string }): ScheduleOptions {
  const input: ArtifactSweepInput = { olderThanMs: settings.graceMs };
  return {
    scheduleId: ARTIFACT_SWEEP_SCHEDULE_ID,
    spec: { cronExpressions: [settings.cron] },
    action: {
      type: 'startWorkflow',
      workflowType: 'artifactSweepWorkflow',
      taskQueue: ORCHESTRATION_QUEUE,
      // Temporal appends the scheduled time: artifact-sweep/scheduled-<time>.
      workflowId: 'artifact-sweep/scheduled',
      args: [input],
      staticSummary: `remove the scratch of runs finished over ${Math.round(settings.graceMs / 60_000)} min ago`,
    },
    // A sweep still running when the next is due: skip the next one.
    policies: { overlap: 'SKIP', catchupWindow: 3_600_000, pauseOnFailure: false },
    state: { note: `artifact sweep (${settings.cron}); FLYWHEEL_ARTIFACT_SWEEP=off removes it` },
  };
}

/** Makes the `artifact-sweep` Schedule match the settings. */
export async function reconcileSweepSchedule(client: Client, settings: SweepScheduleSettings = sweepScheduleSettings()): Promise<SweepScheduleOutcome> {
  const handle = client.schedule.getHandle(ARTIFACT_SWEEP_SCHEDULE_ID);
  let existingHash: string | null = null;
  try {
    existingHash = String((await handle.describe()).memo?.[HASH_MEMO_KEY] ?? '');
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
  }
  if (settings.cron === false) {
    if (existingHash === null) return 'none';
    await handle.delete();
    return 'removed';
  }
  const hash = createHash('sha256').update(JSON.stringify(settings)).digest('hex');
  if (existingHash === hash) return 'unchanged';
  const options = { ...desiredSweepSchedule({ ...settings, cron: settings.cron }), memo: { [HASH_MEMO_KEY]: hash } };
  if (existingHash !== null) await handle.delete();
  try {
    await client.schedule.create(options);
  } catch (error) {
    // Another process applying a spec at the same moment created it first: same settings, nothing to do.
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  return existingHash === null ? 'created' : 'updated';
}

const reconciled = new WeakMap<Client, Promise<SweepScheduleOutcome>>();

/** reconcileSweepSchedule once per client (the models' reconcile calls this on every apply). */
export function ensureSweepSchedule(client: Client): Promise<SweepScheduleOutcome> {
  let pending = reconciled.get(client);
  if (!pending) {
    pending = reconcileSweepSchedule(client);
    reconciled.set(client, pending);
    // A failure is retried on the next apply.
    pending.catch(() => reconciled.delete(client));
  }
  return pending;
}
