// Turns any error into the one line a user should read: the problem and, where known, the fix.
// Stack traces stay out of the CLI's output.
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';

function rootCause(error: Error): Error {
  let current = error;
  while (current.cause instanceof Error) current = current.cause;
  return current;
}

export function describeError(error: unknown): string {
  if (error instanceof WorkflowFailedError) {
    const activity = error.cause instanceof ActivityFailure ? error.cause : undefined;
    const root = error.cause ? rootCause(error.cause) : error;
    const where = activity?.activityType ? ` in ${activity.activityType}` : '';
    const kind = root instanceof ApplicationFailure && root.type ? ` [${root.type}]` : '';
    return `workflow ${error.message.includes('cancel') ? 'cancelled' : 'failed'}${where}${kind}: ${root.message}`;
  }
  if (error instanceof Error) return error.message.split('\n')[0];
  return String(error);
}
