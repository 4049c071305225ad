/**
 * An app's Caddy route as hiy wants it now: its slot index, its custom domains and the notice
 * Caddy shows instead of the app. Only the database: the deploy pipeline, ps:stop and maintenance
 * mode use it without reaching the services layer's wiring (no import cycle).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/database.js';
import type { AppRoute, Notice } from '../proxy/proxy.js';
import { appRouteOf, type App } from './repo.js';

/** The app's complete Caddy route: slot ports and every hostname it answers on. */
export async function routeFor(db: Kysely<Database>, app: Pick<App, 'name' | 'slot_index'>): Promise<AppRoute> {
  const hosts = (await db.selectFrom('domains').select('host').where('app', '=', app.name).orderBy('host').execute()).map((d) => d.host);
  return { ...appRouteOf(app), ...(hosts.length ? { extraHosts: hosts } : {}), ...await noticeOf(db, app.name) };
}

/** The page Caddy shows instead of the app: maintenance mode first, then a stopped web (hiy ps:stop). */
async function noticeOf(db: Kysely<Database>, app: string): Promise<{ notice?: Notice }> {
  const [row, web] = await Promise.all([
    db.selectFrom('apps').select('maintenance').where('name', '=', app).executeTakeFirst(),
    db.selectFrom('formation').select('stopped').where('app', '=', app).where('process', '=', 'web').executeTakeFirst(),
  ]);
  if (row?.maintenance) return { notice: 'maintenance' };
  return web?.stopped ? { notice: 'stopped' } : {};
}
