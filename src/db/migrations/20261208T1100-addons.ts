import { sql, type Kysely } from 'kysely';

// Landed migrations never change; add a new timestamped file instead.
export async function up(db: Kysely<unknown>): Promise<void> {
  // Data services (src/addons): the server's password is stored encrypted, like env var values.
  await db.schema
    .createTable('addons')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sqlKind()))
    .addColumn('image', 'text', (c) => c.notNull())
    .addColumn('memory_mb', 'integer', (c) => c.notNull())
    .addColumn('password_enc', 'blob', (c) => c.notNull())
    .addColumn('version', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  // One attachment per add-on and app; one variable name per app. An app's destroy takes its
  // attachments with it; an add-on is destroyed only once detached (the service refuses before).
  await db.schema
    .createTable('addon_attachments')
    .addColumn('addon', 'text', (c) => c.notNull().references('addons.name').onDelete('cascade'))
    .addColumn('app', 'text', (c) => c.notNull().references('apps.name').onDelete('cascade'))
    .addColumn('as_name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('addon_attachments_pk', ['addon', 'app'])
    .addUniqueConstraint('addon_attachments_app_as', ['app', 'as_name'])
    .execute();
  await db.schema.createIndex('addon_attachments_app').on('addon_attachments').column('app').execute();

  await db.schema
    .createTable('addon_metrics')
    .addColumn('addon', 'text', (c) => c.notNull().references('addons.name').onDelete('cascade'))
    .addColumn('res', 'integer', (c) => c.notNull())
    .addColumn('t', 'integer', (c) => c.notNull())
    .addColumn('cpu_pct', 'real', (c) => c.notNull())
    .addColumn('memory_bytes', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('addon_metrics_addon_res_t').on('addon_metrics').columns(['addon', 'res', 't']).execute();
  await db.schema.createIndex('addon_metrics_res_t').on('addon_metrics').columns(['res', 't']).execute();
}

function sqlKind() {
  return sql`kind in ('postgres', 'redis')`;
}
