// Workflow interceptor bundled ONLY into the fault suite's worker processes: it shortens the
// heartbeat timeout of every activity the (unchanged) production workflow code schedules, so an
// attempt on a worker killed with -9 is retried within seconds instead of after the production
// 2-minute heartbeat timeout. Nothing else changes: same workflow code, same activity types,
// arguments, retry policies and start-to-close timeouts. Workflow sandbox code: no I/O, no env.
import { msToNumber } from '@temporalio/common/lib/time';
import type { ActivityInput, Next, WorkflowInterceptorsFactory, WorkflowOutboundCallsInterceptor } from '@temporalio/workflow';

/** Activities that do not heartbeat (most light ones) must finish within this on the fault worker. */
export const FAULT_LIGHT_HEARTBEAT_MS = 4_000;
/** Training heartbeats every 300 ms on the fault worker (test/support/fault-worker-main.ts). */
export const FAULT_TRAINING_HEARTBEAT_MS = 4_000;

function shorter(current: ActivityInput['options']['heartbeatTimeout'], limitMs: number): number {
  return current === undefined ? limitMs : Math.min(msToNumber(current), limitMs);
}

export const interceptors: WorkflowInterceptorsFactory = () => {
  const outbound: WorkflowOutboundCallsInterceptor = {
    scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>) {
      const limit = input.options.taskQueue === 'flywheel-training' ? FAULT_TRAINING_HEARTBEAT_MS : FAULT_LIGHT_HEARTBEAT_MS;
      return next({ ...input, options: { ...input.options, heartbeatTimeout: shorter(input.options.heartbeatTimeout, limit) } });
    },
  };
  return { outbound: [outbound] };
};
