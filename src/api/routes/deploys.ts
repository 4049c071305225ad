import { Hono } from 'hono';
import { getDeploy, listDeploys } from '../../deploy/repo.js';
import { listReleases } from '../../deploy/releases.js';
import type { Services } from '../../services.js';
import type { ApiEnv } from '../auth.js';
import { pageOf, pageQuery, parseIntParam, pathApp } from '../body.js';

/**
 * /api/v1/apps/:name/deploys (list, show). POST .../deploys, releases and rollback are added
 * here by the deploy pipeline.
 */
export function deployRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();

  r.get('/:name/deploys', async (c) => {
    const app = (await pathApp(s.db, c)).name;
    const { limit, before } = pageQuery(c, 20, 200);
    const versions = await releaseVersions(s, app);
    const page = pageOf(await listDeploys(s.db, app, limit + 1, before), limit);
    return c.json({ app, deploys: page.items.map((d) => withVersion(d, versions)), next: page.next });
  });

  r.get('/:name/deploys/:id', async (c) => {
    const app = (await pathApp(s.db, c)).name;
    const id = parseIntParam('deploy id', c.req.param('id'), 1, Number.MAX_SAFE_INTEGER);
    return c.json({ deploy: withVersion(await getDeploy(s.db, app, id), await releaseVersions(s, app)) });
  });

  return r;
}

/** Release id → version: the API names releases by version (v3), as the rollback route takes them. */
async function releaseVersions(s: Services, app: string): Promise<Map<number, number>> {
  return new Map((await listReleases(s.db, app)).map((rel) => [rel.id, rel.version]));
}

/** A deploy as the API shows it: `rollback_to` is the target's version, as in POST …/rollback's answer. */
function withVersion<T extends { rollback_to: number | null }>(d: T, versions: Map<number, number>): T {
  return { ...d, rollback_to: d.rollback_to === null ? null : versions.get(d.rollback_to) ?? null };
}
