import { Hono } from 'hono';
import { getDeploy, listDeploys } from '../../deploy/repo.js';
import type { Services } from '../../services.js';
import type { ApiEnv } from '../auth.js';
import { parseIntParam, pathApp } from '../body.js';

/**
 * /api/v1/apps/:name/deploys (list, show). POST .../deploys, releases and rollback are added
 * here by the deploy pipeline.
 */
export function deployRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();

  r.get('/:name/deploys', async (c) => {
    const app = (await pathApp(s.db, c)).name;
    const rawLimit = c.req.query('limit');
    const limit = rawLimit === undefined ? 20 : parseIntParam('limit', rawLimit, 1, 200);
    return c.json({ app, deploys: await listDeploys(s.db, app, limit) });
  });

  r.get('/:name/deploys/:id', async (c) => {
    const app = (await pathApp(s.db, c)).name;
    const id = parseIntParam('deploy id', c.req.param('id'), 1, Number.MAX_SAFE_INTEGER);
    return c.json({ deploy: await getDeploy(s.db, app, id) });
  });

  return r;
}
