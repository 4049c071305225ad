/**
 * `hiy maintenance:on|off`: Caddy answers the app's hosts with a 503 maintenance page (a notice
 * file it reads per request, proxy/notices.ts): no reload, the app's containers keep running (a
 * deploy during maintenance is allowed and stays behind the page until it is turned off).
 */
import { nowIso } from '../db/database.js';
import type { Services } from '../services.js';
import { routeFor } from './route.js';
import { getApp, type App } from './repo.js';

export async function setMaintenance(s: Pick<Services, 'db' | 'proxy' | 'log'>, name: string, on: boolean): Promise<App> {
  const before = await getApp(s.db, name);
  const app = await s.db.updateTable('apps').set({ maintenance: on ? 1 : 0, updated_at: nowIso() }).where('name', '=', name).returningAll().executeTakeFirstOrThrow();
  try {
    await s.proxy.setRoute(await routeFor(s.db, app));
  } catch (err) {
    // The row says what Caddy shows: put it back when the file could not be written.
    await s.db.updateTable('apps').set({ maintenance: before.maintenance }).where('name', '=', name).execute();
    throw err;
  }
  if (before.maintenance !== app.maintenance) s.log.info({ app: name, maintenance: on }, on ? 'maintenance mode on' : 'maintenance mode off');
  return app;
}
