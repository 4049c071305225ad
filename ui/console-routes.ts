import { randomBytes } from 'node:crypto';
import type { Hono } from 'hono';
import { sessionActive } from '../src/auth/sessions.js';
import { HiyError } from '../src/errors.js';
import { relayRun } from '../src/http/run-socket.js';
import { webSocketOf } from '../src/http/upgrade.js';
import { currentRelease } from '../src/deploy/releases.js';
import { listRunDetails, listRuns } from '../src/runs/repo.js';
import { typedRun } from '../src/runs/one-off.js';
import { appFromPath, appHead, statusOfApp } from './apps-data.js';
import { csrfValid, originAllowed } from './csrf.js';
import { clientIp, requestOrigin } from './request.js';
import { ConsolePage } from './pages/console.js';
import { CronPage } from './pages/cron.js';
import { pageCtx, seeOther, sendPage, setFlash, type Ui, type UiContext, type UiEnv } from './ui.js';

const DASHBOARD = { by: 'dashboard', tokenId: null } as const;

const size = (raw: string | undefined): number | undefined => (raw && /^\d{1,4}$/.test(raw) && Number(raw) > 0 && Number(raw) <= 1000 ? Number(raw) : undefined);

/**
 * A WebSocket is not held back by the same-origin policy: any page may open one to hiy with the
 * browser's cookies. The browser always sends the opening page's Origin, which must be the
 * dashboard's own, and the page must know the session's CSRF token.
 */
function channelAllowed(ui: Ui, c: UiContext): boolean {
  const origin = c.req.header('origin');
  const ok = origin !== undefined && originAllowed({ origin, secFetchSite: undefined }, requestOrigin(c)) && csrfValid(c.get('sessionId'), c.req.query('csrf'));
  if (!ok) ui.s.log.warn({ event: 'csrf_refused', surface: 'dashboard', ip: clientIp(c, ui.s.trustedProxies), path: c.req.path }, 'hiy dashboard request refused');
  return ok;
}

/** The Console tab (a terminal on the run channel) and the Cron tab (app.json's jobs, run now, recent runs). */
export function consoleRoutes(ui: Ui, app: Hono<UiEnv>): void {
  app.get('/apps/:name/console', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    const [status, release, runs] = await Promise.all([statusOfApp(ui, row), currentRelease(ui.s.db, row.name), listRuns(ui.s.db, row.name, { kinds: ['run', 'console'], limit: 20 })]);
    // xterm.js makes <style> elements: this page's CSP allows them with a fresh nonce (dashboard.ts).
    const nonce = randomBytes(16).toString('base64');
    c.set('styleNonce', nonce);
    const a = ui.assets.console;
    const ctx = { ...pageCtx(ui, c, `${row.name} console`, 'apps'), extra: { styles: [a.xtermCss], scripts: [{ src: a.xtermJs }, { src: a.fitJs }, { src: a.consoleJs, nonce }] } };
    return sendPage(c, ConsolePage({ ctx, app: appHead(ui, row), status, release: release?.version ?? null, runs }));
  });

  app.get('/apps/:name/console/socket', async (c) => {
    const accept = webSocketOf(c);
    if (!accept) return c.text('This is the console\'s WebSocket.\n', 426);
    if (!channelAllowed(ui, c)) return c.text('Refused: not from the dashboard\'s own page.\n', 403);
    const row = await appFromPath(ui, c.req.param('name'));
    const cols = size(c.req.query('cols'));
    const rows = size(c.req.query('rows'));
    const req = typedRun({ app: row.name, kind: 'console', argv: c.req.queries('cmd') ?? ['sh'], actor: DASHBOARD });
    const sessionId = c.get('sessionId');
    accept((ws) => relayRun(ws, () => ui.s.runs.attach(req, { tty: true, ...(cols && rows ? { cols, rows } : {}) }), {
      log: ui.s.log,
      stillValid: () => sessionActive(ui.s.db, sessionId, ui.policy),
      revoked: 'the dashboard session ended (signed out, password changed or expired)',
    }));
    return c.body(null, 200);
  });

  app.get('/apps/:name/cron', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    const [status, jobs, runs] = await Promise.all([statusOfApp(ui, row), ui.s.cron.list(row.name), listRunDetails(ui.s.db, row.name, { kinds: ['cron'], limit: 20 })]);
    const timezone = ui.s.config.runs.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
    return sendPage(c, CronPage({ ctx: pageCtx(ui, c, `${row.name} cron`, 'apps'), app: appHead(ui, row), status, timezone, jobs, runs }));
  });

  app.post('/apps/:name/cron/:job/run', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    const job = c.req.param('job');
    if (!/^[0-9a-f]{8}$/.test(job)) throw new HiyError('invalid_input', 'a cron job id is 8 hex digits');
    const id = await ui.s.cron.runNow(row.name, job, DASHBOARD);
    setFlash(c, { kind: 'ok', text: `Started run #${id} of job ${job}.` });
    return seeOther(c, `/apps/${row.name}/cron`);
  });
}
