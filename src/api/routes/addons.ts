import { Hono } from 'hono';
import { PassThrough, Readable } from 'node:stream';
import { validateAddonName } from '../../addons/names.js';
import { getAddon } from '../../addons/repo.js';
import { attachAddon, createAddon, destroyAddon, detachAddon, restartAddon, type AttachOutcome } from '../../addons/service.js';
import { dumpAddon, restoreAddon } from '../../addons/transfer.js';
import { upgradeAddon } from '../../addons/upgrade.js';
import { addonInfo, addonViews } from '../../addons/views.js';
import { kindOf } from '../../addons/kinds.js';
import { validateAppName } from '../../apps/names.js';
import { getApp } from '../../apps/repo.js';
import { restartAnswer } from '../../deploy/restart-to-apply.js';
import { HiyError } from '../../errors.js';
import type { Services } from '../../services.js';
import type { ApiEnv } from '../auth.js';
import { pathApp, queryFlag } from '../body.js';
import { rejectUnknownFields } from '../../fields.js';
import { readJsonObject } from '../errors.js';

/** The path of the one API request whose body may stream for long (a restore): the listener lets it. */
export const RESTORE_PATH_RE = /^\/api\/v1\/addons\/[a-z0-9-]{2,40}\/restore(\?.*)?$/;

const attachAnswer = (o: AttachOutcome) => ({ addon: o.addon, app: o.app, as: o.as, var: o.var, ...restartAnswer(o.restart) });

/** /api/v1/addons: data services, their attachments to apps, dumps and restores. */
export function addonRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  const named = async (raw: string | undefined) => getAddon(s.db, validateAddonName(raw));

  r.get('/', async (c) => {
    const raw = c.req.query('app');
    const app = raw === undefined ? undefined : (await getApp(s.db, validateAppName(raw))).name;
    return c.json({ addons: await addonViews(s, app ? { app } : {}) });
  });

  r.post('/', async (c) => {
    const body = await readJsonObject(c);
    rejectUnknownFields(body, ['kind', 'name', 'app', 'as', 'memory_mb']);
    const { addon, attached } = await createAddon(s, body as { kind: unknown });
    return c.json({ addon: await addonInfo(s, addon.name, false), ...(attached ? { attachment: attachAnswer(attached) } : {}) }, 201);
  });

  r.get('/:addon', async (c) => {
    const row = await named(c.req.param('addon'));
    const reveal = queryFlag(c, 'reveal') ?? false;
    if (reveal) s.log.info({ addon: row.name, event: 'addon_url_revealed' }, 'add-on URL revealed');
    return c.json({ addon: await addonInfo(s, row.name, reveal) });
  });

  r.delete('/:addon', async (c) => {
    const row = await named(c.req.param('addon'));
    const { detached } = await destroyAddon(s, row.name, { detach: queryFlag(c, 'detach') ?? false });
    return c.json({ addon: row.name, destroyed: true, detached: detached.map((a) => a.app) });
  });

  r.post('/:addon/attachments', async (c) => {
    const row = await named(c.req.param('addon'));
    const body = await readJsonObject(c);
    rejectUnknownFields(body, ['app', 'as']);
    if (typeof body.app !== 'string') throw new HiyError('invalid_input', 'app must be the name of the app to attach to');
    return c.json(attachAnswer(await attachAddon(s, row.name, body.app, body.as)), 201);
  });

  r.delete('/:addon/attachments/:app', async (c) => {
    const row = await named(c.req.param('addon'));
    const app = (await getApp(s.db, validateAppName(c.req.param('app')))).name;
    return c.json(attachAnswer(await detachAddon(s, row.name, app)));
  });

  r.post('/:addon/restart', async (c) => {
    const row = await named(c.req.param('addon'));
    await restartAddon(s, row.name);
    return c.json({ addon: row.name, restarted: true });
  });

  r.post('/:addon/upgrade', async (c) => {
    const row = await named(c.req.param('addon'));
    return c.json(await upgradeAddon(s, row.name));
  });

  // The dump streams as the server writes it. Until its first bytes arrive a failure is a proper
  // error answer; after that it can only cut the response short (the client sees it incomplete).
  r.get('/:addon/dump', async (c) => {
    const row = await named(c.req.param('addon'));
    const k = kindOf(row.kind);
    const runtime = await s.runtime();
    const container = await runtime.addonContainer(row.name);
    if (!container?.running) throw new HiyError('conflict', `${row.name} is not running; start it first (hiy addons:restart ${row.name})`);
    const out = new PassThrough({ highWaterMark: 1 << 20 });
    const abort = new AbortController();
    c.req.raw.signal.addEventListener('abort', () => abort.abort(), { once: true });
    const done = dumpAddon(runtime, row, out, abort.signal).then(() => out.end(), (err: unknown) => {
      s.log.warn({ err, addon: row.name }, 'add-on dump failed');
      out.destroy(err instanceof Error ? err : new Error(String(err)));
      throw err;
    });
    await Promise.race([new Promise((resolve) => out.once('readable', resolve)), done]);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    done.catch(() => undefined);
    return new Response(Readable.toWeb(out) as unknown as ReadableStream, {
      headers: {
        'content-type': 'application/octet-stream',
        'content-disposition': `attachment; filename="${row.name}-${stamp}.${k.dumpExt}"`,
        'cache-control': 'no-store',
      },
    });
  });

  r.post('/:addon/restore', async (c) => {
    const row = await named(c.req.param('addon'));
    const body = c.req.raw.body;
    if (!body) throw new HiyError('invalid_input', 'send the dump as the request body');
    const res = await restoreAddon(await s.runtime(), row, Readable.fromWeb(body as never), (l) => s.log.info({ addon: row.name }, l));
    s.log.info({ addon: row.name }, 'add-on restored from a dump');
    return c.json({ addon: row.name, restored: true, detail: res.detail });
  });

  return r;
}

/** GET /api/v1/apps/:name/addons: what is attached to one app. */
export function appAddonRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  r.get('/:name/addons', async (c) => {
    const app = (await pathApp(s.db, c)).name;
    return c.json({ app, addons: await addonViews(s, { app }) });
  });
  return r;
}
