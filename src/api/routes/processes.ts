import { Hono, type Context } from 'hono';
import { validateRepoPath } from '../../apps/input.js';
import { updateApp } from '../../apps/repo.js';
import { volumeName } from '../../deploy/processes.js';
import { listProcesses } from '../../deploy/ps.js';
import { restartAnswer, restartToApply } from '../../deploy/restart-to-apply.js';
import { HiyError } from '../../errors.js';
import type { Services } from '../../services.js';
import type { ApiEnv } from '../auth.js';
import { clientTrigger, pathApp } from '../body.js';
import { rejectUnknownFields } from '../../fields.js';
import { readJsonObject } from '../errors.js';

/**
 * /api/v1/apps/:name/ps (processes and formation), /ps/scale, /volumes. Scaling and volume
 * changes act on the running release; a volume change restarts it (a new container mounts it).
 */
export function processRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();

  r.get('/:name/ps', async (c) => c.json(await listProcesses(s, await pathApp(s.db, c))));

  r.post('/:name/ps/scale', async (c) => {
    const app = await pathApp(s.db, c);
    const body = await readJsonObject(c);
    rejectUnknownFields(body, ['formation']);
    if (typeof body.formation !== 'object' || body.formation === null || Array.isArray(body.formation)) {
      throw new HiyError('invalid_input', 'formation must be an object of {"<type>": <count>}, for example {"web": 2}');
    }
    // While a deploy runs the scale waits behind it: 202 with that deploy's id to follow, then GET …/ps.
    const res = await s.deployer.scaleSoon(app.name, body.formation as Record<string, number>);
    if ('behind' in res) return c.json({ app: app.name, status: 'waiting', deploy: res.behind, requested: body.formation }, 202);
    return c.json({ app: app.name, formation: res.formation });
  });

  r.get('/:name/volumes', async (c) => {
    const app = await pathApp(s.db, c);
    return c.json({ app: app.name, volumes: app.volume_path ? [{ name: volumeName(app.name), path: app.volume_path }] : [] });
  });

  r.post('/:name/volumes', async (c) => {
    const app = await pathApp(s.db, c);
    const body = await readJsonObject(c);
    rejectUnknownFields(body, ['path']);
    const path = validateRepoPath('path', body.path, true);
    if (app.volume_path && app.volume_path !== path) {
      throw new HiyError('conflict', `${app.name} already mounts its volume at ${app.volume_path}; remove it first (hiy volumes:remove ${app.name} ${app.volume_path})`);
    }
    if (app.volume_path === path) return c.json({ app: app.name, volume: { name: volumeName(app.name), path }, restarted: false });
    await updateApp(s.db, app.name, { volume_path: path });
    s.log.info({ app: app.name, path }, 'volume added');
    return c.json({ app: app.name, volume: { name: volumeName(app.name), path }, ...restartAnswer(await restartToApply(s, app.name, 'the volume', undefined, clientTrigger(c))) }, 201);
  });

  // DELETE …/volumes/data unmounts /data: no body on a DELETE (proxies and clients may drop it).
  // The older form with {"path"} in the body stays for clients made before.
  r.delete('/:name/volumes/:path{.+}', async (c) => unmount(c, `/${c.req.param('path')}`));
  r.delete('/:name/volumes', async (c) => {
    const body = await readJsonObject(c);
    rejectUnknownFields(body, ['path']);
    return unmount(c, body.path);
  });

  async function unmount(c: Context<ApiEnv>, rawPath: unknown): Promise<Response> {
    const app = await pathApp(s.db, c);
    const path = validateRepoPath('path', rawPath, true);
    if (app.volume_path !== path) throw new HiyError('not_found', `${app.name} has no volume mounted at ${path}`);
    await updateApp(s.db, app.name, { volume_path: null });
    s.log.info({ app: app.name, path }, 'volume unmounted (data kept)');
    return c.json({ app: app.name, unmounted: path, data_kept_in: volumeName(app.name), ...restartAnswer(await restartToApply(s, app.name, 'the volume', undefined, clientTrigger(c))) });
  }

  return r;
}
