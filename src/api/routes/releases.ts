import { Hono } from 'hono';
import { currentRelease, listReleases } from '../../deploy/releases.js';
import type { ReleaseView } from '../../contract.js';
import type { Services } from '../../services.js';
import type { ApiEnv } from '../auth.js';
import { readJsonObject } from '../errors.js';
import { clientTrigger, parseIntParam, pathApp } from '../body.js';
import { rejectUnknownFields } from '../../fields.js';
import { HiyError } from '../../errors.js';

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
    const releases = (await listReleases(s.db, app)).map((rel): ReleaseView => ({
      ...rel,
      // Stored as JSON text; the API answers with the object, never a string to parse twice.
      processes: rel.processes === null ? null : JSON.parse(rel.processes) as Record<string, string>,
      cron: rel.cron === null ? null : JSON.parse(rel.cron) as unknown[],
      current: rel.id === current?.id,
    }));
    return c.json({ app, current: current?.version ?? null, releases });
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
