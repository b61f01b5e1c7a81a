// Starts and stops a real gcp-storage-emulator (PyPI) process so tests and the demo exercise the
// gs:// artifact store over HTTP exactly as they would against GCS.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './ports';
import { repoRoot } from './repo-root';

export interface GcsEmulatorOptions {
  /** 0 or omitted picks a free port. */
  port?: number;
  host?: string;
  /** Persist objects here (the emulator adds a .cloudstorage/ folder); omitted = in memory. */
  dataDir?: string;
  createBuckets?: string[];
  readyTimeoutMs?: number;
}

export interface GcsEmulator {
  /** e.g. http://127.0.0.1:9023; use as apiEndpoint or STORAGE_EMULATOR_HOST. */
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

const BIN = 'gcp-storage-emulator';

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** $GCS_EMULATOR_BIN, then the project's .tools/venv, then PATH. */
export function findGcsEmulatorBinary(): string {
  const fromEnv = process.env.GCS_EMULATOR_BIN;
  if (fromEnv) {
    if (isExecutable(fromEnv)) return fromEnv;
    throw new Error(`GCS_EMULATOR_BIN=${fromEnv} is not an executable file; unset it or run \`npm run setup\``);
  }
  const tried: string[] = [];
  try {
    const local = path.join(repoRoot(), '.tools', 'venv', 'bin', BIN);
    if (isExecutable(local)) return local;
    tried.push(local);
  } catch {
    // No repository around (e.g. a packaged install): PATH is the only place left.
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, BIN))) return path.join(dir, BIN);
  }
  tried.push('PATH');
  throw new Error(`${BIN} not found (looked at $GCS_EMULATOR_BIN, ${tried.join(', ')}); run \`npm run setup\` to install it`);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    // Negative pid: the whole group, in case the console script ever forks.
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function waitReady(endpoint: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (exited(child)) throw new Error(`${BIN} exited (code ${child.exitCode ?? child.signalCode}) during start-up:\n${output()}`);
    // A bind failure kills only the emulator's server thread; the process lives on and never
    // answers, so its traceback is the only sign.
    if (output().includes('Traceback')) throw new Error(`${BIN} failed during start-up on ${endpoint}:\n${output()}`);
    try {
      // GET / is the emulator's health check and answers "OK".
      const res = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${BIN} at ${endpoint} not ready after ${timeoutMs} ms (${last}):\n${output()}`);
}

async function createBucket(endpoint: string, name: string): Promise<void> {
  const res = await fetch(`${endpoint}/storage/v1/b?project=flywheel-local`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  // 409: it survived from an earlier run in the same dataDir.
  if (!res.ok && res.status !== 409) throw new Error(`${BIN}: creating bucket ${name} failed with HTTP ${res.status}: ${await res.text()}`);
}

function spawnEmulator(bin: string, host: string, port: number, dataDir: string | undefined): { child: ChildProcess; output: () => string } {
  // --data-dir belongs to the top-level parser, before "start"; it must be absolute.
  const args = dataDir ? ['--data-dir', dataDir, 'start'] : ['start', '--in-memory'];
  args.push('--host', host, '--port', String(port), '--quiet');
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  // Keep draining the pipes (a full pipe would block the emulator) but remember only the tail.
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => tail.trim() || '(no output)' };
}

function stopper(child: ChildProcess, onExit: () => void): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= new Promise<void>((resolve) => {
      process.off('exit', onExit);
      if (exited(child)) return resolve();
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      killGroup(child, 'SIGTERM');
    });
    return stopping;
  };
}

export async function startGcsEmulator(options: GcsEmulatorOptions = {}): Promise<GcsEmulator> {
  const host = options.host ?? '127.0.0.1';
  const bin = findGcsEmulatorBinary();
  const dataDir = options.dataDir === undefined ? undefined : path.resolve(options.dataDir);
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pickPort = !options.port;
  // The emulator cannot report a port it picked itself, so we pick one; another process may grab
  // it first, hence a few tries.
  for (let tryNo = 1; ; tryNo++) {
    const port = options.port || (await freePort(host));
    const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const { child, output } = spawnEmulator(bin, host, port, dataDir);
    // Detached children outlive a crashed test run; this at least covers a normal exit.
    const onExit = () => killGroup(child, 'SIGKILL');
    process.on('exit', onExit);
    const stop = stopper(child, onExit);
    try {
      await waitReady(endpoint, child, output, options.readyTimeoutMs ?? 20_000);
      for (const bucket of options.createBuckets ?? []) await createBucket(endpoint, bucket);
      return { endpoint, port, stop };
    } catch (error) {
      await stop();
      if (!pickPort || tryNo >= 3 || !/Address already in use/i.test(String(error))) throw error;
    }
  }
}
