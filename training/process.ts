// Runs a trainer as a child process in its own process group: relays its JSON-lines events, keeps
// the tail of its stderr for error messages, and kills the whole group on cancellation or timeout
// (SIGTERM, then SIGKILL after a grace period) so no stray data-loader process outlives it.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseTrainerEvent, type TrainerEvent } from './contract';

export interface TrainerProcessOptions {
  /** Program and arguments; no shell is involved. */
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs: number;
  /** Aborting kills the process group (activity cancellation). */
  signal?: AbortSignal;
  /** Time between SIGTERM and SIGKILL; default 5 s. */
  killGraceMs?: number;
  onEvent?: (event: TrainerEvent) => void;
  /** stdout lines that are not events (the trainer's own logging). */
  onLog?: (line: string) => void;
  /** How much of stderr to keep for error messages; default 4000 characters. */
  stderrTailChars?: number;
}

export interface TrainerProcessResult {
  outcome: 'exited' | 'timed_out' | 'cancelled';
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string;
  pid: number;
  wallMs: number;
}

export interface RunningTrainer {
  pid: number;
  done: Promise<TrainerProcessResult>;
}

export class TrainerSpawnError extends Error {
  override name = 'TrainerSpawnError';
}

/**
 * Starts the trainer. Its stdin stays open as a lifeline: if this process dies (a worker killed
 * with -9), the pipe closes and a well-behaved trainer exits instead of training as an orphan.
 */
export function startTrainerProcess(options: TrainerProcessOptions): RunningTrainer {
  const [program, ...args] = options.argv;
  if (!program) throw new TrainerSpawnError('trainer command is empty; give the program to run');
  const started = Date.now();
  const child = spawn(program, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const pid = child.pid;
  if (pid === undefined) {
    // spawn reports ENOENT/EACCES asynchronously; surface it synchronously with the command named.
    const error = new TrainerSpawnError(`trainer command "${program}" could not be started (not found or not executable); check trainer.command[0] and PATH`);
    child.on('error', () => {});
    throw error;
  }
  // Writes to a closed pipe must not crash the worker.
  child.stdin.on('error', () => {});
  const tailLimit = options.stderrTailChars ?? 4000;
  let stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-tailLimit);
  });
  const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
  lines.on('line', (line) => {
    const event = parseTrainerEvent(line);
    if (event) options.onEvent?.(event);
    else if (line.trim()) options.onLog?.(line);
  });

  let outcome: TrainerProcessResult['outcome'] = 'exited';
  let killTimer: NodeJS.Timeout | undefined;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  };
  const terminate = (why: TrainerProcessResult['outcome']) => {
    if (outcome !== 'exited') return;
    outcome = why;
    killGroup('SIGTERM');
    killTimer = setTimeout(() => killGroup('SIGKILL'), options.killGraceMs ?? 5000);
  };
  const timeout = setTimeout(() => terminate('timed_out'), options.timeoutMs);
  const onAbort = () => terminate('cancelled');
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  const done = new Promise<TrainerProcessResult>((resolve, reject) => {
    child.on('error', (error) => {
      clearTimeout(timeout);
      reject(new TrainerSpawnError(`trainer command "${program}" failed to start: ${error.message}; check trainer.command`));
    });
    child.on('exit', () => {
      // The leader is gone; anything it left in its group (workers, shells) goes with it.
      killGroup('SIGKILL');
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timeout);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      // Report only once the group is gone (its last members may still be being reaped), so a
      // caller that reports "cancelled" or "timed out" can rely on nothing running any more.
      void waitForGroupExit(pid, 3000).then(() => resolve({ outcome, exitCode, signal, stderrTail, pid, wallMs: Date.now() - started }));
    });
  });
  return { pid, done };
}

/** True while a process with this pid exists (signal 0 only checks). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForGroupExit(pgid: number, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (processAlive(-pgid) && Date.now() < deadline) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
