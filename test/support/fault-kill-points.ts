// Kill points for the fault suite's worker (test/support/fault-worker-main.ts): an activity
// interceptor that makes a planned kill land INSIDE a chosen DAG step, whatever its duration (the
// labels step of a model without a label rule takes milliseconds; polling pipeline_runs cannot hit
// it). The runner (test/reliability/worker-kills.test.ts) writes the plan, a JSON array of
// KillPoint, to the file FAULT_KILL_PLAN names and rewrites it as kills fire. When an activity of
// a planned (workflow, activity type) starts, the interceptor lets it run for the planned offset —
// or until its work is done, whichever comes first — then prints `fault point {json}` on stdout and
// holds the activity's completion: the runner SIGKILLs the process at that moment, so Temporal
// never hears the attempt end and retries it on the next worker. Only when nobody kills it (the
// runner went away) does it give up after HOLD_LIMIT_MS and complete normally.
// Test-only: nothing here runs in production; what runs (activities, arguments, results) is
// unchanged, only the moment the worker dies is chosen.
import { readFileSync } from 'node:fs';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, ActivityInterceptorsFactory, Next } from '@temporalio/worker';

export interface KillPoint {
  /** Unique id of the planned kill. */
  id: string;
  /** The activity's workflow id, exactly, or (ending in "/") a prefix of it (a rollout child: rollout/<model>/). */
  workflow: string;
  activityType: string;
  /** How long the activity runs before the kill (capped by the activity's own duration). */
  offsetMs: number;
}

/** What the worker prints when an activity reaches its kill point. */
export interface FaultPointReport {
  id: string;
  pid: number;
  workflowId: string;
  activityType: string;
  activityId: string;
  attempt: number;
  /** True if the activity's work had finished (its result not yet reported) when the kill point came. */
  workDone: boolean;
  /** Milliseconds the activity had run. */
  ranMs: number;
}

export const FAULT_POINT_PREFIX = 'fault point ';
const HOLD_LIMIT_MS = 20_000;

function readPlan(file: string): KillPoint[] {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as KillPoint[];
  } catch {
    return []; // being rewritten: no kill point this time
  }
}

const matches = (point: KillPoint, workflowId: string, activityType: string) =>
  point.activityType === activityType && (point.workflow.endsWith('/') ? workflowId.startsWith(point.workflow) : workflowId === point.workflow);

/** The interceptor factory for Worker.create({ interceptors: { activity: [killPoints(file)] } }). */
export function killPoints(planFile: string): ActivityInterceptorsFactory {
  return (ctx) => {
    const inbound: ActivityInboundCallsInterceptor = {
      async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>) {
        const { workflowExecution, activityType, activityId, attempt } = ctx.info;
        const workflowId = workflowExecution?.workflowId ?? '';
        const point = readPlan(planFile).find((p) => matches(p, workflowId, activityType));
        if (!point) return next(input);
        const started = Date.now();
        const work = next(input);
        let workDone = false;
        const settled = work.then(
          () => (workDone = true),
          () => (workDone = true),
        );
        await Promise.race([settled, new Promise((r) => setTimeout(r, point.offsetMs))]);
        const report: FaultPointReport = { id: point.id, pid: process.pid, workflowId, activityType, activityId, attempt, workDone, ranMs: Date.now() - started };
        process.stdout.write(`${FAULT_POINT_PREFIX}${JSON.stringify(report)}\n`);
        // Hold the completion until the SIGKILL arrives.
        await new Promise((r) => setTimeout(r, HOLD_LIMIT_MS));
        process.stdout.write(`fault point ${point.id} expired: nobody killed pid ${process.pid}\n`);
        return work;
      },
    };
    return { inbound };
  };
}
