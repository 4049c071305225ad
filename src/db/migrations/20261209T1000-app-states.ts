import type { Kysely } from 'kysely';

// Landed migrations never change; add a new timestamped file instead.
export async function up(db: Kysely<unknown>): Promise<void> {
  // hiy maintenance:on: Caddy answers the app's hosts with a 503 page (a file it reads per
  // request, proxy/host-files.ts) until it is turned off; kept here so a restart of hiy (or a
  // lost run dir after a reboot) brings the page back.
  await db.schema.alterTable('apps').addColumn('maintenance', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  // hiy ps:stop: the process type runs no container until ps:start, whatever reconciliation finds;
  // its quantity is kept for ps:start.
  await db.schema.alterTable('formation').addColumn('stopped', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}
