import { Hono } from 'hono';
import { validateAppName } from '../../apps/names.js';
import { getApp } from '../../apps/repo.js';
import { HiyError } from '../../errors.js';
import { rejectUnknownFields } from '../../fields.js';
import { listLogins, removeLogin, setLogin } from '../../registry/logins.js';
import type { Services } from '../../services.js';
import type { ApiEnv } from '../auth.js';
import { readJsonObject } from '../errors.js';

/** ?app= or {"app": …}: a login of one app; absent: the login of every app. */
async function scopeApp(s: Services, raw: unknown): Promise<string | null> {
  if (raw === undefined || raw === null || raw === '') return null;
  if (typeof raw !== 'string') throw new HiyError('invalid_input', 'app must be an app name');
  return (await getApp(s.db, validateAppName(raw))).name;
}

/**
 * /api/v1/registries: logins for pulls, per registry host, for every app or for one. The
 * password or token goes in once (PUT) and never comes out: listings show host, app and user.
 */
export function registryRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();

  r.get('/', async (c) => c.json({ logins: await listLogins(s.db) }));

  r.put('/:host', async (c) => {
    const body = await readJsonObject(c, 16 * 1024);
    rejectUnknownFields(body, ['username', 'password', 'app']);
    const app = await scopeApp(s, body.app);
    const { host, created } = await setLogin(s.db, s.secrets, { host: c.req.param('host'), app, username: body.username, password: body.password });
    s.log.info({ host, app, created }, created ? 'registry login stored' : 'registry login replaced');
    const login = (await listLogins(s.db)).find((l) => l.host === host && l.app === app);
    return c.json({ login, created }, created ? 201 : 200);
  });

  r.delete('/:host', async (c) => {
    const app = await scopeApp(s, c.req.query('app'));
    const { host, removed } = await removeLogin(s.db, c.req.param('host'), app);
    if (!removed) throw new HiyError('not_found', `no login for ${host}${app ? ` of app ${app}` : ' for every app'}`);
    s.log.info({ host, app }, 'registry login removed');
    return c.json({ removed: { host, app } });
  });

  return r;
}
