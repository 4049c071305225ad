import { Hono } from 'hono';
import { setMaintenance } from '../../apps/maintenance.js';
import { PROCESS_TYPE_RE } from '../../build/procfile.js';
import { HiyError } from '../../errors.js';
import { rejectUnknownFields } from '../../fields.js';
import type { Services } from '../../services.js';
import type { ApiEnv } from '../auth.js';
import { optionalBoolean, pathApp } from '../body.js';
import { readJsonObject } from '../errors.js';

/**
 * /api/v1/apps/:name/ps/stop, /ps/start (hiy ps:stop / ps:start, deploy/stops.ts) and
 * /maintenance (hiy maintenance:on|off, apps/maintenance.ts).
 */
export function appStateRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();

  for (const action of ['stop', 'start'] as const) {
    r.post(`/:name/ps/${action}`, async (c) => {
      const app = await pathApp(s.db, c);
      const body = await readJsonObject(c);
      rejectUnknownFields(body, ['type']);
      const type = body.type;
      if (type !== undefined && (typeof type !== 'string' || !PROCESS_TYPE_RE.test(type))) {
        throw new HiyError('invalid_input', 'type must be a process type such as web or worker (or absent: every type)');
      }
      const res = action === 'stop' ? await s.deployer.stopProcesses(app.name, type) : await s.deployer.startProcesses(app.name, type);
      return c.json(res);
    });
  }

  r.get('/:name/maintenance', async (c) => {
    const app = await pathApp(s.db, c);
    return c.json({ app: app.name, maintenance: app.maintenance === 1 });
  });

  r.put('/:name/maintenance', async (c) => {
    const app = await pathApp(s.db, c);
    const body = await readJsonObject(c);
    rejectUnknownFields(body, ['enabled']);
    const enabled = optionalBoolean(body, 'enabled');
    if (enabled === undefined) throw new HiyError('invalid_input', 'enabled (true or false) is required');
    const row = await setMaintenance(s, app.name, enabled);
    return c.json({ app: row.name, maintenance: row.maintenance === 1 });
  });

  return r;
}
