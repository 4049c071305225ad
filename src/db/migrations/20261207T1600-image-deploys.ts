import { type Kysely, sql } from 'kysely';

// Landed migrations never change; add a new timestamped file instead.
// Image deploys (issue #20): where an app's releases come from, what each deploy and release ran,
// and registry logins for pulls.
export async function up(db: Kysely<unknown>): Promise<void> {
  // 'git', or 'image:<repository>' with the tag to follow in image_tag.
  await db.schema.alterTable('apps').addColumn('source', 'text', (c) => c.notNull().defaultTo('git')).execute();
  await db.schema.alterTable('apps').addColumn('image_tag', 'text').execute();
  // The image reference a deploy was asked to run, and the one a release came from (null: a git build).
  await db.schema.alterTable('deploys').addColumn('image_ref', 'text').execute();
  await db.schema.alterTable('releases').addColumn('image_ref', 'text').execute();

  await db.schema
    .createTable('registry_logins')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('app', 'text', (c) => c.references('apps.name').onDelete('cascade'))
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('secret_enc', 'blob', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  // One login per host for every app, and one per host and app.
  await sql`create unique index registry_logins_scope on registry_logins (host, coalesce(app, ''))`.execute(db);
}
