import type { Kysely } from 'kysely';

// Landed migrations never change; add a new timestamped file instead.
export async function up(db: Kysely<unknown>): Promise<void> {
  // The health path Caddy actively checks for the app (null: passive checks only). Set by a deploy
  // from what the release answered: 2xx/3xx → active, 4xx → passive (Caddy 2.6 cannot accept 4xx).
  await db.schema.alterTable('apps').addColumn('proxy_health_path', 'text').execute();
}
