// Heartbeats from the data activities. Long pulls, validations and dataset formations report
// progress so Temporal's heartbeat timeout tells a dead worker from a busy one; outside an activity
// (scripts, tests, the bench) there is nothing to report to and the call does nothing.
import { Context } from '@temporalio/activity';

export function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    /* not in an activity */
  }
}

/**
 * Wraps activities that report no progress of their own (evaluation, registration, reports…) so
 * they heartbeat on a timer while they run: the workflow's heartbeat timeout then tells a dead
 * worker from a long evaluation on a big window, instead of timing such an attempt out and
 * retrying it. Only for activities that never heartbeat themselves — a timer beat would replace the
 * resume details of one that does.
 */
export function heartbeatWhileRunning<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T, everyMs = 10_000): T {
  const wrapped: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      const timer = setInterval(() => heartbeat({ alive: name }), everyMs);
      try {
        return await fn(...args);
      } finally {
        clearInterval(timer);
      }
    };
  }
  return wrapped as T;
}
