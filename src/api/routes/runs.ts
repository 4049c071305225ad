import { Hono, type Context } from 'hono';
import { tokenActive } from '../../auth/tokens.js';
import type { RunKind } from '../../contract.js';
import { HiyError } from '../../errors.js';
import { rejectUnknownFields } from '../../fields.js';
import { relayRun } from '../../http/run-socket.js';
import { webSocketOf } from '../../http/upgrade.js';
import { getRun, listRuns } from '../../runs/repo.js';
import { typedRun, type Actor } from '../../runs/one-off.js';
import type { Services } from '../../services.js';
import type { ApiEnv } from '../auth.js';
import { pageOf, pageQuery, parseIntParam, pathApp, queryFlag } from '../body.js';
import { readJsonObject } from '../errors.js';

const MAX_TIMEOUT_S = 7 * 86_400;
const KINDS: RunKind[] = ['run', 'console', 'cron'];

/** The audit names a run's starter by their token's name. */
export const tokenActor = (c: Context<ApiEnv>): Actor => ({ by: `token ${c.get('token').name}`, tokenId: c.get('token').id });

function optionalTimeout(raw: unknown): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0 || raw > MAX_TIMEOUT_S) throw new HiyError('invalid_input', `timeout must be a whole number of seconds from 0 (none) to ${MAX_TIMEOUT_S}`);
  return raw;
}

function kindsQuery(raw: string | undefined): RunKind[] {
  if (raw === undefined) return ['run', 'console'];
  const kinds = raw.split(',').filter(Boolean);
  if (!kinds.length || !kinds.every((k): k is RunKind => (KINDS as string[]).includes(k))) throw new HiyError('invalid_input', `kind must be a list of ${KINDS.join(', ')}`);
  return kinds;
}

/**
 * /api/v1/apps/:name/run (the run channel: a WebSocket, see contract.ts RUN_STREAM), /runs
 * (detached runs and the audit of every run and console session), /runs/:id.
 */
export function runRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();

  r.get('/:name/run', async (c) => {
    const accept = webSocketOf(c);
    if (!accept) throw new HiyError('bad_request', 'this is the run channel: a WebSocket upgrade (hiy run uses it), see docs/api.md', { status: 426 });
    const app = await pathApp(s.db, c);
    const tty = queryFlag(c, 'tty') ?? false;
    const size = c.req.query('cols') !== undefined || c.req.query('rows') !== undefined
      ? { cols: parseIntParam('cols', c.req.query('cols'), 1, 1000), rows: parseIntParam('rows', c.req.query('rows'), 1, 1000) } : {};
    const timeout = c.req.query('timeout');
    const req = typedRun({
      app: app.name, kind: 'run', argv: c.req.queries('cmd') ?? [], actor: tokenActor(c),
      ...(c.req.query('type') !== undefined ? { process: c.req.query('type')! } : {}),
      ...(timeout !== undefined ? { timeoutSec: parseIntParam('timeout', timeout, 0, MAX_TIMEOUT_S) } : {}),
    });
    // Answered as HTTP errors before the channel opens: no app, no release, at the cap.
    await s.runs.check(app.name);
    const tokenId = c.get('token').id;
    accept((ws) => relayRun(ws, () => s.runs.attach(req, { tty, ...size }), {
      log: s.log, stillValid: () => tokenActive(s.db, tokenId), revoked: 'the API token was revoked',
    }));
    return c.body(null, 200);
  });

  r.post('/:name/runs', async (c) => {
    const app = await pathApp(s.db, c);
    const body = await readJsonObject(c);
    rejectUnknownFields(body, ['command', 'type', 'timeout']);
    const timeoutSec = optionalTimeout(body.timeout);
    if (body.type !== undefined && typeof body.type !== 'string') throw new HiyError('invalid_input', 'type must be a string');
    const req = typedRun({
      app: app.name, kind: 'run', argv: body.command as string[], actor: tokenActor(c),
      ...(body.type !== undefined ? { process: body.type as string } : {}), ...(timeoutSec !== undefined ? { timeoutSec } : {}),
    });
    const { id } = await s.runs.detached(req);
    return c.json({ run: await getRun(s.db, app.name, id) }, 202);
  });

  r.get('/:name/runs', async (c) => {
    const app = await pathApp(s.db, c);
    const { limit, before } = pageQuery(c, 50, 500);
    const page = pageOf(await listRuns(s.db, app.name, { kinds: kindsQuery(c.req.query('kind')), limit: limit + 1, ...(before === undefined ? {} : { before }) }), limit);
    return c.json({ app: app.name, runs: page.items, next: page.next });
  });

  r.get('/:name/runs/:id', async (c) => {
    const app = await pathApp(s.db, c);
    return c.json({ run: await getRun(s.db, app.name, parseIntParam('run id', c.req.param('id'), 1, 2 ** 31)) });
  });

  return r;
}
