// Serving and staged rollout: the routing columns on deployments (experiment salt, arm, rollout,
// why a row ended), the per-model routing revision that a trigger bumps and announces with
// NOTIFY on every deployments change, the audit log of routing changes, and one row per rollout.
import { type Kysely, sql } from 'kysely';

/** The LISTEN/NOTIFY channel prediction servers follow; the payload is {"model", "revision"}. */
export const ROUTING_CHANNEL = 'flywheel_routing';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('deployments')
    // The rollout that wrote the row (a workflow id such as rollout/ctr/ctr@v2); null for direct promotions.
    .addColumn('rollout_id', 'text')
    // A/B and interleaving arm label ("control"/"treatment", "A"/"B"); null for other modes.
    .addColumn('arm', 'text')
    // Hash salt of sticky assignment: the same salt across canary steps keeps units where they were.
    .addColumn('salt', 'text')
    // Why the row stopped serving (promotion, a guardrail breach, an operator's rollback).
    .addColumn('end_reason', 'text')
    .execute();
  // Routing invariants beside the one-champion index of 0001: they stop two rollouts of one model
  // from writing conflicting routes.
  await sql`create unique index deployments_one_canary on deployments (model_name) where mode = 'canary' and ended_at is null`.execute(db);
  await sql`create unique index deployments_one_shadow_per_version on deployments (model_name, version_id) where mode = 'shadow' and ended_at is null`.execute(db);
  await sql`create unique index deployments_one_arm on deployments (model_name, mode, arm) where mode in ('ab', 'interleaving') and ended_at is null`.execute(db);
  await sql`create index deployments_model_time on deployments (model_name, started_at)`.execute(db);

  await db.schema
    .createTable('routing_state')
    .addColumn('model_name', 'text', (c) => c.primaryKey().references('models.name'))
    // Bumped by the trigger below on every deployments insert or update: servers report it and
    // reload when it moves.
    .addColumn('revision', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`insert into routing_state (model_name, revision) select distinct model_name, 1 from deployments`.execute(db);

  // A trigger rather than application code, so every writer (promotion in the retrain DAG, a
  // rollout, an operator's rollback, a hand-written SQL fix) moves the revision and wakes servers.
  await sql`
    create or replace function flywheel_routing_changed() returns trigger language plpgsql as $$
    declare
      rev bigint;
    begin
      insert into routing_state (model_name, revision, updated_at) values (new.model_name, 1, now())
      on conflict (model_name) do update set revision = routing_state.revision + 1, updated_at = now()
      returning revision into rev;
      perform pg_notify(${sql.lit(ROUTING_CHANNEL)}, json_build_object('model', new.model_name, 'revision', rev)::text);
      return new;
    end
    $$`.execute(db);
  await sql`create trigger deployments_routing_changed after insert or update on deployments for each row execute function flywheel_routing_changed()`.execute(db);

  await db.schema
    .createTable('routing_changes')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('model_name', 'text', (c) => c.notNull().references('models.name'))
    // Deterministic per step (e.g. "rollout/ctr/ctr@v2:canary:1"): a retried activity finds its own change.
    .addColumn('change_key', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('rollout_id', 'text')
    .addColumn('revision', 'bigint', (c) => c.notNull())
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('routing_changes_model_time').on('routing_changes').columns(['model_name', 'created_at']).execute();

  await db.schema
    .createTable('rollouts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('model_name', 'text', (c) => c.notNull().references('models.name'))
    .addColumn('candidate_version_id', 'text', (c) => c.notNull().references('model_versions.id'))
    .addColumn('champion_version_id', 'text', (c) => c.references('model_versions.id'))
    .addColumn('pipeline_run_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('running','promoted','rolled_back','aborted','kept_champion','superseded','failed')`))
    .addColumn('phase', 'text')
    .addColumn('reason', 'text')
    .addColumn('plan', 'jsonb', (c) => c.notNull())
    .addColumn('summary', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('rollouts_model').on('rollouts').columns(['model_name', 'started_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('rollouts').ifExists().execute();
  await db.schema.dropTable('routing_changes').ifExists().execute();
  await sql`drop trigger if exists deployments_routing_changed on deployments`.execute(db);
  await sql`drop function if exists flywheel_routing_changed()`.execute(db);
  await db.schema.dropTable('routing_state').ifExists().execute();
  for (const index of ['deployments_model_time', 'deployments_one_arm', 'deployments_one_shadow_per_version', 'deployments_one_canary']) {
    await sql`drop index if exists ${sql.id(index)}`.execute(db);
  }
  for (const column of ['end_reason', 'salt', 'arm', 'rollout_id']) await db.schema.alterTable('deployments').dropColumn(column).execute();
}
