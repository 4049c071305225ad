import type { Kysely } from 'kysely';

// Landed migrations never change; add a new timestamped file instead.
export async function up(db: Kysely<unknown>): Promise<void> {
  // Custom hostnames an app answers on besides <app>.<domain>; a host belongs to one app only.
  await db.schema
    .createTable('domains')
    .addColumn('host', 'text', (c) => c.primaryKey())
    .addColumn('app', 'text', (c) => c.notNull().references('apps.name').onDelete('cascade'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('domains_app').on('domains').column('app').execute();
}
