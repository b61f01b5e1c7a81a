// How long a stopping worker lets in-flight tasks finish. On SIGINT/SIGTERM the SDK stops polling
// at once, then waits this long for running activities (a training run, an upload) to complete
// before it cancels them; a cancelled training attempt is retried from its last checkpoint.
// The SDK's own default is 0 (cancel at once), so Flywheel sets one.

/** Default grace period: 30 s lets a short activity finish and a typical upload complete. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;
/**
 * After the grace period the SDK cancels what is still running; a training activity then stops its
 * trainer (SIGTERM, SIGKILL 5 s later) and reports. If shutdown is still not done this much later,
 * the worker gives up (GracefulShutdownPeriodExpiredError) so the process always ends.
 */
export const SHUTDOWN_FORCE_MARGIN_MS = 30_000;
export const SHUTDOWN_GRACE_ENV = 'FLYWHEEL_WORKER_SHUTDOWN_GRACE';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a grace period: a number of seconds (`30`, `2.5`) or a number with a unit (`500ms`,
 * `30s`, `2m`, `1h`). Unset or empty → the default. Errors name the variable and the fix.
 */
export function parseShutdownGrace(value: string | undefined, name = SHUTDOWN_GRACE_ENV): number {
  if (value === undefined || value.trim() === '') return DEFAULT_SHUTDOWN_GRACE_MS;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!match) throw new Error(`${name}="${value}" is not a duration; give seconds (30) or a number with ms, s, m or h (30s, 2m)`);
  const ms = Number(match[1]) * UNIT_MS[match[2] ?? 's'];
  return Math.round(ms);
}
