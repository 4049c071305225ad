import type { Kysely } from 'kysely';

// Landed migrations never change; add a new timestamped file instead.
export async function up(db: Kysely<unknown>): Promise<void> {
  // Per-app build settings: the Dockerfile to build (null: the root one or a detected strategy),
  // base images for generated Dockerfiles (JSON object), and where the app's volume is mounted.
  await db.schema.alterTable('apps').addColumn('dockerfile_path', 'text').execute();
  await db.schema.alterTable('apps').addColumn('build_images', 'text').execute();
  await db.schema.alterTable('apps').addColumn('volume_path', 'text').execute();
  // The Procfile's process types of a release (JSON object), so restarts and rollbacks run the
  // same processes without reading the source again.
  await db.schema.alterTable('releases').addColumn('processes', 'text').execute();
  // Explicit scale per process type; a type without a row runs one container.
  await db.schema
    .createTable('formation')
    .addColumn('app', 'text', (c) => c.notNull().references('apps.name').onDelete('cascade'))
    .addColumn('process', 'text', (c) => c.notNull())
    .addColumn('quantity', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('formation_pk', ['app', 'process'])
    .execute();
}
