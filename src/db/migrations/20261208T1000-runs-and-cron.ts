import { type Kysely, sql } from 'kysely';

// Landed migrations never change; add a new timestamped file instead.
export async function up(db: Kysely<unknown>): Promise<void> {
  // app.json's scheduled jobs of a release, as JSON: a rollback brings back the jobs of its image.
  await db.schema.alterTable('releases').addColumn('cron', 'text').execute();

  // One-off runs, console sessions and cron runs (and the skipped and missed cron times): the
  // audit of who ran what, and each cron job's history. Bounded per app (src/runs/repo.ts).
  await db.schema
    .createTable('runs')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('app', 'text', (c) => c.notNull().references('apps.name').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('run','console','cron')`))
    .addColumn('process', 'text', (c) => c.notNull())
    .addColumn('job', 'text')
    .addColumn('command', 'text', (c) => c.notNull())
    .addColumn('by', 'text', (c) => c.notNull())
    .addColumn('token_id', 'integer')
    .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('tty','pipe','detached')`))
    .addColumn('release', 'integer')
    .addColumn('container', 'text')
    .addColumn('scheduled_at', 'text')
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('running','exited','failed','interrupted','skipped','missed')`))
    .addColumn('exit_code', 'integer')
    .addColumn('reason', 'text')
    .addColumn('output', 'text')
    .execute();
  await db.schema.createIndex('runs_app_id').on('runs').columns(['app', 'id']).execute();
  await db.schema.createIndex('runs_app_job_id').on('runs').columns(['app', 'job', 'id']).execute();
  await db.schema.createIndex('runs_status').on('runs').column('status').execute();

  // The last time the scheduler accounted for each job (ran or skipped it, or registered it): the
  // times between this and a start of hiy were missed while it was down.
  await db.schema
    .createTable('cron_state')
    .addColumn('app', 'text', (c) => c.notNull().references('apps.name').onDelete('cascade'))
    .addColumn('job', 'text', (c) => c.notNull())
    .addColumn('checked_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('cron_state_pk', ['app', 'job'])
    .execute();
}
