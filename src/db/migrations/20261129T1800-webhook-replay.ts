import { type Kysely, sql } from 'kysely';

// Landed migrations never change; add a new timestamped file instead.
// X-GitHub-Delivery is not covered by the signature: a captured delivery sent again under a new
// id would deploy again (or, with "forced": true, roll an app back to an old commit). The digest of
// the signed body dedupes those replays; GitHub's own redeliveries carry the same id anyway.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('webhook_deliveries').addColumn('body_sha256', 'text').execute();
  await sql`create unique index webhook_deliveries_body on webhook_deliveries (app, body_sha256) where counted = 1 and body_sha256 is not null`.execute(db);
}
