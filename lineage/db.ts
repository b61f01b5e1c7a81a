// Opens the lineage database: a pg Pool when DATABASE_URL is set, else embedded PGlite in the
// project's data folder. Both run the same migrations; errors name the database and the fix.
import path from 'node:path';
import { Kysely, Migrator, PostgresDialect, type Dialect } from 'kysely';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { dataDir } from '../infra/repo-root';
import { migrations } from './migrations';
import { lockPgliteDir } from './pglite-lock';
import type { Database } from './schema';

export interface LineageDb {
  db: Kysely<Database>;
  kind: 'postgres' | 'pglite';
  /** The database location without credentials, for messages. */
  location: string;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** postgres://… ; default process.env.DATABASE_URL; unset → PGlite. */
  url?: string;
  /** PGlite directory (or memory://); default <data dir>/pglite. */
  pgliteDir?: string;
  /** Run migrations on open. Default true. */
  migrate?: boolean;
  poolSize?: number;
}

export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
}

/** Removes the password so a URL can appear in logs and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable DATABASE_URL>';
  }
}

// int8 (counts, bigserial ids) would otherwise come back as strings; our counts fit in a double.
const pgTypes = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text'),
};

function explainConnectError(error: unknown, location: string): DatabaseUnavailableError {
  const e = error as { code?: string; message?: string };
  const reason =
    e.code === '3D000'
      ? `${e.message} — create it (createdb) or fix DATABASE_URL`
      : e.code === 'ECONNREFUSED'
        ? 'connection refused — is PostgreSQL running and listening there?'
        : e.code === '28P01' || e.code === '28000'
          ? `${e.message} — check the user and password in DATABASE_URL`
          : (e.message ?? String(error));
  return new DatabaseUnavailableError(`cannot open lineage database ${location}: ${reason}`);
}

async function postgresDialect(url: string, poolSize: number): Promise<Dialect> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, types: pgTypes, connectionTimeoutMillis: 10_000 });
  // A pool error on an idle client (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  // A checked-out client whose backend is terminated (server restart) emits 'error' on itself; with
  // no listener Node would crash the process. The query in flight fails and is retried instead.
  pool.on('connect', (client) => client.on('error', () => {}));
  // cursor enables Kysely's .stream(): big pulls read rows chunk by chunk instead of all at once.
  return new PostgresDialect({ pool, cursor: Cursor });
}

async function pgliteDialect(dir: string): Promise<{ dialect: Dialect; release: () => void }> {
  const release = lockPgliteDir(dir);
  try {
    const { KyselyPGlite } = await import('kysely-pglite');
    const kysely = await KyselyPGlite.create(dir);
    return { dialect: kysely.dialect, release };
  } catch (error) {
    release();
    throw error;
  }
}

export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  // Migrations are numbered by area (0001 core, 0002 production log, 0010 serving, 0020 training...);
  // a database created before a lower-numbered one existed must still take it.
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`lineage migration ${failed?.migrationName ?? '?'} failed: ${(error as Error).message ?? error}`);
  }
}

export async function openLineageDb(options: OpenOptions = {}): Promise<LineageDb> {
  const url = options.url ?? process.env.DATABASE_URL;
  const kind = url ? 'postgres' : 'pglite';
  const location = url ? redactUrl(url) : `pglite:${options.pgliteDir ?? path.join(dataDir(), 'pglite')}`;
  let db: Kysely<Database> | undefined;
  let release = () => {};
  const close = async () => {
    await db?.destroy().catch(() => {});
    release();
  };
  try {
    let dialect: Dialect;
    if (url) dialect = await postgresDialect(url, options.poolSize ?? 10);
    else ({ dialect, release } = await pgliteDialect(options.pgliteDir ?? path.join(dataDir(), 'pglite')));
    db = new Kysely<Database>({ dialect });
    await db.selectNoFrom((eb) => eb.val(1).as('ok')).execute();
  } catch (error) {
    await close();
    throw explainConnectError(error, location);
  }
  if (options.migrate !== false) {
    try {
      await migrateToLatest(db);
    } catch (error) {
      await close();
      throw error;
    }
  }
  return { db, kind, location, close };
}
