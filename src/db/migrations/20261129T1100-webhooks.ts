import { type Kysely, sql } from 'kysely';

// Landed migrations never change; add a new timestamped file instead.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('app_git_secrets')
    .addColumn('app', 'text', (c) => c.primaryKey().references('apps.name').onDelete('cascade'))
    .addColumn('webhook_secret_enc', 'blob')
    .addColumn('repo_token_enc', 'blob')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('delivery_id', 'text')
    .addColumn('app', 'text', (c) => c.notNull().references('apps.name').onDelete('cascade'))
    .addColumn('event', 'text')
    .addColumn('ref', 'text')
    .addColumn('after_sha', 'text')
    .addColumn('counted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('received_at', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('deploy_id', 'integer')
    .execute();
  // A delivery id deploys at most once; rejected and duplicate records do not count, so a forged
  // request cannot reserve a delivery id before GitHub's real one arrives.
  await sql`create unique index webhook_deliveries_counted on webhook_deliveries (delivery_id) where counted = 1`.execute(db);
  await db.schema.createIndex('webhook_deliveries_app_id').on('webhook_deliveries').columns(['app', 'id']).execute();
}
