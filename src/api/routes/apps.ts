import { Hono } from 'hono';
import { parseCreateApp, parseUpdateApp } from '../../apps/input.js';
import { validateAppName } from '../../apps/names.js';
import { listApps } from '../../apps/repo.js';
import { appView, createApp, destroyApp } from '../../apps/service.js';
import { applyAppUpdate, placementView } from '../../apps/placement-service.js';
import { restartAnswer } from '../../deploy/restart-to-apply.js';
import type { Services } from '../../services.js';
import type { ApiEnv } from '../auth.js';
import { readJsonObject } from '../errors.js';
import { clientTrigger, pathApp, queryFlag } from '../body.js';

/** /api/v1/apps: create, list, show, update, destroy. */
export function appRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();

  r.get('/', async (c) => {
    const apps = await listApps(s.db);
    const containers = await s.containers.byAppOf(apps);
    return c.json({ apps: await Promise.all(apps.map((a) => appView(s, a, containers ?? null))) });
  });

  r.post('/', async (c) => {
    const input = parseCreateApp(await readJsonObject(c));
    const app = await createApp(s, input);
    return c.json({ app: await appView(s, app) }, 201);
  });

  r.get('/:name', async (c) => {
    const app = await pathApp(s.db, c);
    const [view, placement] = await Promise.all([appView(s, app), placementView(s, app)]);
    return c.json({ app: view, placement });
  });

  r.patch('/:name', async (c) => {
    const name = validateAppName(c.req.param('name'));
    const changes = parseUpdateApp(await readJsonObject(c));
    const { app, placement, restart } = await applyAppUpdate(s, name, changes, clientTrigger(c));
    s.log.info({ app: name, fields: Object.keys(changes) }, 'app updated');
    return c.json({ app: await appView(s, app), placement, ...restartAnswer(restart) });
  });

  r.delete('/:name', async (c) => {
    const name = validateAppName(c.req.param('name'));
    // The volume (the app's data) goes only when asked for: DELETE /apps/<name>?volumes=true.
    const volumes = queryFlag(c, 'volumes') ?? false;
    const { volumesRemoved } = await destroyApp(s, name, { volumes });
    return c.json({ destroyed: name, volumes_removed: volumesRemoved });
  });

  return r;
}
