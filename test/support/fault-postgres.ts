// PostgreSQL outages for the fault suite. 'restart': a real fast stop and start of the local
// cluster (`pg_ctlcluster 15 main`, as root): every connection of every process drops and new ones
// are refused until it is back — every other user of that server sees it too. 'database': the
// closest per-database equivalent, for shared machines: new connections to the test database
// refused and every existing one terminated; nobody else notices. The real restart is the default
// under `npm run test:reliability` (and with FLYWHEEL_FAULT_PG_MODE=restart) on the local server as
// root; a plain `npm test`, where other suites may be using the server, gets 'database'. Whatever
// happens, `ensurePostgresUp` (call it in a finally block) starts the server again and waits until
// it answers.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { adminUrl } from './postgres';

const CLUSTER = process.env.FLYWHEEL_FAULT_PG_CLUSTER ?? '15 main';

export type OutageMode = 'restart' | 'database';

/** Whether this process may stop and start the local cluster. */
function canRestart(): boolean {
  const local = /@(127\.0\.0\.1|localhost)(:5432)?\//.test(adminUrl());
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return local && root && existsSync('/usr/bin/pg_ctlcluster');
}

/** FLYWHEEL_FAULT_PG_MODE if set; else 'restart' under `npm run test:reliability` where allowed; else 'database'. */
export function outageMode(): OutageMode {
  const forced = process.env.FLYWHEEL_FAULT_PG_MODE;
  if (forced === 'restart' || forced === 'database') return forced;
  return process.env.npm_lifecycle_event === 'test:reliability' && canRestart() ? 'restart' : 'database';
}

function ctl(action: 'start' | 'stop' | 'restart'): void {
  const [version, name] = CLUSTER.split(' ');
  // Fast stop: open transactions roll back and clients are disconnected, as in a crash-restart.
  const args = action === 'start' ? ['--skip-systemctl-redirect', version, name, 'start'] : ['--skip-systemctl-redirect', '-m', 'fast', version, name, action];
  execFileSync('pg_ctlcluster', args, { stdio: 'pipe', timeout: 60_000 });
}

export async function postgresAnswers(url = adminUrl()): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function waitForPostgres(timeoutMs = 60_000, url = adminUrl()): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await postgresAnswers(url)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`PostgreSQL at ${url} did not answer within ${timeoutMs} ms`);
}

export interface Outage {
  mode: OutageMode;
  /** Brings the database back and waits until it answers. Idempotent. */
  end(): Promise<void>;
}

/** Takes the database away (the whole server in 'restart' mode) until end(). */
export async function beginOutage(database: string, mode = outageMode()): Promise<Outage> {
  if (mode === 'restart') {
    ctl('stop');
    let ended = false;
    return {
      mode,
      async end() {
        if (ended) return;
        ended = true;
        ctl('start');
        await waitForPostgres();
      },
    };
  }
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`alter database "${database}" with allow_connections false`);
  await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
  let ended = false;
  return {
    mode,
    async end() {
      if (ended) return;
      ended = true;
      try {
        await admin.query(`alter database "${database}" with allow_connections true`);
      } finally {
        await admin.end().catch(() => {});
      }
    },
  };
}

/** For finally blocks: whatever happened, the server runs and the test database takes connections. */
export async function ensurePostgresUp(database?: string): Promise<void> {
  if (!(await postgresAnswers())) {
    if (canRestart()) {
      try {
        ctl('start');
      } catch {
        // Already starting, or started by someone else meanwhile: waiting tells.
      }
    }
    await waitForPostgres();
  }
  if (database) {
    const admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
    try {
      await admin.query(`alter database "${database}" with allow_connections true`);
    } finally {
      await admin.end();
    }
  }
}
