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
