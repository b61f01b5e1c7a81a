// Starts and stops a real Temporal dev server (`temporal server start-dev`) with Flywheel's search
// attributes registered. Used by the demo, `flywheel dev` and the test setup.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ALL_SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTE_CLI_TYPES } from '../workflows/search-attributes';
import { freePort } from './ports';
import { findTemporalCli } from './temporal-cli';

export interface DevServerOptions {
  /** gRPC frontend port; 0 picks a free one. Default 0. */
  port?: number;
  /** Web UI port; 0 picks a free one; false disables the UI. Default: port + 1000 when free, else any. */
  uiPort?: number | false;
  ip?: string;
  namespace?: string;
  /** SQLite file so workflows survive a server restart; omitted = in-memory. */
  dbFilename?: string;
  /** Where the server's stdout/stderr go; omitted = discarded. */
  logFile?: string;
  startTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  pid?: number;
  binary: string;
  stop(): Promise<void>;
}

async function waitUntilServing(address: string, namespace: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`temporal dev server exited with code ${child.exitCode} during start-up`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        // The namespace and search attributes are registered once this answers.
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`temporal dev server at ${address} not ready after ${timeoutMs} ms: ${String(lastError)}`);
}

function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  const port = options.port || (await freePort(ip));
  const uiPort = options.uiPort === false ? undefined : options.uiPort || (await freePort(ip));
  const cli = findTemporalCli();
  if (!cli) {
    return startWithSdkDownload({ ip, namespace, port, uiPort, dbFilename: options.dbFilename });
  }
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--log-level', 'warn', '--namespace', namespace];
  if (uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(uiPort), '--ui-disable-news-fetch');
  if (options.dbFilename) {
    mkdirSync(path.dirname(options.dbFilename), { recursive: true });
    args.push('--db-filename', options.dbFilename);
  }
  for (const [key, type] of Object.entries(SEARCH_ATTRIBUTE_CLI_TYPES)) args.push('--search-attribute', `${key}=${type}`);

  let stdio: 'ignore' | number = 'ignore';
  if (options.logFile) {
    mkdirSync(path.dirname(options.logFile), { recursive: true });
    stdio = openSync(options.logFile, 'a');
  }
  const child = spawn(cli.path, args, { stdio: ['ignore', stdio, stdio] });
  const address = `${ip}:${port}`;
  try {
    await waitUntilServing(address, namespace, child, options.startTimeoutMs ?? 60_000);
  } catch (error) {
    await stopProcess(child, 2_000);
    throw error;
  }
  return {
    address,
    namespace,
    uiUrl: uiPort === undefined ? undefined : `http://${ip}:${uiPort}`,
    pid: child.pid,
    binary: cli.path,
    stop: () => stopProcess(child),
  };
}

/** Last resort when no CLI binary is installed: the SDK downloads one (works online only). */
async function startWithSdkDownload(o: { ip: string; namespace: string; port: number; uiPort?: number; dbFilename?: string }): Promise<DevServer> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: o.ip,
      port: o.port,
      namespace: o.namespace,
      ui: o.uiPort !== undefined,
      uiPort: o.uiPort,
      dbFilename: o.dbFilename,
      searchAttributes: ALL_SEARCH_ATTRIBUTES,
    },
  });
  return {
    address: `${o.ip}:${o.port}`,
    namespace: o.namespace,
    uiUrl: o.uiPort === undefined ? undefined : `http://${o.ip}:${o.uiPort}`,
    binary: 'sdk-download',
    stop: () => env.teardown(),
  };
}
