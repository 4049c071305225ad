import { Hono } from 'hono';
import { Readable } from 'node:stream';
import { validateAddonName } from '../../addons/names.js';
import { getAddon } from '../../addons/repo.js';
import { attachAddon, createAddon, destroyAddon, detachAddon, restartAddon, type AttachOutcome } from '../../addons/service.js';
import { dumpHeaders, restoreAddon, startDump } from '../../addons/transfer.js';
import { upgradeAddon } from '../../addons/upgrade.js';
import { addonInfo, addonViews } from '../../addons/views.js';
import { validateAppName } from '../../apps/names.js';
import { getApp } from '../../apps/repo.js';
import { restartAnswer } from '../../deploy/restart-to-apply.js';
import { HiyError } from '../../errors.js';
import { addonSeries, intervalOf, parseRange } from '../../metrics/series.js';
import type { Services } from '../../services.js';
import { guardApiStream, type ApiEnv } from '../auth.js';
import { clientTrigger, parseIntParam, pathApp, queryFlag } from '../body.js';
import { rejectUnknownFields } from '../../fields.js';
import { readJsonObject } from '../errors.js';
import { tokenActive } from '../../auth/tokens.js';
import { relayRun } from '../../http/run-socket.js';
import { webSocketOf } from '../../http/upgrade.js';
import { clientTargetName, resolveClientTarget } from '../../runs/addon-client.js';
import { kindOf } from '../../addons/kinds.js';
import { tokenActor } from './runs.js';

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
    const { addon, attached } = await createAddon(s, body as { kind: unknown }, clientTrigger(c));
    return c.json({ addon: await addonInfo(s, addon.name, false), ...(attached ? { attachment: attachAnswer(attached) } : {}) }, 201);
  });

  // The run channel (contract.ts RUN_STREAM) to an add-on's own client in its container: hiy
  // pg:psql / redis:cli. :target is an add-on, or an app with one add-on of ?kind attached.
  r.get('/:target/client', async (c) => {
    const accept = webSocketOf(c);
    if (!accept) throw new HiyError('bad_request', 'this is an add-on client channel: a WebSocket upgrade (hiy pg:psql uses it), see docs/api.md', { status: 426 });
    const kind = kindOf(c.req.query('kind')).kind;
    // Answered as HTTP errors before the channel opens: no such app or add-on, none attached, several.
    const target = await resolveClientTarget(s.db, kind, clientTargetName(c.req.param('target')));
    const tty = queryFlag(c, 'tty') ?? false;
    const size = c.req.query('cols') !== undefined || c.req.query('rows') !== undefined
      ? { cols: parseIntParam('cols', c.req.query('cols'), 1, 1000), rows: parseIntParam('rows', c.req.query('rows'), 1, 1000) } : {};
    const actor = tokenActor(c);
    const tokenId = c.get('token').id;
    accept((ws) => relayRun(ws, () => s.addonClients.open(target, actor, { tty, ...size }), {
      log: s.log, stillValid: () => tokenActive(s.db, tokenId), revoked: 'the API token was revoked',
    }));
    return c.body(null, 200);
  });

  r.get('/:addon', async (c) => {
    const row = await named(c.req.param('addon'));
    const reveal = queryFlag(c, 'reveal') ?? false;
    if (reveal) s.log.info({ addon: row.name, event: 'addon_url_revealed' }, 'add-on URL revealed');
    return c.json({ addon: await addonInfo(s, row.name, reveal) });
  });

  r.delete('/:addon', async (c) => {
    const row = await named(c.req.param('addon'));
    const { detached } = await destroyAddon(s, row.name, { detach: queryFlag(c, 'detach') ?? false, trigger: clientTrigger(c) });
    return c.json({ addon: row.name, destroyed: true, detached: detached.map((a) => a.app) });
  });

  r.post('/:addon/attachments', async (c) => {
    const row = await named(c.req.param('addon'));
    const body = await readJsonObject(c);
    rejectUnknownFields(body, ['app', 'as']);
    if (typeof body.app !== 'string') throw new HiyError('invalid_input', 'app must be the name of the app to attach to');
    return c.json(attachAnswer(await attachAddon(s, row.name, body.app, body.as, clientTrigger(c))), 201);
  });

  r.delete('/:addon/attachments/:app', async (c) => {
    const row = await named(c.req.param('addon'));
    const app = (await getApp(s.db, validateAppName(c.req.param('app')))).name;
    return c.json(attachAnswer(await detachAddon(s, row.name, app, clientTrigger(c))));
  });

  r.get('/:addon/metrics', async (c) => {
    const row = await named(c.req.param('addon'));
    const range = parseRange(c.req.query('range'));
    const now = s.observability.metrics.addons.get(row.name);
    return c.json({
      addon: row.name,
      range,
      interval_s: intervalOf(range, s.config.metricsIntervalSec),
      limits: { cpu_pct: 100, memory_bytes: row.memory_mb * 1024 * 1024 },
      current: now ? { t: now.t, cpu_pct: Math.round(now.cpuPct * 10) / 10, memory_bytes: now.memoryBytes } : null,
      series: await addonSeries(s.db, row.name, range),
    });
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

  // The dump streams as the server writes it; a failure after its first bytes cuts the answer short.
  r.get('/:addon/dump', async (c) => {
    const row = await named(c.req.param('addon'));
    const abort = new AbortController();
    c.req.raw.signal.addEventListener('abort', () => abort.abort(), { once: true });
    // A dump of a large database streams for long: it ends (cut short) once its token is revoked.
    const unguard = guardApiStream(s, c, () => abort.abort());
    const dump = await startDump(await s.runtime(), row, abort.signal, (err) => s.log.warn({ err, addon: row.name }, 'add-on dump failed')).catch((err: unknown) => { unguard(); throw err; });
    dump.stream.once('close', unguard);
    return new Response(Readable.toWeb(dump.stream) as unknown as ReadableStream, { headers: dumpHeaders(dump.filename) });
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
