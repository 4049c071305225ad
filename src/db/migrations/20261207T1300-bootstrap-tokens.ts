import { sql, type Kysely } from 'kysely';

// Landed migrations never change; add a new timestamped file instead.
export async function up(db: Kysely<unknown>): Promise<void> {
  // Tokens made from HIY_ADMIN_TOKEN are marked, so a start with a new value can revoke the old
  // one. Before this column they were known only by the name main.ts gave them.
  await db.schema.alterTable('api_tokens').addColumn('bootstrap', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await sql`update api_tokens set bootstrap = 1 where name = 'admin (HIY_ADMIN_TOKEN)'`.execute(db);
}
