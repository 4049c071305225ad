import type { Hono } from 'hono';
import { Readable } from 'node:stream';
import { validateAddonName } from '../src/addons/names.js';
import { getAddon } from '../src/addons/repo.js';
import { dumpHeaders, startDump } from '../src/addons/transfer.js';
import { guardStream } from '../src/auth/stream-guard.js';
import { sessionStillValid } from './auth-routes.js';
import type { Ui, UiEnv } from './ui.js';

/**
 * An add-on's dump as a download (the app page links it), streamed as the API's
 * GET /addons/:addon/dump does: a failure after the first bytes cuts the download short, so the
 * browser marks it failed.
 */
export function addonRoutes(ui: Ui, app: Hono<UiEnv>): void {
  app.get('/addons/:addon/dump', async (c) => {
    const row = await getAddon(ui.s.db, validateAddonName(c.req.param('addon')));
    const abort = new AbortController();
    c.req.raw.signal.addEventListener('abort', () => abort.abort(), { once: true });
    // Cut short once the session that asked for it is signed out, as the dashboard's streams are.
    const unguard = guardStream(sessionStillValid(ui, c), () => abort.abort());
    const dump = await startDump(await ui.s.runtime(), row, abort.signal, (err) => ui.s.log.warn({ err, addon: row.name }, 'add-on dump (dashboard) failed')).catch((err: unknown) => { unguard(); throw err; });
    dump.stream.once('close', unguard);
    ui.s.log.info({ addon: row.name, event: 'addon_dump_downloaded' }, 'add-on dump downloaded from the dashboard');
    return new Response(Readable.toWeb(dump.stream) as unknown as ReadableStream, { headers: dumpHeaders(dump.filename) });
  });
}
