import { Hono } from 'hono';
import { HiyError } from '../../errors.js';
import { getRun, listRunDetails } from '../../runs/repo.js';
import type { Services } from '../../services.js';
import type { ApiEnv } from '../auth.js';
import { parseIntParam, pathApp } from '../body.js';
import { tokenActor } from './runs.js';

const JOB_ID_RE = /^[0-9a-f]{8}$/;

function jobParam(raw: string | undefined): string {
  if (raw === undefined || !JOB_ID_RE.test(raw)) throw new HiyError('invalid_input', 'a cron job id is 8 hex digits (hiy cron <app> lists them)');
  return raw;
}

/** /api/v1/apps/:name/cron (the current release's jobs), /cron/:job/run (now), /cron/runs (their history with output). */
export function cronRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();

  r.get('/:name/cron', async (c) => {
    const app = await pathApp(s.db, c);
    return c.json({ app: app.name, timezone: s.config.runs.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone, jobs: await s.cron.list(app.name) });
  });

  r.post('/:name/cron/:job/run', async (c) => {
    const app = await pathApp(s.db, c);
    const id = await s.cron.runNow(app.name, jobParam(c.req.param('job')), tokenActor(c));
    return c.json({ run: await getRun(s.db, app.name, id) }, 202);
  });

  r.get('/:name/cron/runs', async (c) => {
    const app = await pathApp(s.db, c);
    const job = c.req.query('job');
    const limit = c.req.query('limit') === undefined ? 20 : parseIntParam('limit', c.req.query('limit'), 1, 200);
    return c.json({ app: app.name, runs: await listRunDetails(s.db, app.name, { kinds: ['cron'], ...(job !== undefined ? { job: jobParam(job) } : {}), limit }) });
  });

  return r;
}
