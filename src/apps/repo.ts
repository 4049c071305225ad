import type { Kysely, Selectable, Updateable } from 'kysely';
import type { Database } from '../db/database.js';
import { nowIso } from '../db/database.js';
import type { AppsTable } from './table.js';
import { HiyError, notFound } from '../errors.js';
import type { AppRoute } from '../proxy/proxy.js';

export type App = Selectable<AppsTable>;
export type AppUpdate = Pick<Updateable<AppsTable>, 'repo_url' | 'branch' | 'port' | 'memory_mb' | 'cpus' | 'health_path' | 'health_timeout_s' | 'drain_s' | 'dockerfile_path' | 'build_images' | 'volume_path' | 'source' | 'image_tag' | 'node_labels' | 'spread'>;

export async function listApps(db: Kysely<Database>): Promise<App[]> {
  return db.selectFrom('apps').selectAll().orderBy('name').execute();
}

export async function findApp(db: Kysely<Database>, name: string): Promise<App | undefined> {
  return db.selectFrom('apps').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function getApp(db: Kysely<Database>, name: string): Promise<App> {
  const app = await findApp(db, name);
  if (!app) throw notFound(`app "${name}"`);
  return app;
}

/** Inserts the app with the lowest free slot index (its pair of fixed host ports). */
export async function insertApp(db: Kysely<Database>, values: { name: string } & AppUpdate): Promise<App> {
  return db.transaction().execute(async (trx) => {
    if (await trx.selectFrom('apps').select('name').where('name', '=', values.name).executeTakeFirst()) {
      throw new HiyError('conflict', `app "${values.name}" already exists`);
    }
    const used = new Set((await trx.selectFrom('apps').select('slot_index').execute()).map((r) => r.slot_index));
    let slot_index = 0;
    while (used.has(slot_index)) slot_index++;
    const now = nowIso();
    return trx
      .insertInto('apps')
      .values({ ...values, slot_index, current_release_id: null, created_at: now, updated_at: now })
      .returningAll()
      .executeTakeFirstOrThrow();
  });
}

export async function updateApp(db: Kysely<Database>, name: string, changes: AppUpdate): Promise<App> {
  const row = await db.updateTable('apps').set({ ...changes, updated_at: nowIso() }).where('name', '=', name).returningAll().executeTakeFirst();
  if (!row) throw notFound(`app "${name}"`);
  return row;
}

export async function deleteApp(db: Kysely<Database>, name: string): Promise<void> {
  const res = await db.deleteFrom('apps').where('name', '=', name).executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw notFound(`app "${name}"`);
}

/** The app's Caddy route: its slot index names its route slot and its ports (slots.ts). */
export function appRouteOf(app: Pick<App, 'name' | 'slot_index'>): AppRoute {
  return { app: app.name, slotIndex: app.slot_index };
}
