import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Child } from 'hono/jsx';
import type { SessionPolicy } from '../src/auth/sessions.js';
import type { Services } from '../src/services.js';
import type { ContainerWatch } from '../src/apps/container-watch.js';
import type { Assets } from './assets.js';
import { cookieOptions, flashCookieName, isHttps } from './request.js';
import type { LiveDeploys, MetricsSource, RuntimeLogSource } from './sources.js';
import type { HashGate, LoginThrottle } from './throttle.js';
import type { Flash, PageCtx } from './pages/types.js';

/** Everything the dashboard's routes share; one per server (no module state). */
export interface Ui {
  s: Services;
  assets: Assets;
  live: LiveDeploys;
  logs: RuntimeLogSource | undefined;
  metrics: MetricsSource;
  containers: ContainerWatch;
  throttle: LoginThrottle;
  gate: HashGate;
  policy: SessionPolicy;
}

/** styleNonce: set by a page whose scripts add <style> elements (the console), allowed by the CSP with it. */
export type UiEnv = { Variables: { sessionId: string; csrf: string; styleNonce?: string } };
export type UiContext = Context<UiEnv>;

export function pageCtx(ui: Ui, c: UiContext, title: string, nav?: PageCtx['nav']): PageCtx {
  const csrf = c.get('csrf') as string | undefined;
  return {
    title,
    ...(csrf ? { csrf } : {}),
    assets: { css: ui.assets.css.url, js: ui.assets.js.url, htmx: ui.assets.htmx.url },
    ...(nav ? { nav } : {}),
    flash: takeFlash(c),
  };
}

/** A one-time message for the next page (post/redirect/get), in a short-lived cookie. */
export function setFlash(c: Context, flash: Flash): void {
  const https = isHttps(c);
  setCookie(c, flashCookieName(https), encodeURIComponent(JSON.stringify(flash)).slice(0, 3000), cookieOptions(https, 60));
}

function takeFlash(c: Context): Flash | undefined {
  const https = isHttps(c);
  const raw = getCookie(c, flashCookieName(https));
  if (!raw) return undefined;
  deleteCookie(c, flashCookieName(https), cookieOptions(https));
  try {
    const f = JSON.parse(decodeURIComponent(raw)) as Partial<Flash>;
    if (typeof f.text !== 'string' || !['ok', 'error', 'warn'].includes(f.kind ?? '')) return undefined;
    // Links in a flash only ever point into the dashboard.
    const href = typeof f.href === 'string' && f.href.startsWith('/') && !f.href.startsWith('//') ? f.href : undefined;
    return { kind: f.kind as Flash['kind'], text: f.text.slice(0, 500), ...(href ? { href, linkText: String(f.linkText ?? 'details').slice(0, 60) } : {}) };
  } catch {
    return undefined;
  }
}

/** Sends a rendered page: HTML, never cached (pages can hold revealed env values). */
export async function sendPage(c: Context, body: Child, status: 200 | 400 | 403 | 404 | 409 | 429 | 500 | 503 = 200): Promise<Response> {
  c.header('cache-control', 'no-store');
  return c.html(body as string, status);
}

/** Redirect after a POST (303: the browser follows with GET). */
export function seeOther(c: Context, location: string): Response {
  return c.redirect(location, 303);
}
