import { type Kysely, sql } from 'kysely';

const OLD_CHECK = "triggered_by in ('git','webhook','manual','cli','rollback')";
const NEW_CHECK = "triggered_by in ('git','webhook','manual','cli','rollback','dashboard','api')";

// Landed migrations never change; add a new timestamped file instead.
export async function up(db: Kysely<unknown>): Promise<void> {
  // Restarts, deploys and env changes are recorded by who asked: the dashboard, the API or the
  // CLI (issue #19); 'manual' stays for older rows and for hiy's own restarts. SQLite cannot
  // change a CHECK constraint in place, so the table is rebuilt from its own schema text (which
  // keeps every column a migration added, in order) with the wider check, and its indexes are
  // made again. Nothing references deploys by a foreign key, so dropping it cascades nothing.
  const table = await sql<{ sql: string }>`select sql from sqlite_master where type = 'table' and name = 'deploys'`.execute(db);
  const create = table.rows[0]?.sql;
  if (!create || !create.includes(OLD_CHECK)) throw new Error('the deploys table does not have the expected triggered_by check');
  const indexes = await sql<{ sql: string }>`select sql from sqlite_master where type = 'index' and tbl_name = 'deploys' and sql is not null`.execute(db);
  const renamed = create.replace(/^create table "?deploys"?/i, 'create table "deploys_rebuilt"').replace(OLD_CHECK, NEW_CHECK);
  await sql.raw(renamed).execute(db);
  await sql`insert into deploys_rebuilt select * from deploys`.execute(db);
  await sql`drop table deploys`.execute(db);
  await sql`alter table deploys_rebuilt rename to deploys`.execute(db);
  for (const i of indexes.rows) await sql.raw(i.sql).execute(db);
}
