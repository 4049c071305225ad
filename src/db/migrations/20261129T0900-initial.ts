import { type Kysely, sql } from 'kysely';

// Landed migrations never change; add a new timestamped file instead.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('apps')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('repo_url', 'text')
    .addColumn('branch', 'text', (c) => c.notNull().defaultTo('main'))
    .addColumn('port', 'integer', (c) => c.notNull().defaultTo(5000))
    .addColumn('memory_mb', 'integer', (c) => c.notNull().defaultTo(512))
    .addColumn('cpus', 'real', (c) => c.notNull().defaultTo(0.5))
    .addColumn('health_path', 'text', (c) => c.notNull().defaultTo('/'))
    .addColumn('health_timeout_s', 'integer', (c) => c.notNull().defaultTo(60))
    .addColumn('drain_s', 'integer', (c) => c.notNull().defaultTo(10))
    .addColumn('slot_index', 'integer', (c) => c.notNull().unique())
    .addColumn('current_release_id', 'integer')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('deploys')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('app', 'text', (c) => c.notNull().references('apps.name').onDelete('cascade'))
    .addColumn('sha', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('queued','building','success','failed','superseded')`))
    .addColumn('triggered_by', 'text', (c) => c.notNull().check(sql`triggered_by in ('git','webhook','manual','cli','rollback')`))
    .addColumn('log', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('error', 'text')
    .addColumn('rollback_to', 'integer')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text')
    .addColumn('finished_at', 'text')
    .execute();
  await db.schema.createIndex('deploys_app_id').on('deploys').columns(['app', 'id']).execute();
  await db.schema.createIndex('deploys_status').on('deploys').column('status').execute();

  await db.schema
    .createTable('releases')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('app', 'text', (c) => c.notNull().references('apps.name').onDelete('cascade'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('deploy_id', 'integer', (c) => c.notNull())
    .addColumn('sha', 'text', (c) => c.notNull())
    .addColumn('image', 'text', (c) => c.notNull())
    .addColumn('slot', 'text', (c) => c.notNull().check(sql`slot in ('a','b')`))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('releases_app_version', ['app', 'version'])
    .execute();

  await db.schema
    .createTable('env_vars')
    .addColumn('app', 'text', (c) => c.notNull().references('apps.name').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value_enc', 'blob', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('env_vars_pk', ['app', 'key'])
    .execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_used_at', 'text')
    .addColumn('revoked_at', 'text')
    .execute();
}
