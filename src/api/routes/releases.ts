import { Hono } from 'hono';
import { currentRelease, findRelease, listReleases, pageReleases, type Release } from '../../deploy/releases.js';
import { getDeploy } from '../../deploy/repo.js';
import type { ReleaseInfo, ReleaseView } from '../../contract.js';
import type { Services } from '../../services.js';
import type { ApiEnv } from '../auth.js';
import { readJsonObject } from '../errors.js';
import { clientTrigger, pageOf, pageQuery, parseIntParam, pathApp } from '../body.js';
import { rejectUnknownFields } from '../../fields.js';
import { HiyError } from '../../errors.js';

/** A release as the API shows it: processes and cron as JSON values (stored as text), the current one marked. */
function releaseView(rel: Release, current: Release | undefined): ReleaseView {
  return {
    ...rel,
    processes: rel.processes === null ? null : JSON.parse(rel.processes) as Record<string, string>,
    cron: rel.cron === null ? null : JSON.parse(rel.cron) as unknown[],
    current: rel.id === current?.id,
  };
}

/**
 * The routes that drive the deploy pipeline: trigger a deploy of the branch head, restart,
 * list releases, roll back. App output is in logs.ts.
 */
export function releaseRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();

  // {} deploys what the app follows (its branch head, or its image tag); {"image": ref} pulls that image.
  r.post('/:name/deploys', async (c) => {
    const app = (await pathApp(s.db, c)).name;
    const body = await readJsonObject(c);
    rejectUnknownFields(body, ['image']);
    const who = clientTrigger(c);
    if (body.image !== undefined && typeof body.image !== 'string') throw new HiyError('invalid_input', 'image must be an image reference such as ghcr.io/me/shop:v2');
    const id = typeof body.image === 'string' ? await s.deployer.deployImage(app, body.image, who) : await s.deployer.deployBranchHead(app, who);
    return c.json({ deploy: { id, app, status: 'queued', ...(typeof body.image === 'string' ? { image: body.image } : {}) } }, 202);
  });

  r.post('/:name/restart', async (c) => {
    const app = (await pathApp(s.db, c)).name;
    rejectUnknownFields(await readJsonObject(c), []);
    const id = await s.deployer.restart(app, clientTrigger(c));
    return c.json({ deploy: { id, app, status: 'queued' } }, 202);
  });

  r.get('/:name/releases', async (c) => {
    const app = (await pathApp(s.db, c)).name;
    const current = await currentRelease(s.db, app);
    // Every release unless ?limit= or ?before= asks for a page (older clients read the whole list).
    const paged = c.req.query('limit') !== undefined || c.req.query('before') !== undefined;
    const { limit, before } = pageQuery(c, 1_000_000, 1_000_000);
    const page = paged ? pageOf(await pageReleases(s.db, app, limit + 1, before), limit) : { items: await listReleases(s.db, app), next: null };
    return c.json({ app, current: current?.version ?? null, releases: page.items.map((rel) => releaseView(rel, current)), next: page.next });
  });

  // hiy releases:info <app> v3: one release by its version (v3 or 3), with the deploy that made it.
  r.get('/:name/releases/:version', async (c) => {
    const app = (await pathApp(s.db, c)).name;
    const version = parseIntParam('version', c.req.param('version').replace(/^v/, ''), 1, 1_000_000);
    const [rel, current] = await Promise.all([findRelease(s.db, app, version), currentRelease(s.db, app)]);
    const deploy = await getDeploy(s.db, app, rel.deploy_id).catch(() => undefined);
    const info: ReleaseInfo = {
      app,
      release: releaseView(rel, current),
      deploy: deploy ? { id: deploy.id, status: deploy.status, triggered_by: deploy.triggered_by, created_at: deploy.created_at, finished_at: deploy.finished_at, image_ref: deploy.image_ref } : null,
    };
    return c.json(info);
  });

  r.post('/:name/rollback', async (c) => {
    const app = (await pathApp(s.db, c)).name;
    const body = await readJsonObject(c);
    rejectUnknownFields(body, ['version']);
    let version: number | undefined;
    if (body.version !== undefined) {
      const v = typeof body.version === 'string' ? body.version.replace(/^v/, '') : String(body.version);
      version = parseIntParam('version', v, 1, 1_000_000);
    }
    const q = await s.deployer.rollback(app, version);
    return c.json({ deploy: { id: q.deployId, app, status: 'queued', rollback_to: q.targetVersion } }, 202);
  });

  return r;
}
