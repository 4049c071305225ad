import { type Kysely, sql } from 'kysely';

// Landed migrations never change; add a new timestamped file instead.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('app_logs')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('app', 'text', (c) => c.notNull().references('apps.name').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('ts', 'text', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('process', 'text', (c) => c.notNull())
    .addColumn('deploy_id', 'integer')
    .addColumn('container', 'text', (c) => c.notNull())
    .addColumn('line', 'text', (c) => c.notNull())
    .execute();
  // The ring buffer trims by seq range per app, the tail reads backwards by seq: one index for both.
  await db.schema.createIndex('app_logs_app_seq').on('app_logs').columns(['app', 'seq']).unique().execute();

  await db.schema
    .createTable('log_cursors')
    .addColumn('container', 'text', (c) => c.primaryKey())
    .addColumn('app', 'text', (c) => c.notNull().references('apps.name').onDelete('cascade'))
    .addColumn('last_ts', 'text', (c) => c.notNull())
    .addColumn('same_ts', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('log_cursors_app').on('log_cursors').column('app').execute();

  await db.schema
    .createTable('app_metrics')
    .addColumn('app', 'text', (c) => c.notNull().references('apps.name').onDelete('cascade'))
    .addColumn('res', 'integer', (c) => c.notNull())
    .addColumn('t', 'integer', (c) => c.notNull())
    .addColumn('cpu_pct', 'real', (c) => c.notNull())
    .addColumn('memory_bytes', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('app_metrics_app_res_t').on('app_metrics').columns(['app', 'res', 't']).execute();
  await db.schema.createIndex('app_metrics_res_t').on('app_metrics').columns(['res', 't']).execute();

  await db.schema
    .createTable('host_metrics')
    .addColumn('res', 'integer', (c) => c.notNull())
    .addColumn('t', 'integer', (c) => c.notNull())
    .addColumn('cpu_pct', 'real', (c) => c.notNull())
    .addColumn('memory_used', 'integer', (c) => c.notNull())
    .addColumn('memory_total', 'integer', (c) => c.notNull())
    .addColumn('disk_used', 'integer', (c) => c.notNull())
    .addColumn('disk_total', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('host_metrics_res_t').on('host_metrics').columns(['res', 't']).execute();

  await db.schema
    .createTable('alerts')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('app', 'text')
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('resolved_at', 'text')
    .addColumn('resolved_message', 'text')
    .addColumn('notified_at', 'text')
    .addColumn('resolved_notified_at', 'text')
    .addColumn('notify_error', 'text')
    .execute();
  // One open incident per key, whatever races: a second "open" for the same key is refused.
  await sql`create unique index alerts_open_key on alerts (key) where resolved_at is null`.execute(db);
}
