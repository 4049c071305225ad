import { Hono } from 'hono';
import { setDashboardPassword, storedPasswordHash } from '../../auth/password.js';
import type { Services } from '../../services.js';
import type { ApiEnv } from '../auth.js';
import { rejectUnknownFields } from '../../fields.js';
import { readJsonObject } from '../errors.js';

/**
 * /api/v1/dashboard: the dashboard's password. Any API token may set it: a token already has full
 * control of every app, so the password adds no power a token holder lacks. Setting it signs every
 * browser out. The password is never logged (pino redacts `password`, and it is not passed to it).
 */
export function dashboardRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  r.get('/', async (c) => {
    const [hash, sessions] = await Promise.all([
      storedPasswordHash(s.db),
      s.db.selectFrom('dashboard_sessions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return c.json({ dashboard: { url: s.config.publicUrl, password_set: hash !== undefined, sessions: Number(sessions.n) } });
  });
  r.put('/password', async (c) => {
    const body = await readJsonObject(c, 8192);
    rejectUnknownFields(body, ['password']);
    const { sessionsEnded } = await setDashboardPassword(s.db, body.password as string);
    s.log.info({ by: c.get('token').id, sessionsEnded }, 'dashboard password set');
    return c.json({ dashboard: { url: s.config.publicUrl, password_set: true }, sessions_ended: sessionsEnded });
  });
  return r;
}
