import { randomBytes } from 'node:crypto';
import type { Hono, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { storedPasswordHash, verifyPassword, PASSWORD_MAX } from '../src/auth/password.js';
import { createSession, endSession, findSession, pruneSessions, sessionActive } from '../src/auth/sessions.js';
import { ErrorPage } from './pages/error.js';
import { LoginPage } from './pages/login.js';
import { csrfToken, csrfValid, originAllowed, safeEqual } from './csrf.js';
import { clientIp, cookieOptions, fromLoopback, isHttps, loginCookieName, readSessionCookie, requestOrigin, safeNext, sessionCookieName } from './request.js';
import { formatWait } from './throttle.js';
import { pageCtx, seeOther, sendPage, type Ui, type UiContext, type UiEnv } from './ui.js';

const LOGIN_FORM_TTL_S = 30 * 60;

/** GET/POST /login and POST /logout. Everything else goes through `requireSession`. */
export function authRoutes(ui: Ui, app: Hono<UiEnv>): void {
  app.get('/login', async (c) => {
    const next = safeNext(c.req.query('next'));
    if (await findSession(ui.s.db, readSessionCookie(c), ui.policy)) return c.redirect(next, 303);
    return showLogin(ui, c, next, undefined, 200);
  });

  app.post('/login', async (c) => {
    if (!sameOrigin(c)) return refuse(ui, c, 'This sign-in did not come from the dashboard’s own page.');
    const form = await c.req.parseBody();
    const next = safeNext(typeof form.next === 'string' ? form.next : undefined);
    const https = isHttps(c);
    const expected = getCookie(c, loginCookieName(https));
    if (!expected || typeof form._login !== 'string' || !safeEqual(expected, form._login)) {
      return showLogin(ui, c, next, 'The sign-in form expired. Please try again.', 400);
    }
    const ip = clientIp(c, ui.s.trustedProxies);
    const refusal = ui.throttle.check(ip);
    if (refusal) {
      ui.s.log.warn({ event: 'auth_throttled', surface: 'dashboard', ip, reason: refusal.reason }, 'hiy dashboard sign-in throttled');
      c.header('retry-after', String(Math.ceil(refusal.waitMs / 1000)));
      return showLogin(ui, c, next, refusal.reason === 'address' ? throttledMessage(refusal.waitMs) : pausedMessage(refusal.waitMs), 429);
    }
    const stored = await storedPasswordHash(ui.s.db);
    if (!stored) return showLogin(ui, c, next, undefined, 409);
    const password = typeof form.password === 'string' ? form.password : '';
    const checked = Buffer.byteLength(password) > PASSWORD_MAX ? { value: false } : await ui.gate.tryRun(() => verifyPassword(password, stored));
    if (!checked) {
      c.header('retry-after', '2');
      return showLogin(ui, c, next, 'The server is busy checking other sign-ins. Try again in a moment.', 503);
    }
    if (!checked.value) {
      const lock = ui.throttle.fail(ip);
      // fail2ban matches this line (the same shape as the API's and git's); keep it stable.
      ui.s.log.warn({ event: 'auth_failed', surface: 'dashboard', ip }, 'hiy auth failure');
      return showLogin(ui, c, next, lock > 0 ? `Wrong password. ${throttledMessage(lock)}` : 'Wrong password.', 401);
    }
    ui.throttle.succeed(ip);
    // A new id at every sign-in; whatever session the browser had is ended (no fixation).
    const old = readSessionCookie(c);
    if (old) await endSession(ui.s.db, old);
    await pruneSessions(ui.s.db, ui.policy);
    const { id } = await createSession(ui.s.db, { ip, userAgent: c.req.header('user-agent') });
    setCookie(c, sessionCookieName(https), id, cookieOptions(https, Math.floor(ui.policy.absoluteMs / 1000)));
    deleteCookie(c, loginCookieName(https), cookieOptions(https));
    ui.s.log.info({ event: 'dashboard_login', ip }, 'dashboard sign-in');
    return seeOther(c, next);
  });

  app.post('/logout', requireSession(ui), async (c) => {
    await endSession(ui.s.db, c.get('sessionId'));
    deleteCookie(c, sessionCookieName(isHttps(c)), cookieOptions(isHttps(c)));
    return seeOther(c, '/login');
  });
}

function pausedMessage(waitMs: number): string {
  return `Sign-in is paused for new addresses for ${formatWait(waitMs)}: there were too many failed sign-ins. `
    + 'Sign in from an address you have used before, or on the box itself (an SSH tunnel to hiy\'s own port; see docs/dashboard.md).';
}

function throttledMessage(waitMs: number): string {
  return `Too many failed sign-ins from your address. Try again in ${formatWait(waitMs)}.`;
}

async function showLogin(ui: Ui, c: UiContext, next: string, error: string | undefined, status: 200 | 400 | 401 | 409 | 429 | 503): Promise<Response> {
  const https = isHttps(c);
  const loginToken = randomBytes(24).toString('base64url');
  setCookie(c, loginCookieName(https), loginToken, cookieOptions(https, LOGIN_FORM_TTL_S));
  const passwordSet = (await storedPasswordHash(ui.s.db)) !== undefined;
  const page = LoginPage({ ctx: pageCtx(ui, c, 'Sign in'), loginToken, next, error, passwordSet, insecure: !https && !fromLoopback(c) });
  c.header('cache-control', 'no-store');
  return c.html(page as unknown as string, status);
}

function sameOrigin(c: UiContext): boolean {
  return originAllowed({ origin: c.req.header('origin'), secFetchSite: c.req.header('sec-fetch-site') }, requestOrigin(c));
}

function refuse(ui: Ui, c: UiContext, message: string): Promise<Response> {
  ui.s.log.warn({ event: 'csrf_refused', surface: 'dashboard', ip: clientIp(c, ui.s.trustedProxies), path: c.req.path }, 'hiy dashboard request refused');
  return sendPage(c, ErrorPage({ ctx: pageCtx(ui, c, 'Refused'), status: 403, message }), 403);
}

/**
 * Pages need a live session: a visitor without one is sent to the sign-in page (and back after).
 * Every POST must also carry the session's CSRF token (form field `_csrf` or header
 * `X-CSRF-Token`, which htmx sends) and come from the dashboard's own origin.
 */
export function requireSession(ui: Ui): MiddlewareHandler<UiEnv> {
  return async (c, next) => {
    const id = readSessionCookie(c);
    const row = id ? await findSession(ui.s.db, id, ui.policy) : undefined;
    if (!row || !id) {
      const target = `/login?next=${encodeURIComponent(c.req.path + (new URL(c.req.url).search || ''))}`;
      if (c.req.header('hx-request')) {
        c.header('hx-redirect', target);
        return c.body(null, 401);
      }
      if ((c.req.header('accept') ?? '').includes('text/event-stream')) return c.body(null, 401);
      return c.redirect(target, 303);
    }
    c.set('sessionId', id);
    c.set('csrf', csrfToken(id));
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      if (!sameOrigin(c)) return refuse(ui, c, 'This request did not come from the dashboard’s own pages.');
      let token = c.req.header('x-csrf-token');
      if (!token) {
        const type = c.req.header('content-type') ?? '';
        if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')) {
          const form = await c.req.parseBody();
          token = typeof form._csrf === 'string' ? form._csrf : undefined;
        }
      }
      if (!csrfValid(id, token)) return refuse(ui, c, 'The form was missing its security token (or it belongs to an ended session). Reload the page and try again.');
    }
    await next();
  };
}

/** For streams opened by this request: whether its session still lives (signed out, password changed, expired: no). */
export function sessionStillValid(ui: Ui, c: UiContext): () => Promise<boolean> {
  const id = c.get('sessionId');
  return () => sessionActive(ui.s.db, id, ui.policy);
}
