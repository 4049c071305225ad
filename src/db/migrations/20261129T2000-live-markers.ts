import type { Kysely } from 'kysely';

// Landed migrations never change; add a new timestamped file instead.
export async function up(db: Kysely<unknown>): Promise<void> {
  // Caddy no longer health-checks apps actively: a live marker file (src/proxy/live.ts) tells it
  // which slot takes requests, so the column recording the active-check path is gone.
  await db.schema.alterTable('apps').dropColumn('proxy_health_path').execute();
}
