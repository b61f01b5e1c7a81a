// A process holding a lineage-database connection checked out of the pool (inside a transaction,
// between two statements) when the server terminates it — as a Postgres restart or failover does to
// a worker or the prediction server mid-transaction. It must survive: the next statement fails with
// an error the caller handles, and the process goes on. Prints "backend <pid>", waits for "go" on
// stdin (the test terminates that backend meanwhile), then "survived: <error>" and exits 0.
// Env: DATABASE_URL.
import { sql } from 'kysely';
import { openLineageDb } from '../../lineage/db';

async function main(): Promise<void> {
  const lineage = await openLineageDb({ url: process.env.DATABASE_URL, migrate: false, poolSize: 2 });
  let outcome = 'the second statement succeeded';
  try {
    await lineage.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
      process.stdout.write(`backend ${rows[0].pid}\n`);
      await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
      process.stdin.destroy();
      // Give the termination notice time to arrive on the idle, checked-out connection.
      await new Promise((r) => setTimeout(r, 500));
      await sql`select 1`.execute(trx);
    });
  } catch (error) {
    outcome = (error as Error).message;
  }
  // The pool recovers: a fresh connection answers.
  await sql`select 1`.execute(lineage.db);
  process.stdout.write(`survived: ${outcome}\n`);
  await lineage.close();
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(2);
});
