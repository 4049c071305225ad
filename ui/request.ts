import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { clientAddress, isLoopback, type TrustedProxies } from '../src/trusted-proxies.js';

/** Address of the TCP peer (the local Caddy, or the browser itself on the direct listener). */
function directPeer(c: Context): string | undefined {
  return (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress;
}

export function fromLoopback(c: Context): boolean {
  return isLoopback(directPeer(c));
}

/**
 * Whether the browser reached the dashboard over HTTPS. hiy itself speaks plain HTTP; HTTPS ends
 * at Caddy, which says so in X-Forwarded-Proto. That header is believed only from loopback.
 */
export function isHttps(c: Context): boolean {
  return fromLoopback(c) && c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https';
}

/** The client's address, for throttling and logs (forwarded headers only through the local proxy). */
export function clientIp(c: Context, trusted: TrustedProxies): string {
  return clientAddress(directPeer(c), (n) => c.req.header(n), trusted) ?? 'unknown';
}

/** scheme://host[:port] as the browser sees the dashboard (what its Origin header must say). */
export function requestOrigin(c: Context): string {
  const host = c.req.header('host') ?? new URL(c.req.url).host;
  return `${isHttps(c) ? 'https' : 'http'}://${host}`;
}

/**
 * `__Host-` makes the browser refuse the cookie unless it is Secure, host-only and Path=/, so a
 * sibling subdomain (an app!) can neither set nor shadow it. It needs HTTPS; over plain HTTP
 * (loopback, or HIY_TLS=off) the cookie has a plain name.
 */
export const sessionCookieName = (https: boolean): string => (https ? '__Host-hiy_session' : 'hiy_session');
export const loginCookieName = (https: boolean): string => (https ? '__Host-hiy_login' : 'hiy_login');
export const flashCookieName = (https: boolean): string => (https ? '__Host-hiy_flash' : 'hiy_flash');

export function readSessionCookie(c: Context): string | undefined {
  return getCookie(c, sessionCookieName(isHttps(c)));
}

/** Cookie attributes shared by every dashboard cookie. */
export function cookieOptions(https: boolean, maxAgeSec?: number) {
  return {
    path: '/',
    httpOnly: true,
    secure: https,
    sameSite: 'Strict' as const,
    ...(maxAgeSec === undefined ? {} : { maxAge: maxAgeSec }),
  };
}

/** A `next` target after login: a path on this site only (no scheme, no //host, no backslash tricks). */
export function safeNext(raw: string | undefined): string {
  if (!raw || !raw.startsWith('/') || raw.startsWith('//') || /[\\\x00-\x1f]/.test(raw) || raw.length > 500) return '/';
  if (raw.startsWith('/login') || raw.startsWith('/logout')) return '/';
  return raw;
}
