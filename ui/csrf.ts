import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * CSRF defence for the dashboard's forms, in two independent layers:
 * - a synchroniser token tied to the session: HMAC-SHA256 keyed with the session id (which only
 *   the browser holds; the database keeps its hash), so it needs no storage and dies with the session;
 * - an Origin check on every POST: the browser's Origin (or, failing that, Sec-Fetch-Site) must
 *   say the request came from the dashboard's own origin.
 * SameSite=Strict on the cookie is a third layer, not relied on alone.
 */
export function csrfToken(sessionId: string): string {
  return createHmac('sha256', sessionId).update('hiy-dashboard-csrf-v1').digest('base64url');
}

export function csrfValid(sessionId: string, presented: string | undefined): boolean {
  if (!presented) return false;
  return safeEqual(csrfToken(sessionId), presented);
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface OriginHeaders {
  origin: string | undefined;
  secFetchSite: string | undefined;
}

/**
 * True when a state-changing request came from `expected` (scheme://host[:port] as the browser
 * sees the dashboard). Browsers send Origin on every POST; a request with neither Origin nor
 * Sec-Fetch-Site is not from a browser form and has the API for that.
 */
export function originAllowed(h: OriginHeaders, expected: string): boolean {
  if (h.origin !== undefined && h.origin !== '') return h.origin.toLowerCase() === expected.toLowerCase();
  return h.secFetchSite === 'same-origin';
}
