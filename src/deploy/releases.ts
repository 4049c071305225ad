import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../db/database.js';
import { nowIso } from '../db/database.js';
import type { ReleasesTable } from './table.js';
import { HiyError } from '../errors.js';
import type { Slot } from '../slots.js';

export type Release = Selectable<ReleasesTable>;

export async function listReleases(db: Kysely<Database>, app: string): Promise<Release[]> {
  return db.selectFrom('releases').selectAll().where('app', '=', app).orderBy('version', 'desc').execute();
}

/** One page of the app's releases, newest first: ids below `before`, at most `limit` (API cursor paging). */
export async function pageReleases(db: Kysely<Database>, app: string, limit: number, before?: number): Promise<Release[]> {
  let q = db.selectFrom('releases').selectAll().where('app', '=', app);
  if (before !== undefined) q = q.where('id', '<', before);
  return q.orderBy('id', 'desc').limit(limit).execute();
}

export async function currentRelease(db: Kysely<Database>, app: string): Promise<Release | undefined> {
  return db.selectFrom('releases').selectAll()
    .where('id', '=', (eb) => eb.selectFrom('apps').select('current_release_id').where('name', '=', app))
    .executeTakeFirst();
}

export async function findRelease(db: Kysely<Database>, app: string, version: number): Promise<Release> {
  const r = await db.selectFrom('releases').selectAll().where('app', '=', app).where('version', '=', version).executeTakeFirst();
  if (!r) throw new HiyError('not_found', `release v${version} of "${app}" not found`);
  return r;
}

/**
 * The rollback target when none is named: the newest release older than the current one that runs
 * a different image (a release made by an env change runs the same image and would change nothing).
 */
export async function previousRelease(db: Kysely<Database>, app: string): Promise<Release> {
  const current = await currentRelease(db, app);
  if (!current) throw new HiyError('conflict', `"${app}" has no release to roll back from`);
  const r = await db.selectFrom('releases').selectAll()
    .where('app', '=', app).where('version', '<', current.version).where('image', '!=', current.image)
    .orderBy('version', 'desc').executeTakeFirst();
  if (!r) throw new HiyError('conflict', `"${app}" has no earlier release with a different image`);
  return r;
}

/** Records a release and makes it current in one transaction: the switch point in the database. */
export async function recordRelease(
  db: Kysely<Database>,
  r: { app: string; deploy_id: number; sha: string; image: string; slot: Slot; processes?: string | null; image_ref?: string | null; cron?: string | null },
): Promise<Release> {
  return db.transaction().execute(async (trx) => {
    const last = await trx.selectFrom('releases').select((eb) => eb.fn.max('version').as('v')).where('app', '=', r.app).executeTakeFirst();
    const version = Number(last?.v ?? 0) + 1;
    const row = await trx.insertInto('releases').values({ ...r, version, created_at: nowIso() }).returningAll().executeTakeFirstOrThrow();
    await trx.updateTable('apps').set({ current_release_id: row.id, updated_at: nowIso() }).where('name', '=', r.app).execute();
    return row;
  });
}

/** Images to keep for an app: the current release's and those of the `keep` newest older distinct images. */
export async function imagesToKeep(db: Kysely<Database>, app: string, keep: number): Promise<Set<string>> {
  const current = await currentRelease(db, app);
  const out = new Set<string>();
  if (current) out.add(current.image);
  for (const r of await listReleases(db, app)) {
    if (out.size >= keep + 1) break;
    if (current && r.version > current.version) continue;
    out.add(r.image);
  }
  return out;
}
