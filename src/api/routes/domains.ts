import { Hono } from 'hono';
import { attachDomain, detachDomain, listDomains, validateDomain } from '../../apps/domains.js';
import { appUrl } from '../../apps/urls.js';
import type { Services } from '../../services.js';
import type { ApiEnv } from '../auth.js';
import { pathApp } from '../body.js';
import { rejectUnknownFields } from '../../fields.js';
import { readJsonObject } from '../errors.js';

/**
 * /api/v1/apps/:name/domains: custom hostnames. A change rewrites the app's Caddy route (a reload,
 * so idle keep-alive connections are reset once; deploys never change routes).
 */
export function domainRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  const answer = async (app: string) => ({
    app,
    default: appUrl(s.config, app),
    domains: await listDomains(s.db, app),
  });

  r.get('/:name/domains', async (c) => c.json(await answer((await pathApp(s.db, c)).name)));

  r.post('/:name/domains', async (c) => {
    const app = (await pathApp(s.db, c)).name;
    const body = await readJsonObject(c, 4096);
    rejectUnknownFields(body, ['host']);
    const host = validateDomain(body.host, s.config);
    await attachDomain(s, app, host);
    s.log.info({ app, host }, 'domain added');
    return c.json(await answer(app), 201);
  });

  r.delete('/:name/domains/:host', async (c) => {
    const app = (await pathApp(s.db, c)).name;
    const host = validateDomain(c.req.param('host'), s.config);
    await detachDomain(s, app, host);
    s.log.info({ app, host }, 'domain removed');
    return c.json(await answer(app));
  });

  return r;
}
