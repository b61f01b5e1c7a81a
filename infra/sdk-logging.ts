// Sets how chatty the Temporal SDK's own logger is in this process (worker state changes,
// activity failures). Must run before the first worker or connection is created.
import { DefaultLogger, type LogLevel, Runtime } from '@temporalio/worker';

let installed = false;

export function installSdkLogging(level: LogLevel = (process.env.FLYWHEEL_SDK_LOG_LEVEL as LogLevel) ?? 'WARN'): void {
  if (installed) return;
  installed = true;
  try {
    Runtime.install({ logger: new DefaultLogger(level) });
  } catch {
    // A runtime already exists (another component created it first); keep its logger.
  }
}
