// Runs test/support/fault-worker-main.ts as a separate process so the fault suite can SIGKILL it
// (a real kill -9: no drain, no shutdown hooks, in-flight activities and workflow tasks lost) and
// start another. A warm standby process (modules loaded, connections open, not polling) is kept
// ready, so the replacement takes over in well under a second — as a supervisor restarting a
// container would, minus the image's start-up time. Also builds the workflow bundle they load, and
// hands the kill points the processes report (`fault point {json}`, test/support/fault-kill-points.ts)
// to a listener.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { FAULT_POINT_PREFIX, type FaultPointReport } from './fault-kill-points';

const REPO = path.join(__dirname, '..', '..');

/** The production workflow bundle plus the timeout-shortening interceptor, written to `file`. */
export async function buildFaultBundle(file: string): Promise<string> {
  const bundle = await bundleWorkflowCode({
    workflowsPath: path.join(REPO, 'workflows', 'index.ts'),
    workflowInterceptorModules: [path.join(__dirname, 'fault-timeouts-interceptor.ts')],
    logger: { log: () => {}, trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: (m: string) => console.error(m) },
  });
  writeFileSync(file, bundle.code);
  return file;
}

export interface KillRecord {
  pid: number;
  at: number;
}

interface Incarnation {
  child: ChildProcess;
  /** Resolves once the process printed `marker`; rejects if it exits first. */
  standby: Promise<void>;
}

function alive(child: ChildProcess | null | undefined): child is ChildProcess {
  return !!child && child.exitCode === null && child.signalCode === null;
}

export class FaultWorker {
  private active: ChildProcess | null = null;
  private spare: Incarnation | null = null;
  private readonly children = new Set<ChildProcess>();
  private readonly onExit = () => {
    for (const child of this.children) if (alive(child)) child.kill('SIGKILL');
  };
  /** stdout + stderr of every process, in order. */
  output = '';
  /** Pids of the processes that took over, in order. */
  readonly pids: number[] = [];
  readonly kills: KillRecord[] = [];
  /** Called for every kill point a process reports (see test/support/fault-kill-points.ts). */
  onFaultPoint: ((report: FaultPointReport) => void) | null = null;

  constructor(private readonly env: NodeJS.ProcessEnv, private readonly readyTimeoutMs = 90_000) {
    process.on('exit', this.onExit);
  }

  get pid(): number | undefined {
    return this.active?.pid;
  }

  get running(): boolean {
    return alive(this.active);
  }

  private spawnStandby(): Incarnation {
    const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(__dirname, 'fault-worker-main.ts')], {
      cwd: REPO,
      env: { ...process.env, ...this.env, FAULT_STANDBY: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.children.add(child);
    let seen = '';
    let partial = '';
    const standby = new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        this.output += text;
        seen += text;
        if (seen.includes('fault worker standby')) resolve();
        // Whole lines only: a report may arrive split across chunks.
        const lines = (partial + text).split('\n');
        partial = lines.pop()!;
        for (const line of lines) if (line.startsWith(FAULT_POINT_PREFIX)) this.onFaultPoint?.(JSON.parse(line.slice(FAULT_POINT_PREFIX.length)) as FaultPointReport);
      });
      child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
      child.once('exit', (code, signal) => {
        this.children.delete(child);
        this.output += `\n[fault worker pid ${child.pid} exited: ${code ?? signal}]\n`;
        reject(new Error(`fault worker pid ${child.pid} exited (${code ?? signal}) before it was ready:\n${this.output.slice(-3000)}`));
      });
    });
    standby.catch(() => {});
    return { child, standby };
  }

  /** Makes the standby (started now if there is none) the active worker; starts a new standby behind it. */
  async start(): Promise<number> {
    if (this.running) throw new Error('fault worker already running');
    const next = this.spare ?? this.spawnStandby();
    this.spare = null;
    await withTimeout(next.standby, this.readyTimeoutMs, 'fault worker standby');
    const ready = new Promise<void>((resolve, reject) => {
      let seen = '';
      next.child.stdout!.on('data', (chunk: Buffer) => {
        seen += chunk.toString('utf8');
        if (seen.includes('fault worker ready')) resolve();
      });
      next.child.once('exit', (code, signal) => reject(new Error(`fault worker exited (${code ?? signal}) while taking over:\n${this.output.slice(-3000)}`)));
    });
    next.child.stdin!.write('go\n');
    await withTimeout(ready, this.readyTimeoutMs, 'fault worker to take over');
    this.active = next.child;
    this.pids.push(next.child.pid!);
    this.spare = this.spawnStandby();
    return next.child.pid!;
  }

  /** kill -9 the active worker and wait until it is gone. */
  async kill(): Promise<KillRecord> {
    const child = this.active;
    if (!alive(child)) throw new Error('fault worker is not running');
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const record = { pid: child.pid!, at: Date.now() };
    child.kill('SIGKILL');
    await exited;
    this.active = null;
    this.kills.push(record);
    return record;
  }

  /** Graceful stop of the active worker (SIGTERM drains in-flight tasks, SIGKILL after the grace period); the standby is killed. */
  async stop(graceMs = 15_000): Promise<void> {
    const spare = this.spare?.child;
    this.spare = null;
    if (alive(spare)) {
      const gone = new Promise<void>((resolve) => spare.once('exit', () => resolve()));
      spare.kill('SIGKILL');
      await gone;
    }
    const child = this.active;
    if (alive(child)) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    this.active = null;
    process.off('exit', this.onExit);
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
